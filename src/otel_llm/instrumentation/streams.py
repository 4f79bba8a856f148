"""The proxy around a returned EventStream: the user gets every event unchanged (same objects, same
order) while the call accumulates from them, and the call ends exactly once: when the stream is
exhausted, closed, raises, or is abandoned (garbage collected)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import wrapt

if TYPE_CHECKING:
    from .calls import BedrockCall


class StreamProxy(wrapt.ObjectProxy):
    """Behaves as the wrapped EventStream (attributes, `isinstance`), observing iteration and `close()`."""

    def __init__(self, stream: Any, call: BedrockCall) -> None:
        super().__init__(stream)
        self._self_call = call
        # Abandoned without being exhausted or closed: end the call when the proxy is collected.
        self._self_finalizer = weakref.finalize(self, call.end_stream, None)

    def __iter__(self) -> Iterator[Any]:
        call = self._self_call
        try:
            for event in self.__wrapped__:
                call.on_event(event)
                yield event
        except GeneratorExit:  # the consumer stopped iterating and dropped the iterator
            self._self_end(None)
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end(None)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(None)

    def _self_end(self, exc: BaseException | None) -> None:
        self._self_finalizer.detach()
        self._self_call.end_stream(exc)


def wrap_stream(stream: Any, call: BedrockCall) -> StreamProxy:
    """The stream the user receives in place of `stream`."""
    return StreamProxy(stream, call)
