"""What /readyz checks, each answering (ok, what it found) in a second or two at most.

- database: one `SELECT 1`.
- broker: Redis answers PING (or, on embedded defaults, the broker folder is writable;
  any other broker: kombu connects).
- beat: the outbox sweep ran within three sweep intervals (heartbeat written by it).
- platforms: each enabled platform is connected (its credentials were not refused) and
  has not been failing: its last call that went wrong (no answer, 5xx, 401, 429) is not
  newer than its last good answer by more than READYZ_PLATFORM_FAILING_SECONDS.
  A platform never called yet is fine (nothing to say yet).
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from providers import registry

from . import heartbeats

TIMEOUT_SECONDS = 2.0
CHECKS = ("database", "broker", "beat", "platforms")


@dataclass
class Check:
    ok: bool
    detail: str

    def as_json(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check(False, f"database unreachable: {type(exc).__name__}: {exc}"[:300])
    return Check(True, f"{connection.vendor} answers")


def broker() -> Check:
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    try:
        if scheme in ("redis", "rediss"):
            import redis

            client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
            )
            try:
                client.ping()
            finally:
                client.close()
            return Check(True, f"redis at {_where(url)} answers PING")
        if scheme == "filesystem":
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            if not os.access(folder, os.W_OK):
                return Check(False, f"broker folder {folder} is not writable")
            return Check(True, f"filesystem broker at {folder}")
        from portal.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
        return Check(True, f"{scheme} broker at {_where(url)} connects")
    except Exception as exc:  # every transport raises its own kind
        return Check(False, f"broker unreachable at {_where(url)}: {type(exc).__name__}: {exc}")


def _where(url: str) -> str:
    """host:port/db of a broker URL, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}{parts.path}"


def beat(beats: dict, now) -> Check:
    interval = settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]["schedule"]
    limit = 3 * float(getattr(interval, "total_seconds", lambda: interval)())
    last = beats.get(heartbeats.SWEEP)
    if last is None:
        return Check(False, "beat has not swept the outbox yet (is `celery beat` running?)")
    age = (now - last.at).total_seconds()
    if age > limit:
        return Check(False, f"beat's last sweep was {age:.0f} s ago (limit {limit:.0f} s)")
    return Check(True, f"last sweep {age:.0f} s ago")


def platforms(beats: dict, now) -> dict[str, Check]:
    from onboarding.sync.models import ProviderConnection

    disconnected = dict(
        ProviderConnection.objects.filter(
            status=ProviderConnection.Status.DISCONNECTED
        ).values_list("provider", "status_message")
    )
    found = {}
    for name in registry.enabled():
        ok = beats.get(heartbeats.platform_ok(name))
        bad = beats.get(heartbeats.platform_failed(name))
        last_ok = f"last successful call {ok.at.isoformat()}" if ok else "no successful call yet"
        if name in disconnected:
            found[name] = Check(False, f"disconnected: {disconnected[name]}"[:300])
        elif _failing(ok, bad, now):
            found[name] = Check(False, f"failing: {bad.detail} at {bad.at.isoformat()}; {last_ok}")
        else:
            found[name] = Check(True, last_ok)
    return found


def _failing(ok, bad, now) -> bool:
    """Its latest call that went wrong came after its latest good answer, and that good
    answer is older than READYZ_PLATFORM_FAILING_SECONDS (or there never was one)."""
    if bad is None or (ok is not None and ok.at >= bad.at):
        return False
    if ok is None:
        return True
    return (now - ok.at).total_seconds() > settings.READYZ_PLATFORM_FAILING_SECONDS


def run(only: list[str] | None = None) -> tuple[bool, dict]:
    """(ready, {check: result}) for the checks asked for (all by default)."""
    wanted = [c for c in (only or CHECKS) if c in CHECKS]
    results: dict = {}
    if "database" in wanted:
        results["database"] = database()
    if "broker" in wanted:
        results["broker"] = broker()
    needs_db = {"beat", "platforms"} & set(wanted)
    if needs_db:
        if results.get("database", Check(True, "")).ok:
            try:
                beats, now = heartbeats.latest(), timezone.now()
                if "beat" in wanted:
                    results["beat"] = beat(beats, now)
                if "platforms" in wanted:
                    results["platforms"] = platforms(beats, now)
            except DatabaseError as exc:
                for name in needs_db:
                    results[name] = Check(False, f"database unreachable: {type(exc).__name__}")
        else:
            for name in needs_db:
                results[name] = Check(False, "not checked: the database is unreachable")
    ready = all(
        all(c.ok for c in value.values()) if isinstance(value, dict) else value.ok
        for value in results.values()
    )
    return ready, results
