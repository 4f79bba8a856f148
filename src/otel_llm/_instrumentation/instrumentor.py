"""`BedrockInstrumentor`: installs and removes the wrapt patch of botocore's `_make_api_call` (and of
aiobotocore's, when an admitted version is installed).

The patch always sits directly around botocore's own function, beneath any other wrapper (such as
`opentelemetry-instrumentation-botocore`'s), so instrumenting and uninstrumenting in any order leave
the others intact. While we are instrumented, contrib skips `bedrock-runtime` (`contrib_botocore`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import wrapt
from botocore.client import BaseClient
from opentelemetry.instrumentation.dependencies import DependencyConflict, get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from .._config import Settings, logger
from .._failures import report_failure
from . import aio
from .contrib_botocore import ContribSkip
from .profiles import InferenceProfileResolver
from .semconv import Telemetry
from .wrappers import ApiCallWrapper

_PATCHED = "_make_api_call"
BOTOCORE = "botocore >= 1.34, < 2"
_SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))
# What BaseInstrumentor.instrument() and the distros pass besides settings.
_INSTRUMENT_KWARGS = frozenset({"settings", "tracer_provider", "meter_provider", "logger_provider",
                                "skip_dep_check", "raise_exception_on_conflict"})


class BedrockInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments boto3 `bedrock-runtime`: GenAI spans, call metrics and quality-metric records.

    `instrument(tracer_provider=..., meter_provider=..., settings=Settings(...), **setting_overrides)`;
    without arguments it uses the global providers and `Settings.from_env()`.
    """

    _wrapper: ApiCallWrapper | None = None
    _aio: aio.AioPatch | None = None
    _resolver: InferenceProfileResolver | None = None
    _contrib: ContribSkip | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return (BOTOCORE, aio.AIOBOTOCORE)

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        """botocore is required; aiobotocore is optional (`aio.client_class` checks its range)."""
        return get_dependency_conflicts((BOTOCORE,))

    def _instrument(self, **kwargs: Any) -> None:
        settings = _settings(kwargs)
        resolver = None
        if settings.resolve_inference_profiles:
            resolver = InferenceProfileResolver(settings.backend_timeout_s)
        telemetry = Telemetry(settings, kwargs.get("tracer_provider"), kwargs.get("meter_provider"), resolver)
        self._resolver = resolver
        self._wrapper = ApiCallWrapper(telemetry)
        _insert_innermost(BaseClient, _PATCHED, self._wrapper)
        self._contrib = ContribSkip()
        self._contrib.install()
        aio_client = aio.client_class()
        if aio_client is not None:
            aio_wrapper = aio.AsyncApiCallWrapper(telemetry)
            _insert_innermost(aio_client, _PATCHED, aio_wrapper)
            self._aio = aio.AioPatch(aio_client, aio_wrapper, aio.contrib_skip())
        if settings.metrics_enabled:
            _install_processor(kwargs, settings)

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._wrapper is not None:
            _remove(BaseClient, _PATCHED, self._wrapper)
            self._wrapper.telemetry.stop()
            self._wrapper = None
        if self._contrib is not None:
            self._contrib.remove()
            self._contrib = None
        if self._aio is not None:
            _remove(self._aio.owner, _PATCHED, self._aio.wrapper)
            if self._aio.contrib is not None:
                self._aio.contrib.remove()
            self._aio = None
        if self._resolver is not None:
            self._resolver.stop()
            self._resolver = None


def _settings(kwargs: dict[str, Any]) -> Settings:
    """`settings=` (default: from the environment) with any setting given by name on top.

    Unknown keyword arguments are named in a warning rather than raised: under zero-code a distro
    may pass its own, and a typo must not stop the application.
    """
    overrides = {k: v for k, v in kwargs.items() if k in _SETTING_NAMES}
    unknown = sorted(set(kwargs) - _SETTING_NAMES - _INSTRUMENT_KWARGS)
    if unknown:
        logger.warning("otel-llm: BedrockInstrumentor.instrument() ignores unknown arguments %s; "
                       "settings are %s", unknown, sorted(_SETTING_NAMES))
    base = kwargs.get("settings")
    if isinstance(base, Settings):
        return dataclasses.replace(base, **overrides) if overrides else base
    return Settings.from_env(**overrides)


def _install_processor(kwargs: dict[str, Any], settings: Settings) -> None:
    """Zero-code quality metrics: attach the span processor (once per provider)."""
    try:
        from .._quality import processor

        processor.install(tracer_provider=kwargs.get("tracer_provider"),
                          meter_provider=kwargs.get("meter_provider"), settings=settings)
    except Exception as exc:
        report_failure("instrumentation.processor", exc)


def _insert_innermost(owner: type, name: str, wrapper: Any) -> None:
    """Wrap the real function `owner.name`, beneath any wrapt wrappers already around it."""
    top = owner.__dict__[name]
    if not _is_wrapper(top):
        setattr(owner, name, wrapt.FunctionWrapper(top, wrapper))
        return
    node = top
    while _is_wrapper(node.__wrapped__):
        node = node.__wrapped__
    node.__wrapped__ = wrapt.FunctionWrapper(node.__wrapped__, wrapper)


def _remove(owner: type, name: str, wrapper: Any) -> None:
    """Take our wrapper out of the chain of wrappers at `owner.name`, wherever it sits."""
    parent = None
    node = owner.__dict__[name]
    while _is_wrapper(node):
        if getattr(node, "_self_wrapper", None) is wrapper:
            if parent is None:
                setattr(owner, name, node.__wrapped__)
            else:
                parent.__wrapped__ = node.__wrapped__
            return
        parent, node = node, node.__wrapped__


def _is_wrapper(value: Any) -> bool:
    return isinstance(value, (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper))
