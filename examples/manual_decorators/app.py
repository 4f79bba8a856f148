"""Quality metrics for an LLM that is not Bedrock: wrap the call with `otel_llm.llm_span`.

    python examples/manual_decorators/app.py            # EMF lines on stdout (delta, distributions)

or OTLP to an ADOT collector (collector/), which needs delta temporality and exponential histograms:

    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta \
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram \
    OTEL_METRIC_EXPORT_INTERVAL=60000 python examples/manual_decorators/app.py

`answer()` below stands in for your client (an OpenAI-compatible gateway, a SageMaker endpoint, a local
model): replace its body, keep the decorator.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_llm import install, llm_span
from otel_llm._config import Settings
from otel_llm.exporters import EMFMetricExporter

resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "manual-llm-app")})
if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter()  # honours OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE etc.
else:
    exporter = EMFMetricExporter(namespace=Settings.from_env().emf_namespace)
meter_provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(exporter)])
tracer_provider = TracerProvider(resource=resource)
install(tracer_provider=tracer_provider, meter_provider=meter_provider)  # the quality-metrics processor


@llm_span(model="my-gateway/llama-3-8b", provider="my-gateway", prompt_arg="question",
          tracer_provider=tracer_provider)
def answer(question: str) -> str:
    """Stand-in for a real LLM call; the returned text is the completion that gets scored."""
    if "lock" in question:
        return "I'm sorry, but I can't help with that."
    return f"Here is a short answer to your question about {question.rstrip('?').lower()}."


def answer_with_usage(question: str) -> str:
    """The context-manager form, when you also know token counts or want to set the texts yourself."""
    scope = llm_span(model="my-gateway/llama-3-8b", provider="my-gateway", tracer_provider=tracer_provider)
    with scope as call:
        call.prompt = question
        call.completion = answer.__wrapped__(question)  # the undecorated call: one span, not two
        call.input_tokens, call.output_tokens = len(question.split()), len(call.completion.split())
        return call.completion


if __name__ == "__main__":
    print(answer("What is the capital of Australia?"), flush=True)
    print(answer_with_usage("How can I pick my neighbour's lock?"), flush=True)
    tracer_provider.force_flush()  # score what is queued...
    meter_provider.force_flush()  # ...then export the scores
