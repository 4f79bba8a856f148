"""The ADOT collector configs: they parse, use only components their build contains, and select exactly
the instruments our code emits, with the dimensions and units of otel_llm.exporters._cloudwatch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from otel_llm._quality.evaluators.registry import ALL_INSTRUMENTS
from otel_llm.exporters._cloudwatch import DEFAULT_NAMESPACE, DIMENSION_SETS, cloudwatch_unit

REPO = Path(__file__).resolve().parents[2]

COLLECTOR = REPO / "collector"

# Component types of each build, as verified in the builds' sources (see collector/README.md):
# aws-observability/aws-otel-lambda adot/collector/lambdacomponents/default.go, and
# aws-observability/aws-otel-collector pkg/defaultcomponents/defaults.go.
LAMBDA_BUILD = {
    "receivers": {"otlp"},
    "processors": set(),
    "exporters": {"awsemf", "awsxray", "prometheusremotewrite", "logging", "debug", "otlp", "otlphttp"},
    "extensions": {"sigv4auth"},
    "connectors": set(),
}
ADOT_BUILD = {
    "receivers": {"awsecscontainermetrics", "awscontainerinsightreceiver", "awsxray", "statsd", "prometheus",
                  "kafka", "jaeger", "zipkin", "otlp"},
    "processors": {"groupbytrace", "tail_sampling", "attributes", "resource", "probabilistic_sampler", "span",
                   "filter", "metricstransform", "resourcedetection", "experimental_metricsgeneration",
                   "cumulativetodelta", "deltatorate", "batch", "memory_limiter", "k8sattributes"},
    "exporters": {"awsemf", "prometheusremotewrite", "prometheus", "file", "kafka", "dynatrace", "sapm",
                  "signalfx", "datadog", "logzio", "logging", "debug", "otlp", "otlphttp", "awsxray",
                  "loadbalancing"},
    "extensions": {"awsproxy", "ecs_observer", "health_check", "pprof", "sigv4auth", "zpages",
                   "memory_ballast"},
    "connectors": set(),
}
# awsemf's configuration keys (exporter/awsemfexporter/config.schema.yaml, plus its AWS session settings).
AWSEMF_KEYS = {
    "detailed_metrics", "dimension_rollup_option", "eks_fargate_container_insights_enabled", "log_group_name",
    "log_retention", "log_stream_name", "metric_declarations", "metric_descriptors", "namespace",
    "output_destination", "parse_json_encoded_attr_values", "resource_to_telemetry_conversion",
    "retain_initial_value_of_delta_metric", "tags", "version",
    "region", "endpoint", "role_arn", "max_retries", "no_verify_ssl", "proxy_address",
    "request_timeout_seconds", "num_workers", "local_mode", "resource_arn", "certificate_file_path",
}
CONFIGS = {
    "lambda/collector.yaml": LAMBDA_BUILD,
    "lambda/collector-stdout.yaml": LAMBDA_BUILD,
    "ecs/collector.yaml": ADOT_BUILD,
    "ec2/collector.yaml": ADOT_BUILD,
}


def _load(relative: str) -> dict:
    return yaml.safe_load((COLLECTOR / relative).read_text())


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


@pytest.mark.parametrize("relative", sorted(CONFIGS))
def test_config_uses_only_components_of_its_build(relative):
    config, build = _load(relative), CONFIGS[relative]
    for section, allowed in build.items():
        defined = set(config.get(section) or {})
        assert {_type(c) for c in defined} <= allowed, (section, defined - allowed)
    service = config["service"]
    assert set(service.get("extensions", [])) <= set(config.get("extensions") or {})
    assert {"traces", "metrics"} <= set(service["pipelines"])
    for pipeline in service["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(section, [])) <= set(config.get(section) or {}), (section, pipeline)
    assert "awsemf" in service["pipelines"]["metrics"]["exporters"]
    if build is ADOT_BUILD:
        assert service["pipelines"]["metrics"]["processors"][-1] == "batch"


@pytest.mark.parametrize("relative", sorted(CONFIGS))
def test_awsemf_selects_exactly_our_instruments_with_our_dimensions_and_units(relative):
    emf = _load(relative)["exporters"]["awsemf"]
    assert set(emf) <= AWSEMF_KEYS, set(emf) - AWSEMF_KEYS
    assert emf["namespace"] == DEFAULT_NAMESPACE and emf["version"] == "1"
    assert emf["dimension_rollup_option"] == "NoDimensionRollup"
    assert emf["resource_to_telemetry_conversion"] == {"enabled": True}
    ours = {inst.name for inst in ALL_INSTRUMENTS}
    selected: dict[str, list[list[str]]] = {}
    for declaration in emf["metric_declarations"]:
        for selector in declaration["metric_name_selectors"]:
            matched = [name for name in ours if re.search(selector, name)]
            assert len(matched) == 1, (selector, matched)  # each selector names one instrument, exactly
            assert matched[0] not in selected, f"{matched[0]} declared twice"
            selected[matched[0]] = declaration["dimensions"]
    assert set(selected) == ours
    for name, dims in selected.items():
        assert dims == [list(d) for d in DIMENSION_SETS[name]], name
    descriptors = {d["metric_name"]: d["unit"] for d in emf["metric_descriptors"]}
    assert descriptors == {inst.name: cloudwatch_unit(inst.unit) for inst in ALL_INSTRUMENTS}
    assert all(d["overwrite"] is True for d in emf["metric_descriptors"])


def test_lambda_configs_have_no_processors_and_one_writes_stdout():
    for relative in ("lambda/collector.yaml", "lambda/collector-stdout.yaml"):
        config = _load(relative)
        assert not config.get("processors")
        assert all("processors" not in p for p in config["service"]["pipelines"].values())
        receivers = config["receivers"]["otlp"]["protocols"]
        endpoints = (receivers["grpc"]["endpoint"], receivers["http"]["endpoint"])
        assert endpoints == ("localhost:4317", "localhost:4318")
    assert _load("lambda/collector-stdout.yaml")["exporters"]["awsemf"]["output_destination"] == "stdout"
    assert "output_destination" not in _load("lambda/collector.yaml")["exporters"]["awsemf"]


def test_ecs_task_definition_runs_the_pinned_sidecar_with_config_from_ssm():
    task = json.loads((COLLECTOR / "ecs/task-definition.json").read_text())
    containers = {c["name"]: c for c in task["containerDefinitions"]}
    sidecar, app = containers["aws-otel-collector"], containers["app"]
    pinned = r"public\.ecr\.aws/aws-observability/aws-otel-collector:v\d+\.\d+\.\d+"
    assert re.fullmatch(pinned, sidecar["image"])
    (secret,) = sidecar["secrets"]
    assert secret["name"] == "AOT_CONFIG_CONTENT" and ":parameter/otel-llm/adot-config" in secret["valueFrom"]
    env = {e["name"]: e["value"] for e in app["environment"]}
    assert env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    aggregation = env["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"]
    assert aggregation == "base2_exponential_bucket_histogram"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"
    assert {"containerName": "aws-otel-collector", "condition": "HEALTHY"} in app["dependsOn"]
    execution = json.loads((COLLECTOR / "ecs/execution-role-policy.json").read_text())
    (read_config,) = execution["Statement"]
    assert read_config["Action"] == ["ssm:GetParameters"]
    assert read_config["Resource"].endswith("/otel-llm/adot-config")


def test_task_role_lets_awsemf_write_to_the_configured_log_group():
    log_group = _load("ecs/collector.yaml")["exporters"]["awsemf"]["log_group_name"]
    policy = json.loads((COLLECTOR / "ecs/task-role-policy.json").read_text())
    allowed = {(action, resource) for s in policy["Statement"] if s["Effect"] == "Allow"
               for action in s["Action"] for resource in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                          else s["Resource"])}
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"):
        assert any(a == action and (r == "*" or log_group in r) for a, r in allowed), action
    assert any(a == "xray:PutTraceSegments" for a, _ in allowed)
