"""The redaction hook: the user's function that scrubs or drops a record's content before it is scored and,
with content capture on, before it is put on spans.

A redactor is `Callable[[LLMCall], LLMCall | None]`: it returns the call (changed in place or a new one)
to be scored, or None to score nothing of it (the record is counted `otel_llm.outcome="redacted"`). It is
given as `Settings(redactor=function)` or `OTEL_LLM_REDACTOR=package.module:function`, and runs on the
scoring worker (or the pipeline handler) for scoring; with content capture on it also runs where the span
ends (the application's thread) on what goes on the span, which then carries no content if it fails. If
it raises, or cannot be imported, the record is not scored and is counted failed: content the user wanted
scrubbed is never scored, or exported, unscrubbed.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._failures import report_failure
from .record import LLMCall

if TYPE_CHECKING:
    from ._bedrock.families import ParsedRequest, ParsedResponse

Redactor = Callable[[LLMCall], "LLMCall | None"]


class RedactorUnavailable(RuntimeError):
    """`OTEL_LLM_REDACTOR` names nothing callable: every record is refused (counted failed)."""


def load_redactor(spec: Any) -> Redactor | None:
    """The redactor a setting names: a callable, `module:function`, or None for no redaction."""
    if spec is None or spec == "":
        return None
    if callable(spec):
        return spec
    try:
        module_name, _, attr = str(spec).partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for part in attr.strip().split("."):
            target = getattr(target, part)
        if not callable(target):
            raise TypeError("OTEL_LLM_REDACTOR does not name a callable")
        return target
    except Exception as exc:
        report_failure("redactor", exc)
        error = type(exc).__name__

        def refuse(call: LLMCall) -> LLMCall | None:
            raise RedactorUnavailable(f"OTEL_LLM_REDACTOR could not be loaded ({error})")

        return refuse


def apply_redactor(redact: Redactor, call: LLMCall) -> LLMCall | None:
    """`redact(call)`, checked: None, or an `LLMCall` whose texts are strings."""
    result = redact(call)
    if result is None:
        return None
    if not isinstance(result, LLMCall):
        raise TypeError(f"the redactor returned {type(result).__name__}, not an LLMCall or None")
    for name in ("prompt", "completion", "system"):
        if not isinstance(getattr(result, name), str):
            raise TypeError(f"the redactor left {name} as {type(getattr(result, name)).__name__}")
    return result


def redact_exchange(redact: Redactor, request: ParsedRequest, response: ParsedResponse | None
                    ) -> tuple[ParsedRequest, ParsedResponse | None] | None:
    """The request and response with the redactor's changes, for the span's content attributes; None when
    no content may go on the span (the redactor dropped the record, or failed: reported, never raised)."""
    call = LLMCall(model_id="", prompt=request.prompt, system=request.system, messages=list(request.messages),
                   completion=response.completion if response is not None else "")
    try:
        redacted = apply_redactor(redact, call)
    except Exception as exc:
        report_failure("redactor", exc)
        return None
    if redacted is None:
        return None
    request = dataclasses.replace(request, prompt=redacted.prompt, system=redacted.system,
                                  messages=list(redacted.messages or []))
    if response is not None:
        response = dataclasses.replace(response, completion=redacted.completion)
    return request, response
