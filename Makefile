# Two commands do all set-up: `make run` and `make test` (each installs what it needs first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest servers bench clean browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" || $(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[app,dev]'
	touch $(STAMP)

run: install .env
	$(BIN)/python app.py

# A fresh checkout gets a random webhook secret, so the server starts with signatures enforced;
# the same secret goes into the GitHub App's webhook settings (see README).
.env:
	@umask 077 && $(PYTHON) -c 'import secrets; print("REVIEWGATE_WEBHOOK_SECRET=" + secrets.token_hex(32))' > .env
	@echo "reviewgate: wrote .env with a new webhook secret; add REVIEWGATE_APP_ID and REVIEWGATE_PRIVATE_KEY_PATH to connect a GitHub App (README)" >&2

lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m rules app.py rules bot

typecheck: install
	$(BIN)/mypy

# Throwaway PostgreSQL and Redis run part of the suite; their packages are installed (as root)
# or named here when missing.
servers:
	.ci/require-servers

pytest: install servers browser
	$(BIN)/python -m pytest

# Headless Chromium and chromedriver for tests/pages/test_browser.py (Debian packages).
browser:
	sh .ci/browser-packages

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/analyze.py
	$(BIN)/python bench/github_calls.py
	$(BIN)/python bench/verdict_latency.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/gate_page.py

clean:
	rm -rf $(VENV) var build *.egg-info
