"""LLMMetricsSpanProcessor: queue, batches, flush, shutdown, fork, records from span attributes, metrics."""

from __future__ import annotations

import json
import os
import threading

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from otel_llm import _instruments as names, _sidechannel as sidechannel
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall


def attach(tracer_provider: TracerProvider, **kwargs) -> LLMMetricsSpanProcessor:
    processor = LLMMetricsSpanProcessor(**kwargs)
    tracer_provider.add_span_processor(processor)
    return processor


def llm_call(tracer_provider: TracerProvider, n: int, model: str = "anthropic.claude-3-haiku-20240307-v1:0",
             **fields) -> LLMCall:
    """End one span whose record travels through the side channel, as the instrumentation does."""
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span(f"chat {model}") as span:
        record = LLMCall(model_id=model, prompt=f"question {n}", completion=f"answer {n}", **fields)
        record.span_context = span.get_span_context()
        sidechannel.publish(span.get_span_context(), record)
    return record


def test_spans_from_eight_threads_are_each_scored_exactly_once(tracer_provider, meter_provider, settings,
                                                                scorer, collect):
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    per_thread = 60

    def work(t: int) -> None:
        for i in range(per_thread):
            llm_call(tracer_provider, t * 1000 + i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert processor.force_flush(10_000)

    prompts = [call.prompt for call in scorer.seen]
    assert len(prompts) == 8 * per_thread
    assert len(set(prompts)) == 8 * per_thread
    assert max(scorer.batches) <= settings.batch_size
    assert scorer.threads == {"otel-llm-quality"}  # scoring never ran on a caller's thread
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored") == 8 * per_thread
    assert got.count(names.SIMILARITY) == 8 * per_thread


def test_full_queue_drops_and_counts_without_blocking_the_caller(tracer_provider, meter_provider, scorer,
                                                                 collect):
    scorer.gate.clear()  # the backend hangs until the test lets it go
    settings = Settings(queue_size=4, batch_size=1, schedule_delay_ms=1)
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)

    caller = threading.Thread(target=lambda: [llm_call(tracer_provider, i) for i in range(50)])
    caller.start()
    caller.join(30)
    assert not caller.is_alive(), "ending spans blocked on a full queue"

    scorer.gate.set()
    assert processor.force_flush(10_000)
    got = collect()
    scored = got.counter(names.RECORDS, otel_llm__outcome="scored")
    dropped = got.counter(names.RECORDS, otel_llm__outcome="dropped")
    assert scored == len(scorer.seen)
    assert dropped > 0
    assert scored + dropped == 50
    assert got.counter(names.RECORDS, otel_llm__outcome="dropped",
                       gen_ai__request__model="anthropic.claude-3-haiku-20240307-v1:0") == dropped


def test_force_flush_scores_everything_queued_before_returning(tracer_provider, meter_provider, scorer,
                                                               collect):
    # A batch size and delay that would hold every record for minutes without the flush.
    settings = Settings(queue_size=1000, batch_size=1000, schedule_delay_ms=600_000)
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    for i in range(25):
        llm_call(tracer_provider, i)
    assert processor.force_flush(10_000)
    assert len(scorer.seen) == 25
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 25


def test_force_flush_returns_false_when_its_timeout_runs_out(tracer_provider, meter_provider, scorer):
    scorer.gate.clear()
    processor = attach(tracer_provider, settings=Settings(schedule_delay_ms=1), meter_provider=meter_provider,
                       scorer=scorer)
    llm_call(tracer_provider, 1)
    assert processor.force_flush(50) is False
    scorer.gate.set()
    assert processor.force_flush(10_000) is True


def test_shutdown_drains_the_queue_and_stops_listening(meter_provider, scorer, collect):
    provider = TracerProvider()
    listeners_before = sidechannel._listeners
    processor = attach(provider, settings=Settings(batch_size=1000, schedule_delay_ms=600_000),
                       meter_provider=meter_provider, scorer=scorer)
    assert sidechannel._listeners == listeners_before + 1
    for i in range(30):
        llm_call(provider, i)
    provider.shutdown()
    assert len(scorer.seen) == 30
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 30
    assert sidechannel._listeners == listeners_before
    llm_call(provider, 99)  # after shutdown: ignored, never raises
    assert processor.force_flush(100)
    assert len(scorer.seen) == 30


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_process_scores_and_flushes_after_fork(tracer_provider, meter_provider, settings, scorer,
                                                     collect):
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    llm_call(tracer_provider, 0)
    assert processor.force_flush(10_000)  # the worker thread exists and has worked before the fork

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its worker must be alive again, its queue its own
        outcome = {"ok": False}
        try:
            before = len(scorer.seen)
            for i in range(1, 11):
                llm_call(tracer_provider, i)
            outcome["flushed"] = processor.force_flush(10_000)
            outcome["scored_in_child"] = len(scorer.seen) - before
            outcome["recorded"] = collect().counter(names.RECORDS, otel_llm__outcome="scored")
            outcome["ok"] = True
        finally:
            os.write(write_end, json.dumps(outcome).encode())
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        outcome = json.loads(pipe.read())
    assert os.waitstatus_to_exitcode(status) == 0
    assert outcome == {"ok": True, "flushed": True, "scored_in_child": 10, "recorded": 11}
    # The parent keeps working as before.
    llm_call(tracer_provider, 100)
    assert processor.force_flush(10_000)
    assert len(scorer.seen) == 2


def test_records_from_semconv_message_attributes_of_another_instrumentation(tracer_provider, meter_provider,
                                                                             settings, scorer, collect):
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    tracer = tracer_provider.get_tracer("some.other.genai.instrumentation")
    with tracer.start_as_current_span("chat gpt-4o", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 12,
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps([{"role": "user",
                                              "parts": [{"type": "text", "content": "Hi?"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop",
                                               "parts": [{"type": "text", "content": "Hello!"}]}]),
    }) as span:
        span_context = span.get_span_context()
    assert processor.force_flush(10_000)
    [call] = scorer.seen
    assert (call.prompt, call.completion) == ("Be brief.\nHi?", "Hello!")
    assert (call.model_id, call.provider, call.operation, call.input_tokens) == (
        "gpt-4o-2024-08-06", "openai", "chat", 12)
    assert call.span_context == span_context
    [point] = collect().points[names.SIMILARITY]
    assert point.attributes[names.ATTR_PROVIDER] == "openai"


def test_records_from_indexed_prompt_and_completion_attributes(tracer_provider, meter_provider, settings,
                                                              scorer):
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    tracer = tracer_provider.get_tracer("older.instrumentation")
    with tracer.start_as_current_span("chat", attributes={
        "gen_ai.system": "cohere", "gen_ai.request.model": "command-r",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "You are terse.",
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Capital of France?",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Paris.",
        "gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": 2,
    }):
        pass
    with tracer.start_as_current_span("GET /health", attributes={"http.request.method": "GET"}):
        pass  # not an LLM span: nothing to score
    with tracer.start_as_current_span("chat", attributes={"gen_ai.request.model": "m",
                                                          "gen_ai.prompt.0.content": "no answer"}):
        pass  # no completion: nothing to judge
    assert processor.force_flush(10_000)
    [call] = scorer.seen
    assert (call.prompt, call.completion, call.provider, call.model_id) == (
        "You are terse.\nCapital of France?", "Paris.", "cohere", "command-r")
    assert (call.input_tokens, call.output_tokens) == (9, 2)


def test_histograms_in_unit_interval_with_score_buckets_and_only_low_cardinality_attributes(
        tracer_provider, meter_provider, settings, scorer, scores_type, collect):
    scorer.scores = scores_type(similarity=-0.4, sentiment=-1.0, toxicity=0.7, refusal=0.95, refused=True,
                                refusal_source="guardrail_intervened", extra={"groundedness": 0.25},
                                backend="local")
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    llm_call(tracer_provider, 1, operation="chat", response_id="resp-123")
    assert processor.force_flush(10_000)
    got = collect()
    expected_attrs = {names.ATTR_MODEL: "anthropic.claude-3-haiku-20240307-v1:0",
                      names.ATTR_OPERATION: "chat", names.ATTR_PROVIDER: "aws.bedrock",
                      names.ATTR_BACKEND: "local"}
    for name, value in ((names.SIMILARITY, 0.0), (names.SENTIMENT, 0.0), (names.TOXICITY, 0.7),
                        (names.REFUSAL, 0.95), ("otel_llm.groundedness", 0.25)):
        [point] = got.points[name]
        assert (point.count, point.sum) == (1, pytest.approx(value)), name
        assert tuple(point.explicit_bounds) == names.SCORE_BUCKETS, name
        assert dict(point.attributes) == expected_attrs, name
    assert got.counter(names.REFUSALS, otel_llm__refusal__source="guardrail_intervened") == 1


def test_scores_with_no_values_count_as_sampled_out(tracer_provider, meter_provider, settings, scorer,
                                                    scores_type, collect):
    scorer.scores = scores_type(similarity=None, sentiment=None, toxicity=None, refusal=None, refused=None)
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer)
    llm_call(tracer_provider, 1)
    assert processor.force_flush(10_000)
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="sampled_out") == 1
    assert names.SIMILARITY not in got.points


def test_a_failing_scorer_counts_failed_records_and_the_callers_span_is_untouched(
        tracer_provider, meter_provider, settings, failing_scorer, spans, collect):
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider,
                       scorer=failing_scorer)
    for i in range(3):
        llm_call(tracer_provider, i)
    assert processor.force_flush(10_000)
    assert collect().counter(names.RECORDS, otel_llm__outcome="failed") == 3
    assert len(spans.get_finished_spans()) == 3


def test_evaluation_events_are_linked_to_the_span(tracer_provider, meter_provider, scorer, scores_type):
    exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    scorer.scores = scores_type(similarity=0.8, sentiment=0.5, sentiment_label="positive", toxicity=None,
                                refusal=0.1, refused=False)
    processor = attach(tracer_provider, settings=Settings(evaluation_events=True, schedule_delay_ms=10),
                       meter_provider=meter_provider, scorer=scorer, logger_provider=logger_provider)
    record = llm_call(tracer_provider, 1, response_id="msg_01abc")
    assert processor.force_flush(10_000)
    events = [data.log_record for data in exporter.get_finished_logs()]
    by_name = {e.attributes["gen_ai.evaluation.name"]: e for e in events}
    assert set(by_name) == {"similarity", "sentiment", "refusal"}
    assert by_name["sentiment"].attributes["gen_ai.evaluation.score.label"] == "positive"
    assert by_name["refusal"].attributes["gen_ai.evaluation.score.label"] == "not_refused"
    assert by_name["similarity"].attributes["gen_ai.evaluation.score.value"] == pytest.approx(0.8)
    for event in events:
        assert event.event_name == "gen_ai.evaluation.result"
        assert event.attributes["gen_ai.response.id"] == "msg_01abc"
        assert (event.trace_id, event.span_id) == (record.span_context.trace_id, record.span_context.span_id)
    logger_provider.shutdown()


def test_no_events_unless_enabled(tracer_provider, meter_provider, settings, scorer):
    exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    processor = attach(tracer_provider, settings=settings, meter_provider=meter_provider, scorer=scorer,
                       logger_provider=logger_provider)
    llm_call(tracer_provider, 1)
    assert processor.force_flush(10_000)
    assert exporter.get_finished_logs() == ()
    logger_provider.shutdown()


def test_dropped_records_carry_the_requested_model_like_scored_ones(meter_provider, scorer, collect):
    scorer.gate.clear()
    processor = LLMMetricsSpanProcessor(settings=Settings(queue_size=1, batch_size=1, schedule_delay_ms=1),
                                        meter_provider=meter_provider, scorer=scorer)
    call = LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", completion="hi",
                   request_model="us.anthropic.claude-3-haiku-20240307-v1:0")
    while processor.enqueue(call):  # fill the queue behind the hung scorer
        pass
    scorer.gate.set()
    assert processor.force_flush(10_000)
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="dropped",
                       gen_ai__request__model="us.anthropic.claude-3-haiku-20240307-v1:0") >= 1
    processor.shutdown()
