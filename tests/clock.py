"""The tests' clock: the whole test run at another hour, when TEST_CLOCK says so.

    TEST_CLOCK=2026-07-05T00:30:00+02:00 .venv/bin/pytest ...

TEST_CLOCK is an ISO time with its offset (a time without one would be read in some zone
or other: exactly the mistake these runs look for). The run starts there and the clock
ticks on from it (time-machine, `tick=True`), so waits and backoffs still pass.

Every part of the system must see the same travelled clock, or the run tests a clock
skew rather than an hour:
- this process, its live server thread and every other thread: time-machine patches
  the process;
- every Python process the tests start (Celery workers, spawned deployment processes,
  management commands): the offset from the real clock goes into the environment
  (TEST_CLOCK_OFFSET_SECONDS) with `clock_site/` on PYTHONPATH, whose sitecustomize
  travels by the same offset when the interpreter starts;
- the database's clock, which the outbox and forwarding claims read (`'now'`): SQLite
  evaluates it in our process, so each connection gets a `strftime` that reads the
  travelled clock for `'now'` and is SQLite's own for anything else. PostgreSQL's clock
  is the server's and cannot travel: a travelled run refuses to start on it.
The browser (Chromium) keeps the real clock: browser tests are not part of such a run.
"""

import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

CLOCK = "TEST_CLOCK"
OFFSET = "TEST_CLOCK_OFFSET_SECONDS"
SITE = Path(__file__).resolve().parent / "clock_site"
ROOT = SITE.parent.parent

_travel = None


def destination(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{CLOCK}={text!r}: expected an ISO time such as "
                         "2026-03-29T01:58:00+01:00") from None  # fmt: skip
    if when.tzinfo is None:
        raise ValueError(f"{CLOCK}={text!r} has no offset: say which zone it is in")
    return when


def start_from_env() -> datetime | None:
    """In the test process: travel to TEST_CLOCK and hand the offset to every child."""
    text = os.environ.get(CLOCK, "")
    if not text:
        return None
    offset = destination(text).timestamp() - time.time()
    os.environ[OFFSET] = repr(offset)
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), str(ROOT), path]))
    return follow_offset(offset)


def follow_from_env() -> None:
    """In a child process (sitecustomize): the parent's offset, if it travels."""
    offset = os.environ.get(OFFSET, "")
    if offset:
        follow_offset(float(offset))


def follow_offset(offset: float) -> datetime:
    """The clock from now on: real time plus `offset` seconds, ticking."""
    global _travel
    import time_machine

    # A timestamp, not a zoned datetime: time-machine would set TZ to the zone's name,
    # and the host's TZ is one of the things these runs vary.
    _travel = time_machine.travel(time.time() + offset, tick=True)
    _travel.start()
    # The travelled clock starts ticking at its first reading: read it at once, or this
    # process would run behind the others by whatever happens in between (imports), and
    # a worker would find a row made due "now" by the test process not yet due.
    now = datetime.now(UTC)
    _follow_in_sqlite()
    return now


def travelling() -> bool:
    return _travel is not None


# --- SQLite's 'now' -------------------------------------------------------------------


class _SQLiteClock:
    """`strftime(format, time, modifiers…)` with 'now' read from Python's (travelled)
    clock; SQLite's own strftime (of a connection that has no override) does the rest."""

    def __init__(self):
        self.lock = threading.Lock()
        self.plain = sqlite3.connect(":memory:", check_same_thread=False)

    def strftime(self, fmt, value, *modifiers):
        if isinstance(value, str) and value.lower() == "now":
            value = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        marks = "".join(", ?" for _ in modifiers)
        with self.lock:
            return self.plain.execute(
                f"SELECT strftime(?, ?{marks})", (fmt, value, *modifiers)
            ).fetchone()[0]


def _follow_in_sqlite() -> None:
    from django.db.backends.signals import connection_created

    sqlite_clock = _SQLiteClock()

    def on_connection(sender, connection, **kwargs):
        if connection.vendor != "sqlite":
            raise RuntimeError(
                f"{CLOCK} needs SQLite: the {connection.vendor} server's clock cannot "
                "travel with ours (unset DATABASE_URL for a travelled run)"
            )
        connection.connection.create_function("strftime", -1, sqlite_clock.strftime)

    connection_created.connect(on_connection, weak=False, dispatch_uid="tests.clock")
