# The two commands: `make run` starts the whole portal on embedded defaults,
# `make test` passes the whole test suite. Both need nothing but Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-clock lint bench clean lock

# Installed from the locks: every package pinned, every file checked against its hash.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

# requirements*.in (what we ask for) -> requirements*.txt (the whole tree, pinned and
# hashed). Versions already locked stay unless an .in asks otherwise; to move them all:
# `make lock LOCK_FLAGS=--upgrade`, or one: `make lock LOCK_FLAGS="-P django"`.
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)
lock: $(STAMP)
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_staff
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho -f Procfile.dev start

# The tests keep their own var/ (SQLite file, broker folder), apart from a running portal.
# The browser tests drive Debian's Chromium: installed here when missing and we are root;
# otherwise they fail saying so (SKIP_BROWSER_TESTS=1 skips them on purpose).
# Two test processes by default (most tests wait on sockets and workers, not the CPU);
# each keeps its own var/ and Redis database (portal/test_slots.py). TEST_PROCESSES=0: one.
TEST_PROCESSES ?= 2
test: $(STAMP)
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || [ "$$SKIP_BROWSER_TESTS" = 1 ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

# The time-touching tests at another hour (docs/time.md): TEST_CLOCK is an ISO time with
# its offset, e.g. `make test-clock TEST_CLOCK=2026-03-29T01:58:00+01:00` (the night the
# clocks go forward). On SQLite: PostgreSQL's clock is the server's and cannot travel.
TEST_CLOCK ?= 2026-07-05T00:30:00+02:00
CLOCK_TESTS ?= tests/test_clock.py tests/test_times.py tests/sandbox/test_climkit_sandbox.py \
	tests/test_climkit_pull.py tests/test_readings_admin.py tests/test_admin_honest.py \
	tests/test_readings_forwarding.py tests/test_zaehlerfreunde_client.py
test-clock: $(STAMP)
	rm -rf var/test-clock  # state stamped at another hour (the Climkit budget) would stall it
	env -u DATABASE_URL TEST_CLOCK=$(TEST_CLOCK) VAR_DIR=$(CURDIR)/var/test-clock \
		$(BIN)/pytest -p no:cacheprovider $(CLOCK_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/portfolio.py
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/climkit_budget.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/webhook_ingest.py
	$(BIN)/python bench/reconcile_bench.py

clean:
	rm -rf var/broker var/test var/test-clock
