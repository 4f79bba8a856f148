"""The Kinesis Lambda handler against moto in server mode: records put with `put_record`, read back with
`get_shard_iterator` / `get_records` into a real-shaped Lambda Kinesis event."""

from __future__ import annotations

import gzip
import json

import pytest

from otel_llm import _instruments as names
from otel_llm.pipelines._invocation_log import InvalidRecord
from otel_llm.pipelines._kinesis import call_from_pair, read_kinesis_event
from otel_llm.pipelines.handlers import Pipeline


def pair(completion: str, model: str = "anthropic.claude-3-haiku-20240307-v1:0", **more) -> bytes:
    return json.dumps({"model_id": model, "prompt": "How do I reset my password?", "completion": completion,
                       **more}).encode()


class FailingScorer:
    """The real scorer, except that a batch holding a completion with `marker` fails (as a throttled
    backend would); passed in through the public `scorer=` argument."""

    def __init__(self, scorer, marker: str) -> None:
        self.scorer, self.marker = scorer, marker

    def score_many(self, calls):
        if any(self.marker in call.completion for call in calls):
            raise TimeoutError("backend timed out")
        return self.scorer.score_many(calls)


def test_pairs_log_records_and_log_subscriptions_are_scored(kinesis, records, meter_provider, reader,
                                                            lexical_settings, lexical_scorer, tools):
    payloads = [
        pair("Go to Settings, then Security, and choose Reset password."),
        json.dumps(records["converse"]).encode(),
        tools.logs_subscription(json.dumps(records["titan"]), json.dumps(records["error"])),
        gzip.compress(json.dumps([json.loads(pair("Happy to help!")), json.loads(pair("Sure."))]).encode()),
    ]
    event, _ = tools.kinesis_event(kinesis, payloads)
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer)

    assert pipeline.kinesis_handler(event, None) == {"batchItemFailures": []}
    assert tools.histogram_counts(reader, names.TOXICITY) == {tools.claude: 3, tools.nova: 1, tools.titan: 1}


def test_unparseable_records_are_reported_and_skipped_not_retried(
        kinesis, meter_provider, reader, lexical_settings, lexical_scorer, tools, caplog):
    payloads = [b"\x00\x01 not json", pair("Fine."), json.dumps({"model_id": "m", "completion": 42}).encode(),
                json.dumps({"hello": "world"}).encode(), gzip.compress(b"{}")[:-5]]
    event, sequences = tools.kinesis_event(kinesis, payloads)
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer)

    assert pipeline.kinesis_handler(event, None) == {"batchItemFailures": []}
    assert tools.histogram_counts(reader, names.TOXICITY) == {tools.claude: 1}
    for seq in (sequences[0], sequences[2], sequences[3], sequences[4]):
        assert seq in caplog.text
    assert "completion must be a string" in caplog.text
    assert "neither a prompt/completion pair" in caplog.text


def test_records_that_fail_to_score_are_retried_from_the_first_failure(
        kinesis, meter_provider, reader, lexical_settings, lexical_scorer, tools):
    payloads = [pair("First answer."), pair("Second answer."), pair("FAIL-SCORING third"), pair("Fourth.")]
    event, sequences = tools.kinesis_event(kinesis, payloads)
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider,
                        scorer=FailingScorer(lexical_scorer, "FAIL-SCORING"))

    result = pipeline.kinesis_handler(event, None)

    # Lambda resumes from the lowest failed sequence number, so the fourth record comes back too: it is
    # reported and not recorded now, or its scores would be counted twice.
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequences[2:]]}
    assert tools.histogram_counts(reader, names.TOXICITY) == {tools.claude: 2}
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"scored": 2, "failed": 1}


def test_pair_validation_says_what_is_wrong():
    with pytest.raises(InvalidRecord, match="model_id"):
        call_from_pair({"prompt": "p", "completion": "c"})
    with pytest.raises(InvalidRecord, match=r"usage\.output_tokens"):
        call_from_pair({"model_id": "m", "completion": "c", "usage": {"output_tokens": -1}})
    call = call_from_pair({"model_id": "meta.llama3-8b-instruct-v1:0", "prompt": "p", "completion": "c",
                           "system": "s", "usage": {"input_tokens": 3, "output_tokens": 1}})
    assert (call.prompt, call.system, call.input_tokens, call.family) == ("s\np", "s", 3, "llama")


def test_bad_base64_is_a_problem_of_its_record():
    event = {"Records": [{"kinesis": {"sequenceNumber": "1", "data": "***"}, "eventID": "shard-0:1"}]}
    [item] = read_kinesis_event(event)
    assert item.read.calls == [] and "kinesis shard-0:1" in str(item.read.problems[0])


def test_a_scoring_backend_outage_fails_the_batch_for_retry(kinesis, meter_provider, reader, tools,
                                                            unreachable_aws_settings):
    """Every backend score is missing, so Lambda is asked to retry every record rather than lose them."""
    event, sequences = tools.kinesis_event(kinesis, [pair("First answer."), pair("Second answer.")])

    result = Pipeline(unreachable_aws_settings, meter_provider=meter_provider).kinesis_handler(event, None)

    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequences]}
    assert tools.histogram_counts(reader, names.TOXICITY) == {}
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"failed": 1}


def test_an_outage_is_retried_even_when_an_evaluator_is_sampled(kinesis, meter_provider, reader,
                                                                unreachable_aws_settings, tools):
    """The evaluators that ran all failed: that is an outage whatever the sampling of the others."""
    import dataclasses

    settings = dataclasses.replace(unreachable_aws_settings, sample_rates=("toxicity=0",))
    event, sequences = tools.kinesis_event(kinesis, [pair("First answer.")])

    result = Pipeline(settings, meter_provider=meter_provider).kinesis_handler(event, None)

    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequences]}
