"""How an outbox row is put into words, for the admin and the operators' commands:
labels rather than codes, times to the second, the next try relative to now. In the
admin's language (the commands run in English, the default language)."""

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from providers import coverage

from . import sync_words
from .sync.models import SyncRecord

State = SyncRecord.State

STATE_LABELS = {
    State.PENDING: gettext_lazy("Pending"),
    State.IN_FLIGHT: gettext_lazy("In flight"),
    State.SYNCED: gettext_lazy("Synced"),
    State.FAILED: gettext_lazy("Failed"),
    State.NEEDS_ATTENTION: gettext_lazy("Needs attention"),
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
    """A time to the second, in the portal's time zone and the page's language: the one
    format of the pages and the admin (portal/formats/), e.g. 4 Mar 2025, 14:05:09."""
    if when is None:
        return empty
    return date_format(localtime(when), "DATETIME_FORMAT")


def iso(when: datetime | None, empty: str = "—") -> str:
    """A time to the second for operators' commands and logs: 2025-03-04 14:05:09."""
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
    days = hours // 24
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}


def relative(when: datetime | None, now: datetime | None = None) -> str:
    """The time from now in words: "in 40 s", "in 5 min", "12 s ago", "just now"."""
    if when is None:
        return ""
    delta = (when - (now or timezone.now())).total_seconds()
    if 0 < delta < 1:
        return _("in under 1 s")
    if -1 < delta <= 0:
        return _("just now")
    if delta > 0:
        return _("in %(time)s") % {"time": _duration(delta)}
    return _("%(time)s ago") % {"time": _duration(-delta)}


def state_label(row: SyncRecord, *, full: bool = False) -> str:
    """A row's state in words: "Needs attention", "In flight (delete)", "Synced
    (accepted as is)"; `full` takes the model's longer labels ("Failed (fix the data)")."""
    text = row.get_state_display() if full else STATE_LABELS.get(row.state, row.state)
    notes = []
    if row.operation == SyncRecord.Operation.DELETE:
        notes.append(_("delete"))
    if row.state == State.SYNCED and row.dismissed_at is not None:
        notes.append(_("accepted as is"))
    if row.outcome_unknown and not row.remote_id and row.last_error.startswith("Deleted on "):
        notes.append(_("deleted there (404)"))  # not a create that got no answer
    elif row.outcome_unknown:
        notes.append(_("outcome unknown"))
    if row.state == State.NEEDS_ATTENTION and row.waiting_for_parent:
        notes.append(_("waits for its parent, goes on by itself"))
    # What the last comparison (reconcile) found, or what the platform could not take:
    # never a plain "Synced".
    if row.remote_state:
        notes.append(str(row.get_remote_state_display()).lower())
    elif row.not_sent:
        notes.append(_("not sent: %(why)s") % {"why": sync_words.translate(row.not_sent)})
    return f"{text} ({', '.join(notes)})" if notes else str(text)


def next_try(row: SyncRecord, now: datetime | None = None) -> str:
    """When a pending row goes next: "in 40 s" (a backoff), "now" (due), "" otherwise."""
    if row.state != State.PENDING:
        return ""
    now = now or timezone.now()
    if row.not_before is None or row.not_before <= now:
        return DUE_NOW
    return relative(row.not_before, now)


DUE_NOW = gettext_lazy("due now")


def badge(row: SyncRecord, now: datetime | None = None) -> dict:
    """One platform's badge: text, colour, tooltip (the last error, the exact times)."""
    text = f"{coverage.label(row.provider)}: {state_label(row)}"
    retry = next_try(row, now)
    if retry and retry != DUE_NOW:
        text += ", " + _("next try %(when)s") % {"when": retry}
    tooltip = [sync_words.translate(row.last_error)] if row.last_error else []
    if row.state == State.PENDING and row.not_before:
        tooltip.append(_("Next try %(when)s") % {"when": exact(row.not_before)})
    if row.last_synced_at:
        tooltip.append(_("Last synced %(when)s") % {"when": exact(row.last_synced_at)})
    if row.dismissed_at:
        tooltip.append(
            _("Accepted as is by %(who)s at %(when)s")
            % {"who": row.dismissed_by, "when": exact(row.dismissed_at)}
        )
    return {
        "text": text,
        "colour": STATE_COLOURS.get(row.state, "inherit"),
        "title": "\n".join(tooltip),
    }


def taker_badge(taker: coverage.Taker) -> dict:
    """A platform that takes the model but is not in use: grey, with why."""
    status = _("not enabled") if taker.status == taker.DISABLED else _("not in this release")
    return {"text": f"{taker.label}: {status}", "colour": GREY, "title": taker_note(taker)}


def taker_note(taker: coverage.Taker) -> str:
    """ "Spark takes this, but Spark is not enabled (PROVIDERS).", in the admin's words."""
    if taker.status == taker.DISABLED:
        return _("%(platform)s takes this, but %(platform)s is not enabled (PROVIDERS).") % {
            "platform": taker.label
        }
    return ""
