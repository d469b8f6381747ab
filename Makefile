# archivist: two commands on a fresh machine — `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Everything runs offline: models come inside PyPI packages, never from a hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo test test-fast test-all lint format bench clean samples

install: $(STAMP)

# torch is pinned so pip takes the CPU build instead of pulling a multi-GB CUDA one: the local
# "+cpu" wheel when a wheel folder or index offers it (pip would otherwise rank "+cu130" above
# it), else PyPI's 2.13.0.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0+cpu" 2>/dev/null \
		|| $(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q "torch==2.13.0" -e ".[dev,st]"
	touch $(STAMP)

demo: install
	$(BIN)/archivist demo

test: install
	$(BIN)/pytest -m "not gpu"

# The unit tests: no server, no subprocess, nothing slow (about a minute on 2 cores).
test-fast: install
	$(BIN)/pytest -q -m "not slow and not integration and not gpu"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

samples: install
	$(BIN)/python sample_docs/make_samples.py

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .archivist .pytest_cache .ruff_cache .mypy_cache
