# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck pytest browser demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# A secret of this checkout for signed links and webhook secrets, made once, never committed;
# an EMSTRACK_SECRET_KEY in the environment wins.
.emstrack-secret:
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

run: $(VENV)/.installed .emstrack-secret
	$(BIN)/emstrack db upgrade
	$(BIN)/emstrack demo --if-empty
	EMSTRACK_SECRET_KEY="$${EMSTRACK_SECRET_KEY:-$$(cat .emstrack-secret)}" \
	  $(BIN)/emstrack serve --host $(HOST) --port $(PORT) --worker

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check emstrack tests bench
	$(BIN)/ruff format --check emstrack tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is not installed and cannot be here: the browser tests will skip"; fi; }

pytest: $(VENV)/.installed-dev browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/import_csv.py
	$(BIN)/python bench/http_load.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
