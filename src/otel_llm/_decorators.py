"""`llm_span`: a GenAI span plus a scored `LLMCall` for any LLM call the auto-instrumentation does not see
(SageMaker endpoints, other providers, a home-grown gateway). Decorator and context manager."""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from contextvars import Token
from typing import Any, TypeVar

from opentelemetry import context as otel_context, metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from . import _instruments as names, _sidechannel as sidechannel
from ._config import Settings
from ._failures import report_failure
from .record import LLMCall

F = TypeVar("F", bound=Callable[..., Any])


@functools.lru_cache(maxsize=16)
def _call_instruments(meter_provider: MeterProvider | None) -> tuple[Histogram, Histogram]:
    """The conventions' duration and token-usage histograms on `meter_provider` (None: the global one)."""
    from ._instrumentation.semconv import _histogram

    meter = metrics.get_meter("otel_llm.decorators", meter_provider=meter_provider)
    made = {i.name: _histogram(meter, i) for i in names.CALL_INSTRUMENTS}
    return made[names.OPERATION_DURATION], made[names.TOKEN_USAGE]


class llm_span:  # lower case: used like a function, `with llm_span(...)` and `@llm_span(...)`
    """Trace one LLM call and score its prompt/completion with the configured evaluators.

    Context manager: the `LLMCall` it yields is yours to fill in::

        with llm_span(model="my-model", provider="aws.sagemaker") as call:
            call.prompt = prompt
            call.completion = invoke_endpoint(prompt)
            call.input_tokens, call.output_tokens = 12, 40

    Decorator: the argument named `prompt_arg` is the prompt, a returned `str` is the completion::

        @llm_span(model="my-model", provider="my-gateway", prompt_arg="question")
        def ask(question: str) -> str: ...

    Exceptions propagate unchanged; the span then carries `error.type` and an error status.
    """

    def __init__(self, model: str, operation: str = "chat", provider: str = "unknown", *,
                 prompt_arg: str | None = None, tracer_provider: TracerProvider | None = None,
                 meter_provider: MeterProvider | None = None, settings: Settings | None = None) -> None:
        self.model = model
        self.operation = operation
        self.provider = provider
        self.prompt_arg = prompt_arg
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._settings = settings
        self._start = 0.0
        self._span: trace.Span | None = None
        self._token: Token[Context] | None = None
        self._call: LLMCall | None = None

    # --- context manager ---------------------------------------------------------------------
    def __enter__(self) -> LLMCall:
        call = LLMCall(model_id=self.model, request_model=self.model, operation=self.operation,
                       provider=self.provider)
        try:
            tracer = trace.get_tracer("otel_llm.decorators", tracer_provider=self._tracer_provider)
            span = tracer.start_span(f"{self.operation} {self.model}", kind=SpanKind.CLIENT, attributes={
                names.ATTR_OPERATION: self.operation, names.ATTR_PROVIDER: self.provider,
                names.ATTR_MODEL: self.model})
            self._span = span
            self._token = otel_context.attach(trace.set_span_in_context(span))
            call.span_context = span.get_span_context()
        except Exception as exc:
            report_failure("decorators", exc)
        self._call = call
        self._start = time.perf_counter()
        return call

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        span, call, token = self._span, self._call, self._token
        self._span = self._call = self._token = None
        if span is None or call is None:
            return
        try:
            if token is not None:
                otel_context.detach(token)
            if exc is not None:
                call.error_type = type(exc).__qualname__
                span.set_attribute(names.ATTR_ERROR_TYPE, call.error_type)
                # Messages quote what failed (parsers quote the completion): only the type, unless opted in.
                capture = (self._settings or _default_settings()).capture_content
                span.set_status(Status(StatusCode.ERROR, str(exc) if capture else call.error_type))
            self._finish(span, call)
            self._record_call_metrics(call, time.perf_counter() - self._start)
        except Exception as failure:
            report_failure("decorators", failure)
        finally:
            span.end()

    def _record_call_metrics(self, call: LLMCall, duration_s: float) -> None:
        """gen_ai.client.operation.duration and gen_ai.client.token.usage, as for Bedrock calls."""
        duration, tokens = _call_instruments(self._meter_provider)
        attrs = {names.ATTR_OPERATION: self.operation, names.ATTR_PROVIDER: self.provider,
                 names.ATTR_MODEL: self.model}
        if call.error_type:
            attrs[names.ATTR_ERROR_TYPE] = call.error_type
        duration.record(duration_s, attrs)
        for kind, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count is not None:
                tokens.record(count, {**attrs, names.ATTR_TOKEN_TYPE: kind})

    def _finish(self, span: trace.Span, call: LLMCall) -> None:
        settings = self._settings or _default_settings()
        limit = settings.max_content_chars
        call.prompt, call.completion = (call.prompt or "")[:limit], (call.completion or "")[:limit]
        attrs: dict[str, Any] = {"gen_ai.usage.input_tokens": call.input_tokens,
                                 "gen_ai.usage.output_tokens": call.output_tokens,
                                 "gen_ai.response.finish_reasons": list(call.finish_reasons) or None,
                                 "gen_ai.response.id": call.response_id}
        if settings.capture_content:
            attrs["gen_ai.input.messages"] = _messages("user", call.prompt)
            attrs["gen_ai.output.messages"] = _messages("assistant", call.completion)
        span.set_attributes({k: v for k, v in attrs.items() if v is not None})
        if (call.completion or call.refusal_signal) and span.is_recording():  # else no processor sees it end
            sidechannel.publish(span.get_span_context(), call)

    # --- decorator -----------------------------------------------------------------------------
    def __call__(self, func: F) -> F:
        signature = inspect.signature(func)

        def fresh(args: tuple, kwargs: dict) -> tuple[llm_span, Callable[[LLMCall, Any], None]]:
            scope = llm_span(self.model, self.operation, self.provider, prompt_arg=self.prompt_arg,
                             tracer_provider=self._tracer_provider, meter_provider=self._meter_provider,
                             settings=self._settings)
            prompt = _bound_argument(signature, self.prompt_arg, args, kwargs)

            def fill(call: LLMCall, result: Any) -> None:
                try:
                    if prompt is not None and not call.prompt:
                        call.prompt = str(prompt)
                    if isinstance(result, str) and not call.completion:
                        call.completion = result
                except Exception as exc:
                    report_failure("decorators", exc)

            return scope, fill

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                scope, fill = fresh(args, kwargs)
                with scope as call:
                    result = await func(*args, **kwargs)
                    fill(call, result)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            scope, fill = fresh(args, kwargs)
            with scope as call:
                result = func(*args, **kwargs)
                fill(call, result)
            return result

        return wrapper  # type: ignore[return-value]


def _bound_argument(signature: inspect.Signature, name: str | None, args: tuple, kwargs: dict) -> Any:
    if name is None:
        return None
    try:
        return signature.bind_partial(*args, **kwargs).arguments.get(name)
    except TypeError:
        return None  # the call itself will raise the user's TypeError


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}], ensure_ascii=False)


_settings_cache: list[Settings] = []


def _default_settings() -> Settings:
    if not _settings_cache:
        _settings_cache.append(Settings.from_env())
    return _settings_cache[0]
