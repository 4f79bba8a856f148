"""`otel-llm replay`: local files and folders, S3 prefixes in moto server mode, the printed summary."""

from __future__ import annotations

import gzip
import json

from otel_llm import _instruments as names
from otel_llm.pipelines._replay import format_summary, main_replay, replay


def write_logs(folder, records, tools):
    hour = folder / tools.prefix
    hour.mkdir(parents=True)
    line = {name: tools.as_line(record) for name, record in records.items()}
    (hour / "a.json.gz").write_bytes(tools.gz_lines(line["claude"], line["titan"]))
    (hour / "b.jsonl").write_text(line["llama"] + "\n{broken\n" + line["error"])
    (hour / "data").mkdir()  # bodies Bedrock stored apart: not logs
    (hour / "data" / "req-x_input.json.gz").write_bytes(gzip.compress(b'{"messages": []}'))
    (hour / "notes.txt").write_text("not a log")
    return hour


def test_replay_of_a_folder_summarises_each_model(tmp_path, records, lexical_settings, lexical_scorer, tools,
                                                  meter_provider, reader):
    hour = write_logs(tmp_path, records, tools)

    summary = replay([tmp_path], lexical_settings, scorer=lexical_scorer, meter_provider=meter_provider)

    assert summary.objects == 2 and summary.scored == 3
    assert sorted(summary.models) == sorted([tools.claude, tools.titan, tools.llama])
    llama = summary.models[tools.llama]
    assert llama.calls == 1 and 0.0 <= llama.mean("toxicity") <= 1.0 and llama.mean("refused") in (0.0, 1.0)
    assert summary.skipped == {"error": 1}
    assert [p.location for p in summary.problems] == [f"{hour / 'b.jsonl'} line 2"]
    assert tools.histogram_counts(reader, names.SIMILARITY) == {tools.claude: 1, tools.titan: 1,
                                                                  tools.llama: 1}


def test_replay_of_an_s3_prefix_fetches_stored_bodies(s3, bucket, records, lexical_settings, lexical_scorer,
                                                      tools):
    record = records["converse"]
    body_key = f"{tools.prefix}/data/req-converse_input.json.gz"
    s3.put_object(Bucket=bucket, Key=body_key,
                  Body=gzip.compress(json.dumps(record["input"].pop("inputBodyJson")).encode()))
    record["input"]["inputBodyS3Path"] = f"s3://{bucket}/{body_key}"
    s3.put_object(Bucket=bucket, Key=f"{tools.prefix}/one.json.gz",
                  Body=tools.gz_lines(tools.as_line(record)))
    s3.put_object(Bucket=bucket, Key=f"{tools.prefix}/two.json.gz",
                  Body=tools.gz_lines(tools.as_line(records["claude_stream"])))

    summary = replay([f"s3://{bucket}/AWSLogs/"], lexical_settings, scorer=lexical_scorer, s3_client=s3)

    assert (summary.objects, summary.scored, summary.problems) == (2, 2, [])
    assert summary.models[tools.nova].mean("similarity") is not None  # the prompt came from the stored body


def test_main_replay_prints_a_table_and_fails_on_a_missing_source(tmp_path, records, tools, capsys):
    write_logs(tmp_path, records, tools)

    assert main_replay([str(tmp_path), "--backend", "lexical"]) == 0
    out = capsys.readouterr().out
    assert tools.claude in out and "refusal%" in out
    assert "3 calls scored from 2 log object(s); skipped: error=1" in out
    assert "b.jsonl line 2" in out

    assert main_replay([str(tmp_path / "missing.json.gz"), "--backend", "lexical", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["scored"] == 0 and "missing.json.gz" in result["unreadable_sources"][0]


def test_replay_shows_what_unreachable_backends_could_not_score(tmp_path, records, tools,
                                                               unreachable_aws_settings):
    write_logs(tmp_path, records, tools)
    summary = replay([tmp_path], unreachable_aws_settings)
    assert summary.scored == 3
    assert all(m.mean("similarity") is None and m.mean("toxicity") is None for m in summary.models.values())
    assert "  -  " in format_summary(summary)
