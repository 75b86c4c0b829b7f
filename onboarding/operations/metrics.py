"""The counters and histograms the portal's processes add to (prometheus_client).

Every process counts for itself. With PROMETHEUS_MULTIPROC_DIR set (gunicorn with
several workers, Celery's prefork pool), each writes its counts to files in that folder
and /metrics adds them up (prometheus_client's multiprocess mode); without it, /metrics
shows the serving process alone. Gauges of what the database holds are not here: they are
read at scrape time (collectors.py), so they are true whichever process serves /metrics.

Names are documented in docs/operations.md, with what to alert on.
"""

from prometheus_client import Counter, Histogram

PLATFORM_REQUESTS = Counter(
    "portal_platform_requests",
    "HTTP calls to a platform, by the status it answered ('none': no answer came back).",
    ["platform", "method", "status"],
)
PLATFORM_LATENCY = Histogram(
    "portal_platform_request_duration_seconds",
    "How long a platform took to answer a call (or to fail), in seconds.",
    ["platform"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SYNC_PUSHES = Counter(
    "portal_sync_pushes",
    "Outbox attempts that ran, by how the row ended: synced, pending (retry or waiting), "
    "failed, needs_attention, in_flight (claim lost to another worker).",
    ["platform", "outcome"],
)
READINGS_INGESTED = Counter(
    "portal_readings_ingested",
    "Meter readings received (new or already stored), by source and whether their device "
    "is linked ('yes') or waits unmatched ('no').",
    ["source", "matched"],
)


def call_observer(platform: str, then=None):
    """A client's `on_call` hook that counts the call, then hands it on to `then` (the
    call log). Also notes the platform's last good and bad answer for /readyz."""
    from . import heartbeats

    ok_name, failed_name = heartbeats.platform_ok(platform), heartbeats.platform_failed(platform)
    last = {"name": ""}  # the heartbeat this client wrote last: a change is written at once

    def note(name: str, detail: str = "") -> None:
        changed = last["name"] != name
        last["name"] = name
        heartbeats.beat(name, detail, throttle=0 if changed else heartbeats.THROTTLE_SECONDS)

    def on_call(call) -> None:
        status = str(call.status) if call.status is not None else "none"
        PLATFORM_REQUESTS.labels(platform, call.method, status).inc()
        PLATFORM_LATENCY.labels(platform).observe(call.duration_ms / 1000)
        if call.status is not None and call.status < 400:
            note(ok_name)
        elif call.status is None or call.status >= 500 or call.status in (401, 429):
            # Not a refused payload (a 4xx about one object): the platform itself, or
            # our access to it, is in trouble.
            note(failed_name, f"{call.method} {call.path}: {status} {call.error}")
        if then is not None:
            then(call)

    return on_call


def sync_outcome(platform: str, state: str) -> None:
    SYNC_PUSHES.labels(platform, state).inc()


def readings_ingested(source: str, matched: int, unmatched: int) -> None:
    if matched:
        READINGS_INGESTED.labels(source, "yes").inc(matched)
    if unmatched:
        READINGS_INGESTED.labels(source, "no").inc(unmatched)
