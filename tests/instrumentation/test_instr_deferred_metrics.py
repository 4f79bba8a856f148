"""Call metrics queued off the caller's thread: every collection drains the queue first, with any number
of readers, the drain instrument exports nothing, the queue is bounded, and a forked child starts empty."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm._instrumentation.deferred import DRAIN_INSTRUMENT, DeferredRecorder

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
DURATION = "gen_ai.client.operation.duration"


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    for resource in (data.resource_metrics if data else []):
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def _recorder(**kwargs: Any) -> tuple[DeferredRecorder, Any, list[InMemoryMetricReader]]:
    readers = [InMemoryMetricReader(), InMemoryMetricReader()]
    meter = metrics.get_meter("test", meter_provider=MeterProvider(metric_readers=readers))
    return DeferredRecorder(meter, **kwargs), meter.create_histogram("h"), readers


def test_instr_call_metrics_are_in_the_collection_right_after_the_call(instrumented: Any) -> None:
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    instrumented.emulator.client().converse(modelId=MODEL, messages=messages)

    assert instrumented.meter_provider.force_flush(10_000)
    found = _points(instrumented.reader)

    assert sum(p.count for p in found[DURATION]) == 1
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in found["gen_ai.client.token.usage"]}
    assert set(tokens) == {"input", "output"} and all(v > 0 for v in tokens.values())
    assert DRAIN_INSTRUMENT not in found


def test_instr_every_reader_sees_each_queued_measurement_once() -> None:
    recorder, histogram, (first, second) = _recorder(interval_s=None)
    assert first.get_metrics_data() is None  # the drain instrument alone exports nothing

    recorder.add([(histogram, 1.0, {"k": "v"}), (histogram, 3.0, {"k": "v"})])
    [from_first] = _points(first)["h"]
    [from_second] = _points(second)["h"]

    assert (from_first.count, from_first.sum) == (2, 4.0)
    assert (from_second.count, from_second.sum) == (2, 4.0)
    assert not recorder.pending


def test_instr_full_queue_drops_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    recorder, histogram, (reader, _) = _recorder(interval_s=None, max_pending=2)
    for value in (1.0, 2.0, 4.0):
        recorder.add([(histogram, value, {})])

    with caplog.at_level(logging.WARNING, logger="otel_llm"):
        [point] = _points(reader)["h"]

    assert (point.count, point.sum) == (2, 3.0)
    assert recorder.dropped == 0  # reported, then reset
    assert any("dropped" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_instr_drain_thread_records_without_any_collection() -> None:
    recorder, histogram, (reader, _) = _recorder(interval_s=0.01)
    recorder.add([(histogram, 2.0, {})])

    deadline = time.monotonic() + 10  # generous: the thread wakes every 10 ms
    while recorder.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not recorder.pending  # drained by the thread, before any collection
    recorder.stop()

    assert recorder._thread is not None and not recorder._thread.is_alive()
    [point] = _points(reader)["h"]
    assert (point.count, point.sum) == (1, 2.0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_instr_forked_child_starts_with_an_empty_queue_and_its_own_thread() -> None:
    recorder, histogram, (reader, _) = _recorder(interval_s=3600)  # the thread waits: collections drain
    recorder.add([(histogram, 1.0, {}), (histogram, 1.0, {})])

    pid = os.fork()
    if pid == 0:  # child: the parent's queued measurements are the parent's
        ok = False
        try:
            thread_alive = recorder._thread is not None and recorder._thread.is_alive()
            recorder.add([(histogram, 5.0, {})])
            [point] = _points(reader)["h"]
            ok = thread_alive and (point.count, point.sum) == (1, 5.0)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    [point] = _points(reader)["h"]
    assert (point.count, point.sum) == (2, 2.0)
    recorder.stop()
