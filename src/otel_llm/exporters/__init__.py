"""Exporters: CloudWatch Embedded Metric Format with no collector (`EMFMetricExporter`), and the table of
what CloudWatch sees of our instruments (namespace, dimension sets, units)."""

from __future__ import annotations

from ._cloudwatch import DEFAULT_NAMESPACE, DIMENSION_SETS, cloudwatch_unit
from ._emf import EMFMetricExporter
from ._reader import emf_reader_from_settings

__all__ = ["DEFAULT_NAMESPACE", "DIMENSION_SETS", "EMFMetricExporter", "cloudwatch_unit",
           "emf_reader_from_settings"]
