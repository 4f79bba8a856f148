"""Calls the instrumentation does not handle go through untouched: once, with their own errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_instr_a_failing_uninstrumented_call_is_sent_once_with_its_own_error(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    sends: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sends.append(request.url))
    with pytest.raises(ClientError):
        client.get_async_invoke(invocationArn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc")
    assert len(sends) == 1
    assert instrumented.genai_spans() == []
