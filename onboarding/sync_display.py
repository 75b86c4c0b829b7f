"""How an outbox row is put into words, for the admin and the operators' commands:
labels rather than codes, times to the second, the next try relative to now."""

from datetime import datetime

from django.utils import timezone
from django.utils.timezone import localtime

from providers import coverage

from .sync.models import SyncRecord

State = SyncRecord.State

STATE_LABELS = {
    State.PENDING: "Pending",
    State.IN_FLIGHT: "In flight",
    State.SYNCED: "Synced",
    State.FAILED: "Failed",
    State.NEEDS_ATTENTION: "Needs attention",
}
STATE_COLOURS = {
    State.PENDING: "#8a5300",
    State.IN_FLIGHT: "#8a5300",
    State.SYNCED: "#2e7d32",
    State.FAILED: "#ba2121",
    State.NEEDS_ATTENTION: "#ba2121",
}
GREY = "#666"


def exact(when: datetime | None, empty: str = "—") -> str:
    """A time to the second, in the portal's time zone: 2025-03-04 14:05:09."""
    if when is None:
        return empty
    return localtime(when).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def relative(when: datetime | None, now: datetime | None = None) -> str:
    """The time from now in words: "in 40 s", "in 5 min", "12 s ago", "just now"."""
    if when is None:
        return ""
    delta = (when - (now or timezone.now())).total_seconds()
    if 0 < delta < 1:
        return "in under 1 s"
    if -1 < delta <= 0:
        return "just now"
    return f"in {_duration(delta)}" if delta > 0 else f"{_duration(-delta)} ago"


def state_label(row: SyncRecord, *, full: bool = False) -> str:
    """A row's state in words: "Needs attention", "In flight (delete)", "Synced
    (accepted as is)"; `full` takes the model's longer labels ("Failed (fix the data)")."""
    text = row.get_state_display() if full else STATE_LABELS.get(row.state, row.state)
    notes = []
    if row.operation == SyncRecord.Operation.DELETE:
        notes.append("delete")
    if row.state == State.SYNCED and row.dismissed_at is not None:
        notes.append("accepted as is")
    if row.outcome_unknown:
        notes.append("outcome unknown")
    if row.state == State.NEEDS_ATTENTION and row.waiting_for_parent:
        notes.append("waits for its parent, goes on by itself")
    return f"{text} ({', '.join(notes)})" if notes else text


def next_try(row: SyncRecord, now: datetime | None = None) -> str:
    """When a pending row goes next: "in 40 s" (a backoff), "now" (due), "" otherwise."""
    if row.state != State.PENDING:
        return ""
    now = now or timezone.now()
    if row.not_before is None or row.not_before <= now:
        return "due now"
    return relative(row.not_before, now)


def badge(row: SyncRecord, now: datetime | None = None) -> dict:
    """One platform's badge: text, colour, tooltip (the last error, the exact times)."""
    text = f"{coverage.label(row.provider)}: {state_label(row)}"
    retry = next_try(row, now)
    if retry and retry != "due now":
        text += f", next try {retry}"
    tooltip = [row.last_error] if row.last_error else []
    if row.state == State.PENDING and row.not_before:
        tooltip.append(f"Next try {exact(row.not_before)}")
    if row.last_synced_at:
        tooltip.append(f"Last synced {exact(row.last_synced_at)}")
    if row.dismissed_at:
        tooltip.append(f"Accepted as is by {row.dismissed_by} at {exact(row.dismissed_at)}")
    return {
        "text": text,
        "colour": STATE_COLOURS.get(row.state, "inherit"),
        "title": "\n".join(tooltip),
    }


def taker_badge(taker: coverage.Taker) -> dict:
    """A platform that takes the model but is not in use: grey, with why."""
    status = "not enabled" if taker.status == taker.DISABLED else "not in this release"
    return {"text": f"{taker.label}: {status}", "colour": GREY, "title": taker.note}
