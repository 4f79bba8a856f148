"""The redaction hook: the user's function that scrubs or drops a record's content before it is scored.

A redactor is `Callable[[LLMCall], LLMCall | None]`: it returns the call (changed in place or a new one)
to be scored, or None to score nothing of it (the record is counted `otel_llm.outcome="redacted"`). It is
given as `Settings(redactor=function)` or `OTEL_LLM_REDACTOR=package.module:function`, and runs on the
scoring worker (or the pipeline handler), never on the application's thread. If it raises, or cannot be
imported, the record is not scored and is counted failed: content the user wanted scrubbed is never scored
unscrubbed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .._failures import report_failure
from ..record import LLMCall

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
