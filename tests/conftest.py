"""Shared fixtures: the sandbox over real HTTP, and real Celery worker processes.

The worker is a separate `celery worker` process on the same database (a SQLite file or
the PostgreSQL test database) and the same broker (filesystem under var/, or REDIS_URL)
as the tests, talking to the sandbox served by pytest-django's live server.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation

from . import clock, fast_flush

ROOT = Path(__file__).resolve().parent.parent

# What the tests' portal and their workers share: quick retries, short timeouts.
FAST_SYNC = {
    "SYNC_BACKOFF_BASE_SECONDS": 0.2,
    "SYNC_BACKOFF_CAP_SECONDS": 1.0,
    # Half as long again as one call's longest wait (onboarding/sync/checks.py).
    "SYNC_CLAIM_TIMEOUT_SECONDS": 7.0,
    "SYNC_MAX_ATTEMPTS": 6,
    # A Climkit login holds the token lock while it waits for its turn (1 request/s).
    "SYNC_TOKEN_LOCK_WAIT_SECONDS": 2.0,
    "PROVIDER_CONNECT_TIMEOUT_SECONDS": 0.5,
    "PROVIDER_TIMEOUT_SECONDS": 2.0,
    "SANDBOX_CLIENT_ID": "portal-sandbox",
    "SANDBOX_CLIENT_SECRET": "sandbox-secret",
}


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")


class SandboxControl:
    """A sandbox's control side over HTTP (state, faults, tokens, latency, reset), with the
    control token every control endpoint asks for."""

    def __init__(self, base: str, platform: str):
        self.base = base
        self.root = f"{base}/sandbox/{platform}"
        self.control = f"{self.root}/_sandbox"
        self.http = requests.Session()
        self.http.headers["X-Sandbox-Token"] = django_settings.SANDBOX_CONTROL_TOKEN

    def state(self) -> dict:
        response = self.http.get(f"{self.control}/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def count(self, what: str) -> int:
        return self.state()["counts"][what]

    def requests_to(self, endpoint: str) -> int:
        return self.state()["requests"].get(endpoint, 0)

    def fault(self, mode: str, count: int = 1, **options) -> dict:
        response = self.http.post(
            f"{self.control}/faults", json={"mode": mode, "count": count, **options}, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.control}/faults", timeout=10).raise_for_status()

    def expire_tokens(self) -> None:
        self.http.post(f"{self.control}/tokens/expire", timeout=10).raise_for_status()

    def latency(self, ms: int | None) -> None:
        self.http.post(f"{self.control}/latency", json={"ms": ms}, timeout=10).raise_for_status()

    def reset(self) -> None:
        self.http.post(f"{self.control}/reset", timeout=10).raise_for_status()


def pytest_report_header(config):
    if clock.travelling():
        now = datetime.now(UTC)
        return f"clock: {now:%Y-%m-%d %H:%M:%S} UTC, {timezone.localtime(now):%H:%M %Z} local"
    return None


def Sandbox(base: str) -> SandboxControl:  # noqa: N802 - reads like the class it was
    """The Zählerfreunde sandbox's control side."""
    return SandboxControl(base, "zaehlerfreunde")


def pytest_configure(config):
    fast_flush.install()
    # TEST_CLOCK runs everything at another hour (tests/clock.py); SQLite only.
    if clock.start_from_env() and not django_settings.DATABASES["default"]["ENGINE"].endswith(
        "sqlite3"
    ):
        raise pytest.UsageError(f"{clock.CLOCK} needs SQLite: unset DATABASE_URL")
    config.addinivalue_line(
        "markers",
        "platforms(*names): the platforms enabled for the test and its worker processes "
        "(default: every platform but zevvy)",
    )


@pytest.fixture(autouse=True)
def _nothing_left_in_the_cache():
    """Every test starts with an empty cache, as a test's database starts empty: a
    refresh "asked less than a minute ago" or a token lock left by a worker killed at a
    test's end (Redis, 60 s expiry) must not reach the next test. With Redis this
    empties the test process's own database (portal/test_slots.py), broker included, so
    a killed worker's unacked messages are not redelivered into the next test either."""
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """A page asked for in German leaves German active in the thread (LocaleMiddleware
    never switches back): every test starts in the portal's default language."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def enabled_platforms(request, settings) -> list[str]:
    """zevvy takes every device but reaches nothing until a person has approved its
    access, so a test that is not about zevvy would only see its rows wait (and count
    them): tests about zevvy enable it with @pytest.mark.platforms("zevvy", ...)."""
    marker = request.node.get_closest_marker("platforms")
    if marker:
        settings.PROVIDERS = list(marker.args)
    else:
        settings.PROVIDERS = [name for name in settings.ALL_PROVIDERS if name != "zevvy"]
    return settings.PROVIDERS


@pytest.fixture
def portal(settings, live_server):
    """The portal's settings pointed at the live server's sandbox."""
    settings.SANDBOX_BASE_URL = live_server.url
    for name, value in FAST_SYNC.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def sandbox(portal, live_server) -> Sandbox:
    return Sandbox(live_server.url)


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


class WorkerProcess:
    """`celery worker --pool=solo` in its own process group, log kept for failures."""

    def __init__(self, env: dict):
        self.env = env
        self.log: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 30.0) -> "WorkerProcess":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "".join(self.log[-40:]))
        return self

    def _read(self):
        for line in self.process.stdout:
            self.log.append(line)
            if " ready." in line:
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost host would: no cleanup, no ack."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def purge_broker() -> None:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


@pytest.fixture
def worker_env(portal, live_server) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({name: str(value) for name, value in FAST_SYNC.items()})
    env.update(
        DATABASE_URL=_database_url(),
        SANDBOX_BASE_URL=live_server.url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        VAR_DIR=str(django_settings.VAR_DIR),
        PROVIDERS=",".join(django_settings.PROVIDERS),
        # The form of Spark's API and its report units: the test's, as its sandbox serves.
        SPARK_API=django_settings.SPARK_API,
        SPARK_REPORT_UNITS=django_settings.SPARK_REPORT_UNITS,
    )
    return env


@pytest.fixture
def start_worker(worker_env):
    """Start real worker processes (any number, with extra env); all stopped after."""
    workers: list[WorkerProcess] = []
    purge_broker()

    def start(**extra_env) -> WorkerProcess:
        env = {**worker_env, **{k: str(v) for k, v in extra_env.items()}}
        worker = WorkerProcess(env).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        # Killed, not stopped: a warm shutdown waits for the task in hand (seconds, in a
        # test that just left one backing off), and the next test purges the broker and
        # starts from an empty database anyway.
        if worker.process and worker.process.poll() is None:
            worker.kill()
        print("".join(worker.log[-60:]))  # shown when the test failed


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker()


@pytest.fixture
def spark(portal, live_server) -> SandboxControl:
    """The Spark sandbox's control side; the portal's settings point at the live server."""
    return SandboxControl(live_server.url, "spark")


@pytest.fixture
def spark_guide(settings):
    """Spark's guide form (SPARK_API=guide) for the portal, its sandbox and its workers."""
    settings.SPARK_API = "guide"
    return settings


@pytest.fixture
def loopback():
    """A loopback HTTP server answering as scripted (tests/loopback.py)."""
    from .loopback import LoopbackServer

    server = LoopbackServer()
    yield server
    server.stop()
