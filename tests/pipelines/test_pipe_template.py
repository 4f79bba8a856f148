"""The Lambda deployment template of the pipeline: cfn-lint clean, and what it names exists in our code
(handlers, settings, namespace), so a rename on either side fails here."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

from cfnlint.api import lint_file

import otel_llm.pipelines
from otel_llm._config import Settings
from otel_llm.exporters._cloudwatch import DEFAULT_NAMESPACE

TEMPLATE = Path(otel_llm.pipelines.__file__).parent / "lambda-pipeline.yaml"


def test_cfn_lint_passes():
    matches = lint_file(TEMPLATE)
    assert matches == [], "\n".join(str(m) for m in matches)


def test_handlers_and_settings_it_names_exist():
    text = TEMPLATE.read_text()
    handlers = re.findall(r"Handler: (\S+)", text)
    assert handlers == [f"otel_llm.pipelines.handlers.{name}"
                        for name in ("s3_handler", "kinesis_handler", "logs_handler")]
    for path in handlers:
        module, _, name = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
    ours = {f.metadata["env"] for f in dataclasses.fields(Settings)}
    used = set(re.findall(r"^\s+(OTEL_LLM_\w+):", text, flags=re.MULTILINE))
    assert used and used <= ours, used - ours
    assert re.search(r"MetricNamespace:\n(?:.*\n)*?\s+Default: (\S+)", text).group(1) == DEFAULT_NAMESPACE


def test_kinesis_mapping_reports_item_failures_and_cannot_block_the_shard():
    text = TEMPLATE.read_text()
    assert "FunctionResponseTypes: [ReportBatchItemFailures]" in text
    assert re.search(r"MaximumRetryAttempts: \d+\n\s+BisectBatchOnFunctionError: true", text)
