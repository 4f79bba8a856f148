"""Beside `opentelemetry-instrumentation-botocore`: while otel-llm is instrumented, contrib skips
`bedrock-runtime` calls, so each one gets our span alone; every other AWS service keeps contrib's spans.

Contrib (and the ADOT distro's copy of its `_patched_api_call`) looks up one extension per service in a
module-level dict on every call and makes no span when that extension's `should_trace_service_call()` is
false. We put an extension answering false under `bedrock-runtime` and restore what was there on
`uninstrument()`. The dict is `_BOTOCORE_EXTENSIONS` since 0.62b0 and `_KNOWN_EXTENSIONS` before.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from .._config import logger
from .._failures import report_failure

SERVICE = "bedrock-runtime"
PACKAGE = "opentelemetry.instrumentation.botocore"
# botocore's registry, named so since 0.62b0 and before; aiobotocore's (0.62b0+): "_AIOBOTOCORE_EXTENSIONS"
BOTOCORE_REGISTRIES = ("_BOTOCORE_EXTENSIONS", "_KNOWN_EXTENSIONS")
_MISSING = object()


class ContribSkip:
    """Makes contrib skip `bedrock-runtime` between `install()` and `remove()`, in the first registry found
    under `registry_names`."""

    def __init__(self, registry_names: tuple[str, ...] = BOTOCORE_REGISTRIES) -> None:
        self._names = registry_names
        self._registry: dict[str, Any] | None = None
        self._loader: Callable[[], type] | None = None
        self._previous: Any = _MISSING

    @property
    def active(self) -> bool:
        return self._registry is not None and self._registry.get(SERVICE) is self._loader

    def install(self) -> None:
        """Nothing to do when contrib is not installed; a warning when its layout is unknown."""
        try:
            if importlib.util.find_spec(PACKAGE) is None:
                return
            extensions = importlib.import_module(PACKAGE + ".extensions")
        except Exception as exc:  # a broken contrib install must not stop ours
            report_failure("instrumentation.contrib", exc)
            return
        registry = next((value for name in self._names
                         if isinstance(value := getattr(extensions, name, None), dict)), None)
        if registry is None:
            logger.warning("otel-llm: cannot make %s skip bedrock-runtime (unknown version); Bedrock calls "
                           "get its span as the parent of ours and both record call metrics", PACKAGE)
            return
        self._registry, self._previous = registry, registry.get(SERVICE, _MISSING)
        skip = _skip_extension()
        self._loader = lambda: skip
        registry[SERVICE] = self._loader

    def remove(self) -> None:
        """Put back contrib's own entry, unless someone replaced ours since."""
        if self.active and self._registry is not None:
            if self._previous is _MISSING:
                del self._registry[SERVICE]
            else:
                self._registry[SERVICE] = self._previous
        self._registry, self._loader, self._previous = None, None, _MISSING


def _skip_extension() -> type:
    """A contrib extension that declines to trace: contrib then calls botocore directly."""
    try:
        from opentelemetry.instrumentation.botocore.extensions.types import _AwsSdkExtension

        base: type = _AwsSdkExtension
    except Exception:  # every admitted version has it; a plain class answers the one question asked
        base = object

    class _OtelLLMOwnsBedrockRuntime(base):  # type: ignore[valid-type, misc]
        def __init__(self, call_context: Any) -> None:
            self._call_context = call_context

        def should_trace_service_call(self) -> bool:
            return False

    return _OtelLLMOwnsBedrockRuntime
