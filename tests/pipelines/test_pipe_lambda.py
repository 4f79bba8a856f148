"""The module-level Lambda entry point as Lambda runs it: a fresh process configured only by environment
variables, no OTel SDK set up by anyone, so the metrics leave as CloudWatch EMF lines on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from otel_llm import _instruments as names
from otel_llm.exporters._emf import parse_lines

SCRIPT = textwrap.dedent("""
    import json, sys
    from otel_llm.pipelines import handlers

    for event in json.loads(sys.argv[1]):
        summary = handlers.s3_handler(event, None)
        print("SUMMARY " + json.dumps(summary), flush=True)
        print("PIPELINE", id(handlers._default), flush=True)
""")


@pytest.mark.slow
def test_cold_start_handler_writes_emf_per_invocation(moto_endpoint, s3, bucket, records, tools):
    keys = [f"{tools.prefix}/first.json.gz", f"{tools.prefix}/second.json.gz"]
    s3.put_object(Bucket=bucket, Key=keys[0],
                  Body=tools.gz_lines(tools.as_line(records["claude"]), tools.as_line(records["titan"])))
    s3.put_object(Bucket=bucket, Key=keys[1], Body=tools.gz_lines(tools.as_line(records["converse"])))
    events = [{"Records": [{"eventSource": "aws:s3",
                            "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]} for key in keys]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_"))}
    env.update(AWS_ENDPOINT_URL_S3=moto_endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=tools.region, OTEL_LLM_BACKEND="lexical",
               OTEL_SERVICE_NAME="log-scorer")

    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(events)], env=env, capture_output=True,
                          text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    summaries = [json.loads(line[8:]) for line in out if line.startswith("SUMMARY ")]
    assert [s["scored"] for s in summaries] == [2, 1]
    assert len({line for line in out if line.startswith("PIPELINE ")}) == 1  # built once, at cold start
    # EMF lines are written by each invocation's flush, before its summary: split stdout at the summaries.
    cut = [i for i, line in enumerate(out) if line.startswith("SUMMARY ")]
    first = parse_lines("\n".join(out[:cut[0]]))
    second = parse_lines("\n".join(out[cut[0] + 2:cut[1]]))

    def toxicity_counts(documents):
        return {doc[names.ATTR_MODEL]: doc[names.TOXICITY] for doc in documents
                if names.TOXICITY in doc and names.ATTR_MODEL in doc}

    assert set(toxicity_counts(first)) == {tools.claude, tools.titan}
    assert set(toxicity_counts(second)) == {tools.nova}  # delta temporality: only this invocation's scores
    assert all(doc.get("service.name") == "log-scorer" for doc in first + second if names.TOXICITY in doc)
