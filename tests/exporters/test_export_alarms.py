"""The CloudFormation alarms and dashboard: cfn-lint clean, and every metric and dimension set they use is
one our code emits (so a rename on either side fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cfnlint.api import lint_file

from otel_llm import _instruments as names
from otel_llm._quality.evaluators.registry import ALL_INSTRUMENTS
from otel_llm.exporters._cloudwatch import DEFAULT_NAMESPACE, DIMENSION_SETS

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "collector" / "cloudwatch-alarms.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as {"Fn::X": value}."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value = (loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
             else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
             else loader.construct_mapping(node))
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass


def _alarms(template):
    resources = template["Resources"].items()
    return {k: r["Properties"] for k, r in resources if r["Type"] == "AWS::CloudWatch::Alarm"}


def _metric_uses(template):
    """(metric name, dimension names) of every metric the alarms read."""
    for props in _alarms(template).values():
        if "MetricName" in props:
            yield props["MetricName"], tuple(d["Name"] for d in props["Dimensions"])
        for metric in props.get("Metrics", []):
            if "MetricStat" in metric:
                stat = metric["MetricStat"]["Metric"]
                yield stat["MetricName"], tuple(d["Name"] for d in stat["Dimensions"])


def test_cfn_lint_passes():
    matches = lint_file(TEMPLATE)
    assert matches == [], "\n".join(str(m) for m in matches)


def test_cfn_lint_catches_a_broken_alarm(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("TreatMissingData: ignore", "TreatMissingData: sometimes"))
    assert lint_file(broken)


def test_alarms_read_only_metrics_and_dimension_sets_we_emit(template):
    ours = {inst.name for inst in ALL_INSTRUMENTS}
    uses = list(_metric_uses(template))
    assert {name for name, _ in uses} >= {names.TOXICITY, names.SIMILARITY, names.REFUSALS, names.RECORDS,
                                          names.SDK_ERRORS, names.OPERATION_DURATION}
    for name, dims in uses:
        assert name in ours, name
        assert dims in DIMENSION_SETS[name], (name, dims)
    assert template["Parameters"]["Namespace"]["Default"] == DEFAULT_NAMESPACE


def test_every_alarm_chooses_missing_data_and_notifies(template):
    alarms = _alarms(template)
    assert len(alarms) >= 10
    for name, props in alarms.items():
        assert props["TreatMissingData"] in {"notBreaching", "breaching", "ignore", "missing"}, name
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    subscription = template["Resources"]["AlarmEmailSubscription"]["Properties"]
    assert subscription["Protocol"] == "email" and subscription["Endpoint"] == {"Ref": "AlarmEmail"}


def test_percentile_alarms_and_the_refusal_ratio_are_what_they_claim(template):
    alarms = _alarms(template)
    assert alarms["ToxicityP90Alarm"]["ExtendedStatistic"] == "p90"
    assert alarms["ToxicityP99ModelAlarm"]["ExtendedStatistic"] == "p99"
    assert alarms["SimilarityLowAlarm"]["ExtendedStatistic"] == "p10"
    assert alarms["SimilarityLowAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    ratio = {m["Id"]: m for m in alarms["RefusalRatioAlarm"]["Metrics"]}
    assert ratio["ratio"]["Expression"] == "FILL(refusals, 0) / scored"
    anomaly = alarms["RefusalRatioAnomalyAlarm"]
    band = {m["Id"]: m for m in anomaly["Metrics"]}[anomaly["ThresholdMetricId"]]
    assert band["Expression"]["Fn::Sub"].startswith("ANOMALY_DETECTION_BAND(ratio,")
    query = alarms["CallErrorsAlarm"]["Metrics"][0]["Expression"]["Fn::Sub"]
    assert f'COUNT("{names.OPERATION_DURATION}")' in query and '"error.type"' in query


def test_dashboard_has_one_row_per_metric(template):
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    values = {"Namespace": "OtelLLM", "ServiceName": "svc", "AWS::Region": "us-east-1",
              "AnomalyBandWidth": "2"}
    dashboard = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], body))
    widgets = dashboard["widgets"]
    assert [w["y"] for w in widgets] == [6 * i for i in range(len(widgets))]
    assert all(w["x"] == 0 and w["width"] == 24 for w in widgets)
    shown = [{row[1] for row in w["properties"]["metrics"] if isinstance(row[0], str)} for w in widgets]
    assert set().union(*shown) == {inst.name for inst in ALL_INSTRUMENTS}
    for metrics in (w["properties"]["metrics"] for w in widgets):
        for row in metrics:
            if isinstance(row[0], str):
                dims = tuple(row[2:-1:2])
                assert dims in DIMENSION_SETS[row[1]], row
