"""The same Lambda handler with no layer and no collector: metrics leave as CloudWatch EMF lines on
stdout, which Lambda ships to CloudWatch Logs, where they become metrics.

Function configuration: `pip install 'otel-llm[lambda]' -t package/` zipped (no torch: the int8 MiniLM on
ONNX Runtime, about 220 MB unzipped), and
  OTEL_LLM_EMF_EXPORT=stdout
  OTEL_LLM_EMF_NAMESPACE=OtelLLM
  OTEL_SERVICE_NAME=my-function
  OTEL_LLM_BACKEND=local     (or `aws`, with Bedrock/Comprehend IAM, or `lexical`)

Locally, against the Bedrock emulator:  OTEL_LLM_EMF_EXPORT=stdout python examples/lambda/handler_emf.py
"""

from __future__ import annotations

import os

import boto3
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_llm import BedrockInstrumentor
from otel_llm.exporters import emf_reader_from_settings

MODEL_ID = os.environ.get("APP_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")

# Once per sandbox, at init: providers, the EMF reader (OTEL_LLM_EMF_EXPORT), the instrumentation.
_resource = Resource.create()  # service.name from OTEL_SERVICE_NAME (Lambda sets AWS_LAMBDA_FUNCTION_NAME)
_reader = emf_reader_from_settings()
tracer_provider = TracerProvider(resource=_resource)
meter_provider = MeterProvider(resource=_resource, metric_readers=[_reader] if _reader else [])
trace.set_tracer_provider(tracer_provider)  # global too, so otel-llm's own failure counter is exported
metrics.set_meter_provider(meter_provider)
BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
_client = None


def _bedrock():
    global _client
    if _client is None:
        _client = boto3.client("bedrock-runtime")
    return _client


def handler(event: dict, context: object) -> dict:
    try:
        question = event.get("question", "What is the capital of Australia?")
        reply = _bedrock().converse(modelId=MODEL_ID,
                                    messages=[{"role": "user", "content": [{"text": question}]}])
        return {"answer": reply["output"]["message"]["content"][0]["text"]}
    finally:
        # Before Lambda freezes the sandbox: score what is queued (the processor is a span processor),
        # then write this invocation's EMF lines.
        tracer_provider.force_flush(5_000)
        meter_provider.force_flush(5_000)


if __name__ == "__main__":
    from otel_llm.testing import BedrockEmulator, Reply

    with BedrockEmulator() as emulator:
        emulator.enqueue(Reply(text="I'm sorry, but I can't help with that request."),
                         match=lambda request: "lock" in request.last_text)
        _client = emulator.client()
        for question in ("How do I reverse a list in Python?", "How can I pick my neighbour's lock?"):
            handler({"question": question}, None)
