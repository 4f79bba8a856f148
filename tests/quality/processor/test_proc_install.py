"""install(): attaches the processor to a tracer provider once; does nothing without an SDK provider."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider

from otel_llm import _sidechannel as sidechannel
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor, install


def span_processors(provider: TracerProvider) -> tuple:
    return provider._active_span_processor._span_processors


def test_install_attaches_once_per_provider(meter_provider, scorer):
    provider, other = TracerProvider(), TracerProvider()
    first = install(provider, meter_provider=meter_provider, settings=Settings())
    again = install(provider, meter_provider=meter_provider, settings=Settings())
    elsewhere = install(other, meter_provider=meter_provider)
    assert isinstance(first, LLMMetricsSpanProcessor)
    assert again is first
    assert elsewhere is not first
    assert [p for p in span_processors(provider) if isinstance(p, LLMMetricsSpanProcessor)] == [first]
    assert sidechannel.listening()
    provider.shutdown()
    other.shutdown()


def test_install_does_nothing_without_an_sdk_provider(meter_provider):
    assert install(NoOpTracerProvider(), meter_provider=meter_provider) is None
    assert install(ProxyTracerProvider(), meter_provider=meter_provider) is None
