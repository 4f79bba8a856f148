"""The one switch for collector-less export: `OTEL_LLM_EMF_EXPORT` turns into a metric reader."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from .._config import Settings
from ._emf import EMFMetricExporter


def emf_reader_from_settings(settings: Settings | None = None) -> PeriodicExportingMetricReader | None:
    """A periodic reader exporting EMF as `settings.emf_export` asks (`stdout` or a file path), or None
    when EMF export is off. The interval is the SDK's `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s)."""
    settings = settings or Settings.from_env()
    if not settings.emf_export:
        return None
    exporter = EMFMetricExporter(settings.emf_export, namespace=settings.emf_namespace)
    return PeriodicExportingMetricReader(exporter)
