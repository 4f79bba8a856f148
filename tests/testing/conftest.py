"""Fixtures for the emulator tests: one server for the module, a clean script and log per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_llm.testing import BedrockEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[BedrockEmulator]:
    with BedrockEmulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(server: BedrockEmulator) -> BedrockEmulator:
    server.reset()
    return server


@pytest.fixture(scope="module")
def client(server: BedrockEmulator) -> Any:
    return server.client()
