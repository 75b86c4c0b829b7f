# The two commands: `make run` starts the whole portal on embedded defaults,
# `make test` passes the whole test suite. Both need nothing but Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_staff
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho -f Procfile.dev start

# The tests keep their own var/ (SQLite file, broker folder), apart from a running portal.
# The browser tests drive Debian's Chromium: installed here when missing and we are root;
# otherwise they fail saying so (SKIP_BROWSER_TESTS=1 skips them on purpose).
test: $(STAMP)
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || [ "$$SKIP_BROWSER_TESTS" = 1 ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/climkit_budget.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/webhook_ingest.py

clean:
	rm -rf var/broker var/test
