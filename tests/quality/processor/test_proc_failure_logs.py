"""Failure logs say what failed, where and the exception type, never a message or a traceback that may
quote content, unless content capture is on. Checked with a root handler that formats everything it gets
(as an OTel `LoggingHandler` would export it), through the span processor and the pipeline parser."""

from __future__ import annotations

import logging

import pytest

from otel_llm import _failures as failures
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm._quality.scoring import Scorer
from otel_llm.evaluators import Evaluator
from otel_llm.pipelines._invocation_log import Batch
from otel_llm.record import LLMCall

SECRET = "my card number is 4111 1111 1111 1111"


class QuotingEvaluator(Evaluator):
    """Fails with a message quoting the completion, as a careless parser would."""

    name = "quoting"

    def evaluate(self, batch):
        raise ValueError(f"cannot judge {batch.calls[0].completion!r}")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # includes the formatted traceback when exc_info is set


@pytest.fixture
def root_capture():
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    failures._seen.clear()  # first failures are logged again
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    failures.set_capture_content(None)


def _score_through_the_processor(meter_provider, capture: bool) -> None:
    settings = Settings(backend="lexical", batch_size=4, schedule_delay_ms=20, capture_content=capture)
    scorer = Scorer(settings, evaluators=[QuotingEvaluator()])
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    processor.enqueue(LLMCall(model_id="m", prompt="What is on my card?", completion=SECRET))
    assert processor.force_flush(30_000)
    processor.shutdown()


def test_a_failing_evaluator_is_logged_without_the_content_it_quoted(meter_provider, root_capture):
    _score_through_the_processor(meter_provider, capture=False)
    text = "\n".join(root_capture.lines)
    assert "evaluator quoting failed" in text and "ValueError" in text  # what and which type
    assert "test_proc_failure_logs.py:" in text and "in evaluate" in text  # where
    assert "4111" not in text and "Traceback" not in text


def test_with_content_capture_on_the_message_and_traceback_are_logged(meter_provider, root_capture):
    _score_through_the_processor(meter_provider, capture=True)
    text = "\n".join(root_capture.lines)
    assert "4111" in text and "Traceback" in text  # so the test above can fail


def test_a_parser_crash_in_the_pipeline_is_a_problem_without_content(root_capture, monkeypatch):
    from otel_llm.pipelines import _invocation_log

    def crash(record, *args, **kwargs):
        raise KeyError(record["input"]["inputBodyJson"]["text"])

    monkeypatch.setattr(_invocation_log, "call_from_log_record", crash)
    batch = Batch()
    batch.add_log_record({"modelId": "m", "input": {"inputBodyJson": {"text": SECRET}}}, "s3://b/k line 3")
    assert [str(p) for p in batch.problems] == ["s3://b/k line 3: could not be parsed (KeyError)"]
    text = "\n".join(root_capture.lines)
    assert "s3://b/k line 3" in text and "KeyError" in text and "4111" not in text
