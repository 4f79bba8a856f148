"""The coexistence tests again under the oldest contrib botocore our dependency floors admit (0.63b0, with
opentelemetry 1.42.0: the first semantic conventions carrying every GenAI name we import), in a venv of its
own; the installed, newest contrib runs them in the main suite. The venv is built once and cached."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

OLDEST = ["opentelemetry-instrumentation-botocore==0.63b0", "opentelemetry-api==1.42.0",
          "opentelemetry-sdk==1.42.0", "boto3", "numpy", "rapidfuzz", "wrapt", "pytest"]


@pytest.mark.slow
def test_instr_coexistence_under_the_oldest_admitted_contrib(venv_builder: Any, project: Path) -> None:
    venv = venv_builder("contrib-oldest", OLDEST)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/instrumentation/test_instr_coexistence.py"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
