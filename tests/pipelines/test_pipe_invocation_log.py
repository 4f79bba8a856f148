"""Reading Bedrock model-invocation log objects into LLMCall records (no AWS needed)."""

from __future__ import annotations

import gzip
import json

from otel_llm.pipelines._invocation_log import call_from_log_record, gunzip, read_log_object
from otel_llm.record import SIGNAL_GUARDRAIL

SOURCE = "s3://logs/AWSLogs/x.json.gz"


def test_every_operation_and_family_is_read(records, tools):
    data = tools.gz_lines(*(tools.as_line(r) for r in records.values()))
    batch = read_log_object(data, SOURCE)

    assert batch.problems == []
    assert batch.skipped == {"error": 1}
    calls = {call.extra["request_id"]: call for call in batch.calls}
    assert sorted(calls) == sorted(k for k in (r["requestId"] for r in records.values()) if k != "req-error")

    claude = calls["req-claude"]
    assert claude.family == "anthropic" and claude.operation == "chat"
    assert "What is the capital of France?" in claude.prompt and "Answer briefly." in claude.prompt
    assert claude.completion == "The capital of France is Paris."
    assert (claude.input_tokens, claude.output_tokens) == (21, 9)
    assert claude.response_id == "msg_bdrk_01"
    assert claude.extra["log_location"] == f"{SOURCE} line 1"
    assert claude.server_address == "bedrock-runtime.us-east-1.amazonaws.com"

    assert calls["req-titan"].family == "titan"
    assert calls["req-titan"].completion.startswith("The sea is wide")
    assert calls["req-llama"].family == "llama"
    llama = calls["req-llama"]
    assert (llama.model_id, llama.request_model) == (tools.llama_base, tools.llama)
    assert "pick a lock" in calls["req-llama"].prompt
    assert calls["req-llama"].completion.startswith("I can't help with that.")

    converse = calls["req-converse"]
    assert "You are a librarian." in converse.prompt and "book about space" in converse.prompt
    assert converse.completion.startswith("Try Cosmos")
    assert converse.duration_s == 0.812
    assert converse.finish_reasons == ("end_turn",)

    stream = calls["req-claude-stream"]
    assert stream.streamed and stream.completion == "Hello, team! Great work today."
    assert (stream.duration_s, stream.time_to_first_chunk_s) == (0.64, 0.21)
    assert (stream.input_tokens, stream.output_tokens) == (12, 8)

    cstream = calls["req-converse-stream"]
    assert cstream.streamed and cstream.completion == "Keep going, keep growing."
    assert cstream.duration_s == 0.45


def test_broken_lines_are_reported_with_their_line_and_the_rest_is_kept(records, tools):
    data = tools.gz_lines(tools.as_line(records["claude"]),
                          '{"schemaType": "ModelInvocationLog", "modelId": "anthropic.cl',  # cut short
                          "",
                          '"just a string"',
                          json.dumps({"schemaType": "SomethingElse", "modelId": "x"}),
                          json.dumps({**records["titan"], "input": "not an object"}),
                          tools.as_line(records["llama"]))
    batch = read_log_object(data, SOURCE)

    assert [c.extra["request_id"] for c in batch.calls] == ["req-claude", "req-llama"]
    assert [p.location for p in batch.problems] == [f"{SOURCE} line {n}" for n in (2, 4, 5, 6)]
    reasons = [p.reason for p in batch.problems]
    assert "not valid JSON" in reasons[0]
    assert "expected a JSON object" in reasons[1]
    assert "schemaType is 'SomethingElse'" in reasons[2]
    assert "'input' must be a JSON object" in reasons[3]


def test_a_truncated_object_keeps_its_complete_lines(records, tools):
    data = tools.gz_lines(*(tools.as_line(records[k]) for k in ("claude", "titan", "llama")))
    batch = read_log_object(data[: len(data) - 30], SOURCE)  # the upload was cut off

    assert [c.extra["request_id"] for c in batch.calls][:2] == ["req-claude", "req-titan"]
    assert batch.problems and batch.problems[0].location == SOURCE
    assert "truncated" in batch.problems[0].reason


def test_plain_and_pretty_printed_objects_are_read(records):
    plain = (json.dumps(records["claude"]) + "\n" + json.dumps(records["titan"])).encode()
    assert len(read_log_object(plain, "local.jsonl").calls) == 2

    pretty = json.dumps(records["converse"], indent=2).encode()
    batch = read_log_object(pretty, "record.json")
    assert [c.extra["request_id"] for c in batch.calls] == ["req-converse"]
    assert batch.calls[0].extra["log_location"] == "record.json item 1"


def test_concatenated_gzip_members_are_all_read(records, tools):
    data = tools.gz_lines(tools.as_line(records["claude"])) + tools.gz_lines(tools.as_line(records["titan"]))
    raw, trouble = gunzip(data)
    assert trouble is None and raw.count(b"\n") == 2


def test_large_bodies_stored_in_s3_are_fetched(records):
    record = records["claude"]
    body = record["input"].pop("inputBodyJson")
    record["input"]["inputBodyS3Path"] = "s3://logs/AWSLogs/data/req-claude_input.json.gz"
    fetched = []

    def fetch(uri):
        fetched.append(uri)
        return body

    call = call_from_log_record(record, fetch)
    assert fetched == ["s3://logs/AWSLogs/data/req-claude_input.json.gz"]
    assert "capital of France" in call.prompt


def test_an_unreadable_stored_body_is_reported_and_the_call_kept(records):
    record = records["claude"]
    record["input"].pop("inputBodyJson")
    record["input"]["inputBodyS3Path"] = "s3://logs/data/req-claude_input.json.gz"
    problems = []

    def fetch(uri):
        raise PermissionError("AccessDenied")

    call = call_from_log_record(record, fetch, on_problem=problems.append)
    assert call.prompt == "" and call.completion == "The capital of France is Paris."
    assert len(problems) == 1 and "AccessDenied" in problems[0] and "req-claude_input" in problems[0]


def test_guardrail_intervention_is_an_exact_refusal_signal(records):
    record = records["converse"]
    record["output"]["outputBodyJson"]["stopReason"] = "guardrail_intervened"
    record["output"]["outputBodyJson"]["output"]["message"]["content"] = [{"text": "Sorry, I can't answer."}]
    assert call_from_log_record(record).refusal_signal == SIGNAL_GUARDRAIL


def test_text_is_bounded(records):
    record = records["titan"]
    record["output"]["outputBodyJson"]["results"][0]["outputText"] = "x" * 5000
    assert len(call_from_log_record(record, max_chars=1000).completion) == 1000


def test_messages_are_bounded_like_the_prompt(records):
    """The pipeline bounds the structured messages by `max_chars` as the instrumentation does."""
    record = records["converse"]
    record["input"]["inputBodyJson"]["messages"] = [
        {"role": "user", "content": [{"text": "old question " * 1000}]},
        {"role": "assistant", "content": [{"text": "an old answer " * 400}]},
        {"role": "user", "content": [{"text": "And the latest question?"}]}]
    unbounded = call_from_log_record(record)
    assert sum(len(p["content"]) for m in unbounded.messages for p in m["parts"]) > 13000
    call = call_from_log_record(record, max_chars=300)
    assert len(call.prompt) == 300
    assert sum(len(p["content"]) for m in call.messages for p in m["parts"]) <= 300
    assert call.messages[-1]["role"] == "user"
    assert call.messages[-1]["parts"][0]["content"] == "And the latest question?"


def test_stream_chunks_logged_as_json_text_are_read(records):
    record = records["claude_stream"]
    record["output"]["outputBodyJson"] = [json.dumps(c) for c in record["output"]["outputBodyJson"]]
    assert call_from_log_record(record).completion == "Hello, team! Great work today."


def test_binary_content_is_reported_not_read(records):
    inner = gzip.compress(json.dumps(records["claude"]).encode())
    batch = read_log_object(gzip.compress(inner), SOURCE)  # gzip of gzip: binary after one gunzip
    assert batch.calls == [] and batch.problems
    assert batch.problems[0].location == f"{SOURCE} line 1"
    assert all("not valid JSON" in p.reason for p in batch.problems)


def test_a_converse_stream_logged_as_one_response_is_read(records):
    """Bedrock's own documentation shows ConverseStream records with the assembled Converse response."""
    record = records["converse"]
    record["operation"] = "ConverseStream"
    call = call_from_log_record(record)
    assert call.streamed and call.completion.startswith("Try Cosmos") and call.output_tokens == 14
