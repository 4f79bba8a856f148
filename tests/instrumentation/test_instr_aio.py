"""aiobotocore clients, through real aiobotocore over HTTP against the Bedrock emulator: every operation gets
what the sync client gets (span, call metrics, record), async streams end their call exactly once however
they end, concurrent calls on one loop keep their own spans, and the caller's objects and errors are
those of an uninstrumented client."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

aiobotocore = pytest.importorskip("aiobotocore", reason="needs aiobotocore: pip install 'otel-llm[aio]'")

from aiobotocore.config import AioConfig  # noqa: E402
from aiobotocore.response import StreamingBody  # noqa: E402
from aiobotocore.session import get_session  # noqa: E402
from botocore.exceptions import ClientError, EventStreamError  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from otel_llm._config import Settings  # noqa: E402
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor  # noqa: E402
from otel_llm._quality.processor import LLMMetricsSpanProcessor  # noqa: E402
from otel_llm._quality.scoring import Scorer  # noqa: E402
from otel_llm.evaluators import Batch, Evaluator  # noqa: E402
from otel_llm.testing import Reply  # noqa: E402

QUESTION = "What is the capital of France?"
MESSAGES = [{"role": "user", "content": [{"text": QUESTION}]}]
CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
# (model id, InvokeModel body) for a few families with different body and stream formats.
FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic": (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                           "messages": [{"role": "user", "content": QUESTION}]}),
    "llama": ("meta.llama3-1-8b-instruct-v1:0", {"prompt": QUESTION, "max_gen_len": 200}),
    "mistral_text": ("mistral.mistral-7b-instruct-v0:2", {"prompt": f"<s>[INST] {QUESTION} [/INST]"}),
    "cohere": ("cohere.command-r-plus-v1:0", {"message": QUESTION, "chat_history": []}),
    "nova": ("amazon.nova-lite-v1:0", {"messages": MESSAGES, "inferenceConfig": {"maxTokens": 200}}),
    "openai": ("openai.gpt-oss-20b-1:0", {"messages": [{"role": "user", "content": QUESTION}]}),
}
# Whatever varies from one run of the same call to the next.
VOLATILE = {"gen_ai.response.time_to_first_chunk", "gen_ai.response.id"}
IDS = {"id", "generation_id", "response_id", "created"}


@asynccontextmanager
async def aio_client(emulator: Any, **config: Any) -> AsyncIterator[Any]:
    session = get_session()
    retries = {"total_max_attempts": 1, "mode": "standard"}
    async with session.create_client(
            "bedrock-runtime", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=AioConfig(retries=retries, **config)) as client:
        yield client


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def settle() -> None:
    """Let the loop finalize abandoned async generators (it closes each in a task), then collect."""
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()


# --- one call, sync or async, read to the end ---------------------------------------------------------

CASES = [("converse", "nova"), ("converse_stream", "anthropic"), ("apply_guardrail", None)] + \
    [("invoke", family) for family in ("anthropic", "llama", "cohere", "openai")] + \
    [("invoke_stream", family) for family in ("anthropic", "llama", "mistral_text", "nova")]


def _kwargs(operation: str, family: str | None) -> dict[str, Any]:
    if operation == "apply_guardrail":
        return {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "source": "INPUT",
                "content": [{"text": {"text": QUESTION}}]}
    model, body = FAMILIES[family or "anthropic"]
    if operation.startswith("converse"):
        return {"modelId": model, "messages": MESSAGES}
    return {"modelId": model, "body": json.dumps(body)}


def _sync_call(client: Any, operation: str, family: str | None) -> Any:
    method = {"invoke": "invoke_model", "invoke_stream": "invoke_model_with_response_stream"}.get(operation,
                                                                                                 operation)
    response = getattr(client, method)(**_kwargs(operation, family))
    if operation == "converse_stream":
        return list(response["stream"])
    if operation == "invoke_stream":
        return list(response["body"])
    if operation == "invoke":
        return response["body"].read()
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


async def _async_call(client: Any, operation: str, family: str | None) -> Any:
    method = {"invoke": "invoke_model", "invoke_stream": "invoke_model_with_response_stream"}.get(operation,
                                                                                                 operation)
    response = await getattr(client, method)(**_kwargs(operation, family))
    if operation == "converse_stream":
        return [event async for event in response["stream"]]
    if operation == "invoke_stream":
        return [event async for event in response["body"]]
    if operation == "invoke":
        return await response["body"].read()
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _stable(value: Any) -> Any:
    """`value` with JSON bodies decoded and latencies (which vary from call to call) left out."""
    if isinstance(value, bytes):
        return _stable(json.loads(value))
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if "atency" not in k and k not in IDS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _span_view(harness: Any) -> list[tuple[Any, ...]]:
    return [(s.name, s.kind, s.status.status_code,
             {k: v for k, v in s.attributes.items() if k not in VOLATILE}) for s in harness.genai_spans()]


def _record_view(harness: Any) -> list[dict[str, Any]]:
    views = []
    for record in harness.records():
        view = {k: getattr(record, k) for k in record.__dataclass_fields__
                if k not in ("duration_s", "time_to_first_chunk_s", "span_context", "response_id")}
        view["has_ttft"] = record.time_to_first_chunk_s is not None
        views.append(view)
    return views


def _metric_totals(harness: Any) -> dict[tuple[str, frozenset], tuple[int, float | None]]:
    """(metric, attributes) -> (count, sum): the sum only where it is exact (token counts)."""
    totals = {}
    data = harness.reader.get_metrics_data()
    for resource in (data.resource_metrics if data else []):
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    exact = metric.name == "gen_ai.client.token.usage"
                    totals[(metric.name, frozenset(point.attributes.items()))] = (
                        point.count, point.sum if exact else None)
    return totals


def _difference(after: dict, before: dict) -> dict:
    changed = {}
    for key, (count, total) in after.items():
        count0, total0 = before.get(key, (0, 0.0 if total is not None else None))
        if count != count0:
            changed[key] = (count - count0, None if total is None else total - total0)
    return changed


@pytest.mark.parametrize(("operation", "family"), CASES)
def test_instr_aio_call_gets_what_the_sync_call_gets(instrumented: Any, operation: str,
                                                      family: str | None) -> None:
    sync_result = _sync_call(instrumented.emulator.client(), operation, family)
    sync_view = (_span_view(instrumented), _record_view(instrumented))
    after_sync = _metric_totals(instrumented)
    instrumented.spans.clear()
    instrumented.collector.records.clear()

    async def call() -> Any:
        async with aio_client(instrumented.emulator) as client:
            return await _async_call(client, operation, family)

    async_result = run(call())

    assert _stable(async_result) == _stable(sync_result)  # the caller reads the same events, bytes and fields
    [span] = instrumented.genai_spans()
    assert (_span_view(instrumented), _record_view(instrumented)) == sync_view
    assert len(sync_view[1]) == (0 if operation == "apply_guardrail" else 1)
    if operation.endswith("stream"):
        assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
    # every call metric point the sync call added, the async one added again: counts, and exact token sums
    assert _difference(_metric_totals(instrumented), after_sync) == _difference(after_sync, {})


# --- InvokeModel's async body ---------------------------------------------------------------------------

def test_instr_aio_invoke_body_is_returned_unread_and_whole(harness: Any) -> None:
    model, body = FAMILIES["anthropic"]

    async def call() -> tuple[Any, bytes, bytes, list[bytes], bytes]:
        async with aio_client(harness.emulator) as client:
            response = await client.invoke_model(modelId=model, body=json.dumps(body))
            first = await response["body"].read(10)
            rest = await response["body"].read()
            chunked = await client.invoke_model(modelId=model, body=json.dumps(body))
            chunks = [chunk async for chunk in chunked["body"].iter_chunks(7)]
            managed = await client.invoke_model(modelId=model, body=json.dumps(body))
            async with managed["body"] as inner:  # aiobotocore 3: the body; 2: the HTTP response under it
                whole = await inner.read()
            return response["body"], first, rest, chunks, whole

    bare_body, *bare = run(call())
    harness.instrument()
    body_object, *instrumented = run(call())

    assert isinstance(body_object, StreamingBody)
    assert type(body_object) is type(bare_body)
    for got in (bare, instrumented):
        first, rest, chunks, whole = got
        assert len(first) == 10 and [len(c) for c in chunks[:-1]] == [7] * (len(chunks) - 1)
        assert _stable(first + rest) == _stable(b"".join(chunks)) == _stable(whole)
    assert _stable(instrumented[0] + instrumented[1]) == _stable(bare[0] + bare[1])
    assert json.loads(instrumented[3])["content"][0]["text"]
    assert body_object.tell() == len(instrumented[0] + instrumented[1])
    assert len(harness.genai_spans()) == 3 and harness.records()[0].completion


# --- async streams: however they end, the call ends once ---------------------------------------------

STREAMS = ["converse_stream", "invoke_stream"]
TEXT = "Paris is the capital of France and its largest city by far."


async def _open(client: Any, operation: str) -> Any:
    if operation == "converse_stream":
        return (await client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    model, body = FAMILIES["anthropic"]
    return (await client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body)))["body"]


@pytest.mark.parametrize("operation", STREAMS)
def test_instr_aio_stream_broken_out_of_resumes_and_ends_once(instrumented: Any, operation: str) -> None:
    instrumented.emulator.enqueue(Reply(text=TEXT, chunks=6))

    async def call() -> tuple[list[Any], list[Any], int]:
        async with aio_client(instrumented.emulator) as client:
            stream = await _open(client, operation)
            head = []
            async for event in stream:
                head.append(event)
                if len(head) == 3:
                    break
            await settle()  # the loop finalizes the generator the loop left: not an end of the stream
            open_spans = len(instrumented.genai_spans())
            tail = [event async for event in stream]
            return head, tail, open_spans

    head, tail, spans_while_open = run(call())

    assert spans_while_open == 0
    assert len(head) == 3 and tail
    [span] = instrumented.genai_spans()
    assert span.status.status_code.name == "UNSET"
    [record] = instrumented.records()
    assert record.completion == TEXT and record.streamed
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.count == 1


@pytest.mark.parametrize("operation", STREAMS)
def test_instr_aio_stream_dropped_or_never_read_ends_once(instrumented: Any, operation: str) -> None:
    async def call() -> list[int]:
        seen = []
        async with aio_client(instrumented.emulator) as client:
            stream = await _open(client, operation)
            async for _event in stream:
                break
            del stream  # dropped mid-way
            await settle()
            seen.append(len(instrumented.genai_spans()))
            stream = await _open(client, operation)
            del stream  # never read
            gc.collect()
            seen.append(len(instrumented.genai_spans()))
            stream = await _open(client, operation)
            stream.close()  # closed unread
            stream.close()
            seen.append(len(instrumented.genai_spans()))
        return seen

    assert run(call()) == [1, 2, 3]
    gc.collect()
    assert len(instrumented.genai_spans()) == 3
    assert len(instrumented.records()) == 3
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.count == 3


@pytest.mark.parametrize("operation", STREAMS)
def test_instr_aio_stream_cancelled_mid_way_ends_once_with_the_cancellation(instrumented: Any,
                                                                            operation: str) -> None:
    instrumented.emulator.enqueue(Reply(text=TEXT, chunks=8, chunk_delay_s=0.2))

    async def call() -> tuple[int, bool]:
        got_some = asyncio.Event()
        received = []

        async def reader(client: Any) -> None:
            async for event in await _open(client, operation):
                received.append(event)
                if len(received) == 5:  # past the opening events: some text has arrived
                    got_some.set()

        async with aio_client(instrumented.emulator) as client:
            task = asyncio.create_task(reader(client))
            await got_some.wait()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                cancelled = True
            else:
                cancelled = False
        return len(received), cancelled

    count, cancelled = run(call())
    gc.collect()

    assert cancelled and count >= 5
    [span] = instrumented.genai_spans()
    assert span.attributes["error.type"] == "CancelledError"
    [record] = instrumented.records()
    assert record.error_type == "CancelledError" and TEXT.startswith(record.completion) and record.completion
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.count == 1


def test_instr_aio_call_cancelled_before_its_response_ends_once(instrumented: Any) -> None:
    instrumented.emulator.enqueue(Reply(text=TEXT, latency_s=2.0))

    async def call() -> None:
        async with aio_client(instrumented.emulator) as client:
            task = asyncio.create_task(client.converse(modelId=CLAUDE, messages=MESSAGES))
            while not instrumented.emulator.requests:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(call())
    [span] = instrumented.genai_spans()
    assert span.attributes["error.type"] == "CancelledError"
    assert span.status.status_code.name == "ERROR"


# --- errors: the caller's exception is the uninstrumented one ----------------------------------------

@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
def test_instr_aio_throttling_reraised_unchanged(harness: Any, operation: str) -> None:
    async def call() -> ClientError:
        harness.emulator.enqueue(Reply(error="ThrottlingException"))
        async with aio_client(harness.emulator) as client:
            with pytest.raises(ClientError) as raised:
                await _async_call(client, operation, "anthropic")
        return raised.value

    bare = run(call())
    harness.instrument()
    instrumented = run(call())

    assert type(instrumented).__name__ == type(bare).__name__ == "ThrottlingException"
    assert instrumented.response["Error"] == bare.response["Error"]
    assert str(instrumented) == str(bare)
    [span] = harness.genai_spans()
    assert span.attributes["error.type"] == "ThrottlingException"
    [duration] = harness.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "ThrottlingException"
    assert harness.records()[0].error_type == "ThrottlingException"


@pytest.mark.parametrize("operation", STREAMS)
def test_instr_aio_mid_stream_error_reraised_unchanged(harness: Any, operation: str) -> None:
    async def call() -> tuple[EventStreamError, int]:
        harness.emulator.enqueue(Reply(text=TEXT, chunks=6, error="ThrottlingException",
                                       error_after_chunks=3))
        received = []
        async with aio_client(harness.emulator) as client:
            with pytest.raises(EventStreamError) as raised:
                async for event in await _open(client, operation):
                    received.append(event)
        return raised.value, len(received)

    bare, bare_count = run(call())
    harness.instrument()
    instrumented, count = run(call())

    assert (str(instrumented), instrumented.response, count) == (str(bare), bare.response, bare_count)
    [span] = harness.genai_spans()
    assert span.attributes["error.type"] == "ThrottlingException"
    assert harness.records()[0].completion  # what arrived before the error is kept


# --- many calls on one loop ----------------------------------------------------------------------------

def test_instr_aio_concurrent_calls_keep_their_own_spans_and_context(instrumented: Any) -> None:
    tracer = instrumented.tracer_provider.get_tracer("test")
    instrumented.emulator.enqueue(Reply(chunks=5, chunk_delay_s=0.01), times=None)
    calls = 50

    async def one(client: Any, i: int) -> tuple[int, int, int]:
        question = f"Question number {i}: what is {i} plus {i}?"
        messages = [{"role": "user", "content": [{"text": question}]}]
        with tracer.start_as_current_span(f"parent-{i}") as parent:
            if i % 3 == 0:
                await client.converse(modelId=CLAUDE, messages=messages)
            elif i % 3 == 1:
                response = await client.converse_stream(modelId=CLAUDE, messages=messages)
                async for _event in response["stream"]:
                    await asyncio.sleep(0)  # let the others run between events
            else:
                body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                        "messages": [{"role": "user", "content": question}]}
                response = await client.invoke_model(modelId=CLAUDE, body=json.dumps(body))
                await response["body"].read()
            from opentelemetry import trace

            still_current = trace.get_current_span() is parent  # our span is no longer current
            return i, parent.get_span_context().span_id, int(still_current)

    async def many() -> list[tuple[int, int, int]]:
        async with aio_client(instrumented.emulator, max_pool_connections=calls) as client:
            return await asyncio.gather(*(one(client, i) for i in range(calls)))

    results = run(many())

    assert all(current for _, _, current in results)
    parents = {span_id: i for i, span_id, _ in results}
    spans = instrumented.genai_spans()
    assert len(spans) == calls and len({s.context.span_id for s in spans}) == calls
    by_span = {record.span_context.span_id: record for record in instrumented.records()}
    for span in spans:
        i = parents[span.parent.span_id]  # each call's span is the child of its own task's parent
        assert span.context.trace_id == next(
            s for s in instrumented.finished() if s.name == f"parent-{i}").context.trace_id
        assert by_span[span.context.span_id].prompt == f"Question number {i}: what is {i} plus {i}?"
        assert span.attributes["gen_ai.usage.output_tokens"] > 0


# --- scoring is off the loop ---------------------------------------------------------------------------

class ThreadProbe(Evaluator):
    """Records the thread every batch is scored on."""

    name = "probe"

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.calls = 0

    def evaluate(self, batch: Batch) -> Sequence[Any]:
        self.threads.append(threading.get_ident())
        self.calls += len(batch.calls)
        return [0.5 for _ in batch.calls]


def test_instr_aio_scoring_runs_off_the_event_loop(harness: Any) -> None:
    settings = Settings.from_env(backend="lexical", schedule_delay_ms=10)
    probe = ThreadProbe()
    processor = LLMMetricsSpanProcessor(settings, harness.meter_provider,
                                        scorer=Scorer(settings, evaluators=[probe]))
    tracer_provider = TracerProvider()  # the processor alone takes the side-channel records
    tracer_provider.add_span_processor(processor)
    BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=harness.meter_provider,
                                     metrics_enabled=False)
    loop_threads = []

    async def calls() -> None:
        loop_threads.append(threading.get_ident())
        async with aio_client(harness.emulator) as client:
            await client.converse(modelId=CLAUDE, messages=MESSAGES)
            async for _event in (await client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]:
                pass

    run(calls())
    assert processor.force_flush(30_000)

    assert probe.calls == 2 and probe.threads and loop_threads[0] not in probe.threads
    for name in ("otel_llm.similarity", "otel_llm.sentiment", "otel_llm.toxicity", "otel_llm.refusal",
                 "otel_llm.probe"):
        assert sum(p.count for p in harness.points(name)) == 2, name
    processor.shutdown()


# --- the patch --------------------------------------------------------------------------------------------

def test_instr_aio_patch_is_removed_on_uninstrument(harness: Any) -> None:
    from aiobotocore.client import AioBaseClient

    original = AioBaseClient.__dict__["_make_api_call"]
    instrumentor = harness.instrument()
    assert AioBaseClient.__dict__["_make_api_call"] is not original
    instrumentor.uninstrument()
    assert AioBaseClient.__dict__["_make_api_call"] is original

    async def call() -> None:
        async with aio_client(harness.emulator) as client:
            await client.converse(modelId=CLAUDE, messages=MESSAGES)

    run(call())
    assert harness.genai_spans() == []


def test_instr_aio_beside_contrib_aiobotocore_in_either_order(harness: Any) -> None:
    contrib = pytest.importorskip("opentelemetry.instrumentation.botocore")
    if not hasattr(contrib, "AiobotocoreInstrumentor"):
        pytest.skip("this contrib botocore has no aiobotocore instrumentor")
    from aiobotocore.client import AioBaseClient

    original = AioBaseClient.__dict__["_make_api_call"]

    async def call() -> None:
        async with aio_client(harness.emulator) as client:
            await client.converse(modelId=CLAUDE, messages=MESSAGES)

    for ours_first in (True, False):
        theirs = contrib.AiobotocoreInstrumentor()
        if ours_first:
            ours = harness.instrument()
            theirs.instrument(tracer_provider=harness.tracer_provider)
        else:
            theirs.instrument(tracer_provider=harness.tracer_provider)
            ours = harness.instrument()
        run(call())
        ours.uninstrument()
        run(call())  # contrib alone again: its own span, none of ours
        theirs.uninstrument()
        assert AioBaseClient.__dict__["_make_api_call"] is original

        [span] = harness.genai_spans()
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
        assert [s.name for s in harness.finished() if s.attributes.get("rpc.service") == "Bedrock Runtime"] \
            == ["Bedrock Runtime.Converse"]  # contrib skips Bedrock while we are instrumented
        harness.spans.clear()
        harness.collector.records.clear()


def test_instr_aio_outside_the_admitted_range_leaves_sync_instrumented(harness: Any, monkeypatch: Any,
                                                                         caplog: Any) -> None:
    from aiobotocore.client import AioBaseClient

    from otel_llm._instrumentation import aio

    monkeypatch.setattr(aio, "AIOBOTOCORE", "aiobotocore < 1")
    original = AioBaseClient.__dict__["_make_api_call"]
    harness.instrument()

    assert AioBaseClient.__dict__["_make_api_call"] is original
    assert "aiobotocore clients are not instrumented" in caplog.text
    harness.emulator.client().converse(modelId=CLAUDE, messages=MESSAGES)
    assert len(harness.genai_spans()) == 1


def test_instr_aio_aioboto3_clients_are_instrumented(instrumented: Any) -> None:
    aioboto3 = pytest.importorskip("aioboto3", reason="needs aioboto3 (it pins aiobotocore)")

    async def calls() -> None:
        session = aioboto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                   region_name="us-east-1")
        url = instrumented.emulator.endpoint_url
        async with session.client("bedrock-runtime", endpoint_url=url) as client:
            await client.converse(modelId=CLAUDE, messages=MESSAGES)
            async for _event in (await client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]:
                pass

    run(calls())
    spans = instrumented.genai_spans()
    assert [s.name for s in spans] == [f"chat {CLAUDE}"] * 2
    assert all(s.attributes["gen_ai.usage.output_tokens"] > 0 for s in spans)
    assert len(instrumented.records()) == 2
