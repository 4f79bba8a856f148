# The two set-up commands: `make demo` (the main job) and `make test`. Both install what they need.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint accuracy bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[local,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/otel-llm demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts examples
	$(VENV)/bin/mypy src/otel_llm --ignore-missing-imports

# -rs prints why a test was skipped (e.g. no chromium for the report's headless render: apt-get install chromium).
test: lint
	$(PY) -m pytest -q -rs

accuracy: $(STAMP)
	$(VENV)/bin/otel-llm evaluate

# The benchmark has its own venv: the peers it compares with must not join the test venv's zero-code runs.
# torch first, pinned: a plain torch would pull the multi-GB CUDA build. `make bench QUICK=1` is the short run.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	python3 -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install -q --upgrade pip
	$(BENCH)/bin/python -m pip install -q torch==2.13.0
	$(BENCH)/bin/python -m pip install -q -e '.[local]' opentelemetry-instrumentation-botocore \
		opentelemetry-instrumentation-bedrock
	touch $@

bench: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/run_all.py $(if $(QUICK),--quick) --out benchmarks/RESULTS.md --raw benchmarks/RESULTS.json

clean:
	rm -rf $(VENV) $(BENCH) build dist src/*.egg-info
