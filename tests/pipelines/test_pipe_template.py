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
                        for name in ("s3_handler", "s3_handler", "kinesis_handler", "logs_handler")]
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


def test_backfills_run_through_s3_batch_operations_on_the_same_handler():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node))})
    resources = yaml.load(TEMPLATE.read_text(), Loader=Loader)["Resources"]  # a SafeLoader subclass
    backfill = resources["BackfillScorer"]["Properties"]
    assert backfill["Handler"] == resources["LogScorer"]["Properties"]["Handler"]
    assert backfill["ReservedConcurrentExecutions"] == {"Ref": "BackfillConcurrency"}
    role = resources["BatchOperationsRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    invoke = statements["InvokeTheBackfillScorer"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == {"GetAtt": "BackfillScorer.Arn"}
