"""The travelled test clock (tests/clock.py): a process the tests start keeps the test
process's clock, and so does its SQLite 'now', which the outbox's claims compare with."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from . import clock

CHILD = """
import json, os, time
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
    database_now = cursor.fetchone()[0]
print(json.dumps({"time": time.time(), "monotonic": time.monotonic(), "db": database_now}))
"""


def test_a_child_process_and_its_sqlite_keep_the_test_clock():
    offset = -123 * 86400.0 + 0.5  # some other night
    env = {
        **os.environ,
        clock.OFFSET: repr(offset),
        "PYTHONPATH": os.pathsep.join([str(clock.SITE), str(clock.ROOT)]),
        "DATABASE_URL": "sqlite://:memory:",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    # CLOCK_MONOTONIC is the machine's, shared by every process and never travelled: it
    # tells what the real clock read when the child read its own.
    real, monotonic = time.time(), time.monotonic()
    if clock.travelling():  # this run travels too: the real clock is the one beneath
        real -= float(os.environ[clock.OFFSET])
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, cwd=clock.ROOT, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    child = json.loads(done.stdout.splitlines()[-1])
    real_then = real + (child["monotonic"] - monotonic)
    # Exactly the offset: a child that started its clock late would run behind the test
    # process (by the 25–50 ms of its imports) and find rows made due "now" not due yet.
    assert child["time"] - real_then == pytest.approx(offset, abs=0.005)
    database = datetime.strptime(child["db"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    assert database.timestamp() == pytest.approx(child["time"], abs=0.05)


def test_a_time_without_an_offset_is_refused():
    with pytest.raises(ValueError, match="has no offset"):
        clock.destination("2026-03-29T02:30:00")
    assert clock.destination("2026-03-29T01:58:00+01:00").timestamp() == 1774745880
