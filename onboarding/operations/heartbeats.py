"""Noting that something happened (beat swept, a platform answered), cheaply.

A process writes a given heartbeat at most once per THROTTLE_SECONDS: a worker pushing
fifty rows a second costs one small UPSERT every half minute, not fifty. /readyz reads
them all in one query.
"""

import logging
import time

from django.db import DatabaseError
from django.utils import timezone

from .models import Heartbeat

log = logging.getLogger(__name__)
THROTTLE_SECONDS = 30.0
SWEEP = "beat:sweep"
_written: dict[str, float] = {}


def platform_ok(platform: str) -> str:
    return f"call-ok:{platform}"


def platform_failed(platform: str) -> str:
    return f"call-failed:{platform}"


def beat(name: str, detail: str = "", *, throttle: float = THROTTLE_SECONDS) -> None:
    """Record `name` as happening now (unless this process did so moments ago)."""
    now = time.monotonic()
    if throttle and now - _written.get(name, -throttle) < throttle:
        return
    _written[name] = now
    try:
        Heartbeat.objects.update_or_create(
            name=name, defaults={"at": timezone.now(), "detail": detail[:200]}
        )
    except DatabaseError:  # telling how we do must never break what we do
        log.warning("could not record heartbeat %s", name, exc_info=True)


def latest() -> dict[str, Heartbeat]:
    return {h.name: h for h in Heartbeat.objects.all()}


def forget_throttle() -> None:
    """Tests: the next beat() writes at once."""
    _written.clear()
