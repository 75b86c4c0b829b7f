"""Fault switches and latency: a sandbox misbehaving on purpose, as set over HTTP.

A fault is consumed with a conditional UPDATE (`remaining > 0` → `remaining - 1`), which
the database applies atomically, so two concurrent requests never both take the last one.
"""

import time

from django.conf import settings
from django.db.models import F

from .models import Fault, Latency


def current_latency_ms(platform: str) -> int:
    """Read on every API request: one indexed single-row query."""
    value = Latency.objects.filter(platform=platform).values_list("ms", flat=True).first()
    return settings.SANDBOX_LATENCY_MS if value is None else value


def set_latency_ms(platform: str, ms: int | None) -> None:
    if ms is None:  # back to the settings default
        Latency.objects.filter(platform=platform).delete()
    else:
        Latency.objects.update_or_create(platform=platform, defaults={"ms": ms})


def sleep_ms(ms: int) -> None:
    if ms > 0:
        time.sleep(ms / 1000)


def _matches(fault: Fault, path: str, is_token_endpoint: bool) -> bool:
    if fault.path:
        return fault.path in path
    # Without a path filter a fault hits the data endpoints only: breaking the token
    # endpoint too would turn every "fail the next create" into "fail the login".
    return not is_token_endpoint


def take_fault(platform: str, path: str, *, is_token_endpoint: bool = False) -> Fault | None:
    """Consume one pending fault matching this request (oldest first), if any."""
    for fault in Fault.objects.filter(platform=platform, remaining__gt=0).order_by("pk"):
        if not _matches(fault, path, is_token_endpoint):
            continue
        taken = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            return fault
        # Another request took the last one between our read and our update: try the next.
    return None


def describe(fault: Fault) -> dict:
    return {
        "id": fault.pk,
        "mode": fault.mode,
        "remaining": fault.remaining,
        "status": fault.status if fault.mode == Fault.ERROR else None,
        "retry_after": fault.retry_after if fault.mode == Fault.RATE_LIMIT else None,
        "delay": fault.delay if fault.mode == Fault.TIMEOUT else None,
        "path": fault.path or None,
        "created_at": fault.created_at.isoformat(),
    }


def pending(platform: str) -> list[dict]:
    return [describe(f) for f in Fault.objects.filter(platform=platform, remaining__gt=0)]


def parse_fault(data) -> tuple[dict[str, list[str]], dict]:
    """Check a `POST /_sandbox/faults` body; returns (errors, Fault field values)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return {"$": ["Expected a JSON object."]}, {}
    mode = data.get("mode")
    if mode not in dict(Fault.MODES):
        errors["mode"] = ["mode must be one of error, rate_limit, timeout, maintenance."]
    values = {"mode": mode}

    def number(name, default, *, integer, low, high):
        value = data.get(name, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and integer:
            ok = isinstance(value, int)
        if not ok or value < low or value > high:
            errors[name] = [f"{name} must be a number between {low} and {high}."]
            return default
        return value

    values["remaining"] = number("count", 1, integer=True, low=1, high=10_000)
    values["status"] = number("status", 500, integer=True, low=400, high=599)
    values["retry_after"] = number("retry_after", 1, integer=True, low=0, high=86_400)
    values["delay"] = number("delay", 5, integer=False, low=0, high=600)
    path = data.get("path") or ""
    if not isinstance(path, str):
        errors["path"] = ["path must be a string."]
        path = ""
    values["path"] = path
    return errors, values
