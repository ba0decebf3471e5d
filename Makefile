# The team's shared vocabulary: make run, make test, make bench, make lint, make fmt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-pure lint fmt migrate demo bench backup clean locks messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

demo: migrate
	$(BIN)/python -m backend.cli demo

run: demo
	@# The PDF report needs Pango (WeasyPrint); install it from Debian when it is missing.
	@ldconfig -p 2>/dev/null | grep -q libpango-1.0 || (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0) \
		|| echo "note: install Pango (libpango-1.0-0 libpangoft2-1.0-0) for the PDF report"
	$(BIN)/python -m backend.cli serve

lint: $(STAMP) locks
	$(BIN)/ruff check backend tests alembic bench
	$(BIN)/ruff format --check backend tests alembic bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Each npm lock file must match its package.json, or `npm ci` (make bench, tests/ensure-browser) stops on a clean clone.
# A dry run reads the registry's metadata but installs nothing; regenerate a stale lock with
# `npm install --package-lock-only` in its folder.
NPM_FOLDERS := bench/lighthouse tests/browser
locks:
	@command -v npm >/dev/null || { echo "npm is needed to check the lock files (apt-get install npm)"; exit 1; }
	@for folder in $(NPM_FOLDERS); do \
		out=$$(cd $$folder && npm ci --dry-run --ignore-scripts --no-audit --no-fund --loglevel=error 2>&1) || { \
			echo "$$out" | grep -E "Missing|Invalid|in sync|ERR|error code" | head -5; \
			echo "$$folder/package-lock.json does not match its package.json: run npm install --package-lock-only there"; \
			exit 1; }; \
	done

fmt: $(STAMP)
	$(BIN)/ruff format backend tests alembic bench
	$(BIN)/ruff check --fix backend tests alembic bench

# The whole suite twice: on SQLite (a real file) and on a real PostgreSQL server the tests start themselves.
test: $(STAMP)
	tests/ensure-system-packages
	tests/ensure-browser
	$(MAKE) lint
	SPASM_TEST_DATABASE=sqlite $(BIN)/pytest
	SPASM_TEST_DATABASE=postgresql $(BIN)/pytest

# New texts of the templates, scripts and Python into the catalogs (pwa/locale); translate them, then run it again.
messages: $(STAMP)
	$(BIN)/python -m backend.messages

# The fast tests alone (no database, no server, no browser: the rules, the planner, validation...), in seconds.
test-pure: $(STAMP)
	$(BIN)/pytest -m pure

# A consistent copy of the SQLite database while the service runs: make backup [TO=path]
backup: $(STAMP)
	$(BIN)/python -m backend.cli backup $(if $(TO),--to $(TO),)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
