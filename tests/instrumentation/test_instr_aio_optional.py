"""aiobotocore is optional: its range is named in `instrumentation_dependencies`, yet its absence (or a
version outside the range) never stops the instrumentation of sync botocore."""

from __future__ import annotations

from typing import Any

from packaging.requirements import Requirement

from otel_llm._instrumentation.instrumentor import BedrockInstrumentor

MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


def test_instr_aio_range_is_named_but_only_botocore_is_required(harness: Any) -> None:
    instrumentor = BedrockInstrumentor()
    names = {Requirement(dep).name for dep in instrumentor.instrumentation_dependencies()}

    assert names == {"botocore", "aiobotocore"}
    assert instrumentor._check_dependency_conflicts() is None  # with or without aiobotocore installed
    harness.instrument()  # the dependency check runs (no skip_dep_check)
    harness.emulator.client().converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)
    assert len(harness.genai_spans()) == 1
