# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck imports pytest browser bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exact versions from the lock files, each file checked against its hash, then the project
# itself (editable, --no-deps: the lock already brought its dependencies). Reinstalled when a
# lock or the project's metadata changes; `make lock` refreshes the locks.
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# A dependency added to pyproject.toml but not to the locks is missing: say so, and what to do.
CHECK_LOCK = @$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
  echo "The lock files lag pyproject.toml: run 'make lock UPGRADE=' and commit them."; exit 1; }

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps -e .
	$(CHECK_LOCK)
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	$(CHECK_LOCK)
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

# The layer contracts of pyproject.toml ([tool.importlinter], drawn in docs/architecture.md).
imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-logo --no-cache

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser),
# with Debian's Noto CJK fonts so that Chinese pages and screenshots show characters, not boxes,
# and Noto Color Emoji for the country flags.
# The accessibility tests inject axe-core from the npm registry, installed here under build/
# (never committed, never loaded by a page); tests/web/test_accessibility.py installs it the same
# way when it is missing and skips, saying why, without npm.
AXE_CORE ?= axe-core@4.14.1
AXE_DIR  ?= build/axe
browser:
	@missing=""; \
	  command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	  dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing fonts-noto-cjk"; \
	  dpkg-query -W -f='$${Status}' fonts-noto-color-emoji 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing fonts-noto-color-emoji"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	    else echo "$$missing not installed and cannot be here: the browser tests will skip" \
	      "or show Chinese as boxes"; fi; \
	  fi
	@test -f $(AXE_DIR)/node_modules/axe-core/axe.min.js || { \
	  if command -v npm >/dev/null 2>&1; then \
	    npm install --no-save --no-audit --no-fund --prefix $(AXE_DIR) $(AXE_CORE); \
	  else echo "npm is not installed: the accessibility tests will skip"; fi; }

pytest: $(VENV)/.installed-dev browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck imports pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/import_csv.py
	$(BIN)/python bench/http_load.py

# Refresh the lock files: the newest releases that pyproject.toml allows, for every platform and
# Python 3.11+, with the hashes of every file (`make lock UPGRADE=` keeps the current pins and
# resolves only what pyproject.toml changed). The runtime lock takes the dev lock's versions, so
# what the tests ran is what `make run` installs.
UPGRADE ?= --upgrade
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
  --generate-hashes --custom-compile-command "make lock" $(UPGRADE)

# Only uv is needed (not an install from the locks, which lag pyproject.toml when a dependency
# was just added there).
lock: | $(BIN)/python
	test -x $(BIN)/uv || $(PIP) install uv
	$(UV_COMPILE) --extra dev -o requirements-dev.lock
	$(UV_COMPILE) -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
