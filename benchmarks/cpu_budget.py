"""The scoring worker against its CPU budget, with the real local backend: calls arrive faster than it can
score them; prints the worker's CPU share and how many records were scored and sampled out.

    .venv/bin/python benchmarks/cpu_budget.py [--budget 0.25] [--seconds 20] [--rate 50]
"""

from __future__ import annotations

import argparse
import resource
import time

from local_embeddings import realistic_texts  # type: ignore[import-not-found]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=0.25)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second offered")
    args = parser.parse_args()
    reader = InMemoryMetricReader()
    settings = Settings.from_env(backend="local", cpu_budget=args.budget)
    meter_provider = MeterProvider(metric_readers=[reader])
    processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider)
    texts = realistic_texts(int(args.seconds * args.rate) + 1)
    processor.enqueue(LLMCall(model_id="m", prompt="warm up", completion="the model loads here"))
    processor.force_flush(60_000)
    start, start_cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    n = 0
    while time.monotonic() - start < args.seconds:
        processor.enqueue(LLMCall(model_id="m", prompt=texts[3 * n % len(texts)],
                                  completion=texts[(3 * n + 1) % len(texts)]))
        n += 1
        time.sleep(max(0.0, start + n / args.rate - time.monotonic()))
    processor.force_flush(60_000)
    wall = time.monotonic() - start
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_cpu
    counts: dict[str, int] = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel_llm.records":
                    for p in metric.data.data_points:
                        attrs = p.attributes or {}
                        key = f"{attrs.get('otel_llm.outcome')}/{attrs.get('otel_llm.reason', '-')}"
                        counts[key] = counts.get(key, 0) + int(p.value)
    print(f"budget {args.budget} of a core, {n} calls offered in {wall:.1f} s: process user CPU "
          f"{cpu / wall:.3f} of a core; records {counts} (includes the warm-up record)")
    processor.shutdown()


if __name__ == "__main__":
    main()
