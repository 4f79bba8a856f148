"""Fixtures for the family-parser tests: folding a list of stream chunks the way the wrapper does."""

from __future__ import annotations

import pytest

from otel_llm._bedrock.families import (
    StreamAccumulator,
    finish_stream,
    parse_converse_event,
    parse_stream_chunk,
)


@pytest.fixture
def fold_stream():
    """fold_stream(family, chunks) -> ParsedResponse, through the shared InvokeModel stream entry point."""

    def fold(family, chunks):
        acc = StreamAccumulator()
        for chunk in chunks:
            parse_stream_chunk(family, chunk, acc)
        return finish_stream(acc)

    return fold


@pytest.fixture
def fold_converse():
    """fold_converse(events) -> ParsedResponse, for ConverseStream events."""

    def fold(events):
        acc = StreamAccumulator()
        for event in events:
            parse_converse_event(event, acc)
        return finish_stream(acc)

    return fold
