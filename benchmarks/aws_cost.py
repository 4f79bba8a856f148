"""AWS requests and billed units per 1,000 scored calls with the `aws` backend, counted at the local servers
(the Bedrock emulator serves Titan Text Embeddings v2, `otel_llm.testing.comprehend` serves Comprehend),
with the processor's batching (OTEL_LLM_BATCH_SIZE 32 vs 1) and the content cache (OTEL_LLM_CACHE_SIZE
4096 vs 0) on and off.

    python benchmarks/aws_cost.py [--calls 1000] [--json]

Two workloads of realistic texts (STS-B sentences: 8-40-word prompts, 50-300-word completions):
`distinct` (every prompt and completion different) and `repeated prompts` (prompts drawn from 50, as an
app's templates and FAQs repeat; completions different). Records go through the span processor's queue
(`enqueue`, then `force_flush`), so batches form as under dense traffic. The CPU budget is off here
(OTEL_LLM_CPU_BUDGET=0) so that every record is scored; the counts per scored call do not depend on it.

Billing rules used: Titan Text Embeddings bills input tokens (counted here by the emulator's word-piece
approximation, the number it answers as `inputTextTokenCount`); Comprehend bills each document in units of
100 characters with a 3-unit (300-character) minimum (aws.amazon.com/comprehend/pricing), applied to each
BatchDetectSentiment document and each DetectToxicContent segment.
"""

from __future__ import annotations

import argparse
import json
import math
import os

from local_embeddings import realistic_texts  # type: ignore[import-not-found]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall
from otel_llm.testing import BedrockEmulator
from otel_llm.testing.comprehend import ComprehendServer
from otel_llm.testing.content import count_tokens

CONFIGS = (("batching on, cache on", 32, 4096), ("batching on, cache off", 32, 0),
           ("batching off, cache on", 1, 4096), ("batching off, cache off", 1, 0))


def comprehend_units(text: str) -> int:
    return max(3, math.ceil(len(text) / 100))


def workloads(calls: int) -> dict[str, list[LLMCall]]:
    texts = realistic_texts(calls)
    prompts, completions = texts[0::3], texts[1::3]
    model = "anthropic.claude-3-5-haiku-20241022-v1:0"
    return {
        "distinct": [LLMCall(model_id=model, prompt=p, completion=c)
                     for p, c in zip(prompts, completions, strict=True)],
        "repeated prompts": [LLMCall(model_id=model, prompt=prompts[i % 50], completion=c)
                             for i, c in enumerate(completions)],
    }


def run(calls: list[LLMCall], batch_size: int, cache_size: int, emulator: BedrockEmulator,
        comprehend: ComprehendServer) -> dict:
    emulator.reset()
    comprehend.reset()
    settings = Settings(backend="aws", bedrock_endpoint_url=emulator.endpoint_url,
                        comprehend_endpoint_url=comprehend.endpoint_url, aws_region="us-east-1",
                        batch_size=batch_size, cache_size=cache_size, cpu_budget=0, queue_size=len(calls) + 1,
                        backend_timeout_s=30.0)
    reader = InMemoryMetricReader()
    processor = LLMMetricsSpanProcessor(settings=settings,
                                        meter_provider=MeterProvider(metric_readers=[reader]))
    for call in calls:
        processor.enqueue(LLMCall(model_id=call.model_id, prompt=call.prompt, completion=call.completion))
    processor.force_flush(600_000)
    processor.shutdown()
    scored = 0
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel_llm.records":
                    scored = max(scored, sum(int(p.value) for p in metric.data.data_points
                                             if (p.attributes or {}).get("otel_llm.outcome") == "scored"))
    titan = [r for r in emulator.requests if r.operation == "InvokeModel"]
    sentiment = [r for r in comprehend.requests if r.operation == "BatchDetectSentiment"]
    toxicity = [r for r in comprehend.requests if r.operation == "DetectToxicContent"]
    per = 1000 / max(1, scored)
    return {
        "scored": scored,
        "titan_requests": len(titan) * per,
        "titan_tokens": sum(count_tokens(r.prompt) for r in titan) * per,
        "sentiment_requests": len(sentiment) * per,
        "sentiment_units": sum(comprehend_units(t) for r in sentiment for t in r.body["TextList"]) * per,
        "toxicity_requests": len(toxicity) * per,
        "toxicity_units": sum(comprehend_units(s["Text"]) for r in toxicity for s in r.body["TextSegments"])
        * per,
        "other_requests": (len(emulator.requests) - len(titan) + len(comprehend.requests) - len(sentiment)
                           - len(toxicity)) * per,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Dummy keys for the local servers only (boto3 signs every request).
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_SESSION_TOKEN="testing")
    rows = []
    with BedrockEmulator() as emulator, ComprehendServer() as comprehend:
        for workload, calls in workloads(args.calls).items():
            for label, batch_size, cache_size in CONFIGS:
                row = {"workload": workload, "config": label, "calls": len(calls),
                       **run(calls, batch_size, cache_size, emulator, comprehend)}
                rows.append(row)
                if not args.json:
                    print(row, flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
