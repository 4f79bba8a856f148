"""Lambda handler instrumented by the ADOT Python layer: no OpenTelemetry code here.

Function configuration (see examples/lambda/README.md):
  layers: the ADOT Python layer (aws-otel-python-<arch>-ver-...) and this package in the deployment zip
  AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument
  OPENTELEMETRY_COLLECTOR_CONFIG_URI=/var/task/collector.yaml   (collector/lambda/collector.yaml)
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta
  OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram
  OTEL_METRIC_EXPORT_INTERVAL=60000

After each invocation the layer's wrapper force-flushes the tracer provider (which makes otel-llm's
processor score everything queued) and then the meter provider (which sends the scores to the collector
extension) before Lambda freezes the sandbox.

Locally, against the Bedrock emulator, sending OTLP to a collector on localhost:4318:
  set -a; . examples/zero_code/otel.env; set +a
  opentelemetry-instrument python examples/lambda/handler_adot.py
"""

from __future__ import annotations

import os

import boto3

MODEL_ID = os.environ.get("APP_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")
_client = None


def _bedrock():
    global _client
    if _client is None:  # created once per sandbox; AWS_ENDPOINT_URL_BEDROCK_RUNTIME is honoured by boto3
        _client = boto3.client("bedrock-runtime")
    return _client


def handler(event: dict, context: object) -> dict:
    question = event.get("question", "What is the capital of Australia?")
    messages = [{"role": "user", "content": [{"text": question}]}]
    reply = _bedrock().converse(modelId=MODEL_ID, messages=messages)
    return {"answer": reply["output"]["message"]["content"][0]["text"]}


if __name__ == "__main__":
    from otel_llm.testing import BedrockEmulator

    with BedrockEmulator() as emulator:
        _client = emulator.client()
        print(handler({"question": "How do I reverse a list in Python?"}, None))
