"""The CloudWatch Logs subscription handler: the Bedrock invocation log group's events delivered to Lambda."""

from __future__ import annotations

import base64
import json

import pytest

from otel_llm import _instruments as names
from otel_llm.pipelines.handlers import Pipeline, ScoringFailed


@pytest.fixture()
def pipeline(meter_provider, lexical_settings, lexical_scorer):
    return Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer)


def subscription_event(data: bytes) -> dict:
    return {"awslogs": {"data": base64.b64encode(data).decode()}}


def test_log_events_are_scored_and_a_broken_one_reported(pipeline, records, reader, tools):
    data = tools.logs_subscription(json.dumps(records["converse"]), json.dumps(records["claude_stream"]),
                                   '{"schemaType": "ModelInvocationLog", "mod', json.dumps(records["error"]))

    summary = pipeline.logs_handler(subscription_event(data), None)

    assert (summary["scored"], summary["skipped"], summary["problem_count"]) == (2, {"error": 1}, 1)
    assert summary["problems"][0].startswith("cloudwatch logs log event 3: log event is not JSON")
    assert tools.histogram_counts(reader, names.SENTIMENT) == {tools.nova: 1, tools.claude: 1}


def test_an_unreadable_subscription_is_reported_and_nothing_scored(pipeline, reader, tools):
    summary = pipeline.logs_handler(subscription_event(b"\x1f\x8b\x08 cut short"), None)
    assert summary["scored"] == 0 and "unreadable" in summary["problems"][0]
    assert tools.histogram_counts(reader, names.SENTIMENT) == {}


def test_a_scoring_outage_raises_so_lambda_retries(meter_provider, records, reader, unreachable_aws_settings,
                                                    tools):
    pipeline = Pipeline(unreachable_aws_settings, meter_provider=meter_provider)
    with pytest.raises(ScoringFailed, match="1 of 1 calls got no score"):
        pipeline.logs_handler(subscription_event(tools.logs_subscription(json.dumps(records["titan"]))), None)
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"failed": 1}
