"""aiobotocore (and aioboto3, built on it): the async wrapper around `AioBaseClient._make_api_call`.

It drives the same `BedrockCall` as the sync wrapper; only the awaiting differs. Streams come back as
`AsyncStreamProxy` (`streams.wrap_stream` sees `__aiter__`); InvokeModel's async body is read here, with
`await`, and replaced by an equivalent unread one. aiobotocore is optional: `client_class()` is None when it
is absent or outside `AIOBOTOCORE`, and sync botocore is instrumented either way.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, NamedTuple

from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

from .._config import logger
from .._failures import report_failure
from .calls import INVOKE
from .contrib_botocore import PACKAGE, ContribSkip
from .wrappers import ApiCallWrapper, Running, finish

AIOBOTOCORE = "aiobotocore >= 2.13, < 4"
# contrib botocore's aiobotocore instrumentor (0.62b0 on) looks its extensions up here: it skips Bedrock
# runtime calls while we are instrumented, as its botocore instrumentor does.
CONTRIB_REGISTRIES = ("_AIOBOTOCORE_EXTENSIONS",)


class AioPatch(NamedTuple):
    """What instrumenting aiobotocore installed: our wrapper on `owner._make_api_call`, contrib's skip."""

    owner: type
    wrapper: AsyncApiCallWrapper
    contrib: ContribSkip | None


def contrib_skip() -> ContribSkip | None:
    """Contrib made to skip Bedrock on aiobotocore clients; None when it has no aiobotocore instrumentor."""
    try:
        if importlib.util.find_spec(PACKAGE) is None:
            return None
        extensions = importlib.import_module(PACKAGE + ".extensions")
    except Exception as exc:
        report_failure("instrumentation.contrib", exc)
        return None
    if not any(isinstance(getattr(extensions, name, None), dict) for name in CONTRIB_REGISTRIES):
        return None
    skip = ContribSkip(CONTRIB_REGISTRIES)
    skip.install()
    return skip


def client_class() -> type | None:
    """`aiobotocore.client.AioBaseClient` when an admitted aiobotocore is installed."""
    try:
        if importlib.util.find_spec("aiobotocore") is None:
            return None
        conflict = get_dependency_conflicts((AIOBOTOCORE,))
        if conflict is not None:
            logger.warning("otel-llm: aiobotocore clients are not instrumented: %s", conflict)
            return None
        from aiobotocore.client import AioBaseClient

        return AioBaseClient  # type: ignore[no-any-return]
    except Exception as exc:  # a broken aiobotocore must not stop the sync instrumentation
        report_failure("instrumentation.aio", exc)
        return None


class AsyncApiCallWrapper(ApiCallWrapper):
    """The wrapt wrapper of the coroutine function `AioBaseClient._make_api_call`."""

    async def __call__(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = self.start(instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with Running(call):
            response = await wrapped(*args, **kwargs)
        if call.api != INVOKE:
            return finish(call, response)
        try:
            body = await replace_async_body(response)
        except Exception as exc:  # as in the sync client: the response is returned, its body fails alike
            report_failure("instrumentation", exc)
            call.end_quietly(None)
            return response
        except BaseException:  # cancelled while the body was read: fails the call, reaches the caller
            with Running(call):
                raise
        return finish(call, response, body)


async def replace_async_body(response: dict[str, Any]) -> bytes:
    """Read the response's async StreamingBody and put an equivalent unread one in its place."""
    body = response.get("body")
    if body is None or not hasattr(body, "read"):
        return b""
    from aiobotocore.response import StreamingBody

    try:
        data = await body.read()
    except Exception as exc:  # what was read is lost: the user's read must fail the same way
        response["body"] = StreamingBody(_Buffered(exc, body), None)
        raise
    response["body"] = StreamingBody(_Buffered(data, body), len(data))
    try:
        body.close()
    except Exception as exc:
        report_failure("instrumentation", exc)
    return data


class _Buffered:
    """The raw response under a replaced body: what aiobotocore's StreamingBody reads (`content.read`,
    `content.at_eof`, `url`, `close`; aiobotocore 2 also hands it out from `async with body`), served from
    memory; or, after a failed read, that same error."""

    def __init__(self, data: bytes | Exception, body: Any) -> None:
        self._data = data
        self._at = 0
        # the original response's URL (aiobotocore 3: `raw_stream`; 2: the body proxies the response)
        self.url = getattr(getattr(body, "raw_stream", body), "url", None)
        self.content = self

    async def read(self, n: int = -1) -> bytes:
        if isinstance(self._data, Exception):
            raise self._data
        end = len(self._data) if n is None or n < 0 else self._at + n
        chunk = self._data[self._at:end]
        self._at += len(chunk)
        return chunk

    def at_eof(self) -> bool:
        return isinstance(self._data, bytes) and self._at >= len(self._data)

    def close(self) -> None:
        pass

    async def __aenter__(self) -> _Buffered:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
