"""The redaction hook (`Settings(redactor=...)`, `OTEL_LLM_REDACTOR=module:function`): it scrubs or drops a
record's content before it is scored, runs on the scoring worker, and its failure counts the record failed."""

from __future__ import annotations

import dataclasses
import re
import threading

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall

CARD = re.compile(r"\b(?:\d[ -]?){13,16}\b")


def call(completion: str) -> LLMCall:
    return LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", prompt="What is my card?",
                   completion=completion)


def test_the_redactor_scrubs_on_the_worker_before_the_scorer_sees_the_text(meter_provider, scorer, collect):
    threads: list[str] = []

    def scrub(record: LLMCall) -> LLMCall:
        threads.append(threading.current_thread().name)
        return dataclasses.replace(record, completion=CARD.sub("[card]", record.completion))

    settings = Settings(backend="lexical", batch_size=4, schedule_delay_ms=20, redactor=scrub)
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    processor.enqueue(call("Your card is 4111 1111 1111 1111."))
    assert threads == []  # nothing on the caller's thread
    assert processor.force_flush(10_000)
    assert [c.completion for c in scorer.seen] == ["Your card is [card]."]
    assert threads == ["otel-llm-quality"]
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 1
    processor.shutdown()


def test_a_redactor_that_drops_or_fails_costs_only_that_record(meter_provider, scorer, collect):
    def redact(record: LLMCall) -> LLMCall | None:
        if "secret" in record.completion:
            return None
        if "boom" in record.completion:
            raise RuntimeError(f"cannot scrub {record.completion}")
        return record

    settings = Settings(backend="lexical", batch_size=8, schedule_delay_ms=20, redactor=redact)
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    for text in ("fine", "a secret", "boom", "also fine"):
        processor.enqueue(call(text))
    assert processor.force_flush(10_000)
    assert [c.completion for c in scorer.seen] == ["fine", "also fine"]
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored") == 2
    assert got.counter(names.RECORDS, otel_llm__outcome="redacted") == 1
    assert got.counter(names.RECORDS, otel_llm__outcome="failed") == 1
    processor.shutdown()


def test_the_redactor_from_the_environment_and_one_that_cannot_load(meter_provider, scorer, collect, tmp_path,
                                                                    monkeypatch):
    (tmp_path / "my_scrubber.py").write_text(
        "def scrub(call):\n"
        "    call.completion = call.completion.replace('Alice', '[name]')\n"
        "    return call\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings.from_env({"OTEL_LLM_REDACTOR": "my_scrubber:scrub", "OTEL_LLM_BACKEND": "lexical",
                                  "OTEL_LLM_SCHEDULE_DELAY_MS": "20"})
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    processor.enqueue(call("Hello Alice."))
    assert processor.force_flush(10_000)
    assert scorer.seen[-1].completion == "Hello [name]."
    processor.shutdown()

    missing = Settings(backend="lexical", schedule_delay_ms=20, redactor="no_such_module:scrub")
    processor = LLMMetricsSpanProcessor(missing, meter_provider=meter_provider, scorer=scorer)
    processor.enqueue(call("Hello Bob."))
    assert processor.force_flush(10_000)
    assert all("Bob" not in c.completion for c in scorer.seen)  # fails closed: never scored unscrubbed
    assert collect().counter(names.RECORDS, otel_llm__outcome="failed") == 1
    processor.shutdown()
