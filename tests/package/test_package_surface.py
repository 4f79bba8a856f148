"""The package as users meet it: entry points, typing marker, lazy imports, README tables, CLI."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from otel_llm._config import documented_settings
from otel_llm._quality.evaluators.registry import ALL_INSTRUMENTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_instrumentor_is_registered_for_opentelemetry_instrument():
    points = importlib.metadata.entry_points(group="opentelemetry_instrumentor")
    ours = [p for p in points if p.value.startswith("otel_llm.")]
    assert [p.name for p in ours] == ["bedrock_llm"]
    from otel_llm import BedrockInstrumentor

    assert ours[0].load() is BedrockInstrumentor


def test_ships_py_typed():
    import otel_llm

    assert (Path(otel_llm.__file__).parent / "py.typed").exists()


def test_importing_the_package_loads_no_model_runtime():
    code = "import otel_llm, sys; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


PUBLIC_MODULES = ("otel_llm", "otel_llm.evaluators", "otel_llm.record", "otel_llm.testing",
                  "otel_llm.pipelines.handlers", "otel_llm.exporters")


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_are_documented_and_export_what_they_list(name):
    import importlib

    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip()
    assert module.__all__
    for exported in module.__all__:
        assert getattr(module, exported) is not None, f"{name}.{exported}"


def test_custom_evaluator_api_is_one_api_wherever_it_is_imported():
    import otel_llm
    from otel_llm import evaluators

    assert otel_llm.Evaluator is evaluators.Evaluator and otel_llm.Batch is evaluators.Batch
    assert otel_llm.ENTRY_POINT_GROUP == evaluators.ENTRY_POINT_GROUP == "otel_llm.evaluators"


def test_version_comes_from_the_package_metadata():
    import otel_llm

    assert otel_llm.__version__ == importlib.metadata.version("otel-llm")


def test_unknown_public_name_raises_attribute_error():
    import otel_llm

    with pytest.raises(AttributeError):
        otel_llm.does_not_exist  # noqa: B018


@pytest.mark.parametrize("env", [row[0] for row in documented_settings()])
def test_readme_documents_every_setting(env):
    assert f"`{env}`" in README


@pytest.mark.parametrize("instrument", ALL_INSTRUMENTS, ids=lambda i: i.name)
def test_readme_lists_every_instrument_with_its_unit(instrument):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{instrument.name}` |")), None)
    assert row is not None, f"{instrument.name} missing from the README's instrument table"
    assert f"`{instrument.unit}`" in row


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    block = re.search(r"## Set-up commands\n.*?```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_cli_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "otel_llm._cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("demo", "emulator", "evaluate", "replay"):
        assert command in out
