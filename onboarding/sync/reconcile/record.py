"""Keeping what a comparison found: a Comparison, the drifts (opened, seen again,
resolved), and each compared row's view of the platform, which its badge shows:
"missing on <platform>" (the row needs attention at once, with Re-create), "differs on
<platform>" with both values, "not sent: <why>", or nothing when it holds ours.

Read only towards the platform: nothing here sends anything.
"""

from django.db import transaction
from django.db.models.functions import Now
from django.utils.timezone import localtime

from providers import registry

from .. import recorder
from ..models import SyncRecord
from .compare import DIFFERENT, EXTRA, MISSING, Finding, PlatformReport
from .models import Comparison, Drift

State = SyncRecord.State
RemoteState = SyncRecord.RemoteState
CHUNK = 1000


def record(report: PlatformReport, *, started_by: str = "") -> Comparison:
    """Keep the report. An unreadable platform changes no row and no drift. The
    Comparison is written with the rows' marks, in one transaction: once it is there,
    so is everything it found (the drift page waits for it)."""
    readable = report.readable
    if not readable:
        outcome = Comparison.Outcome.UNREADABLE
    elif report.findings:
        outcome = Comparison.Outcome.DIFFERS
    else:
        outcome = Comparison.Outcome.SAME
    recorder.save(report.calls, report.platform)
    with transaction.atomic():
        if readable:
            _keep_drifts(report)
            _mark_rows(report)
        return Comparison.objects.create(
            provider=report.platform,
            started_at=report.started_at,
            finished_at=report.finished_at,
            outcome=outcome,
            error=report.error,
            started_by=started_by[:150],
            missing=len(report.of_kind(MISSING)),
            extra=len(report.of_kind(EXTRA)),
            different=len(report.of_kind(DIFFERENT)),
            same=len(report.same),
            calls=len(report.calls),
            not_listed=report.not_listed,
        )


def open_trouble(report: PlatformReport) -> list[Finding]:
    """The findings a person has not settled (left alone, accepted as is)."""
    return [f for f in report.findings if not (f.drift and f.drift.settled_by_person)]


# --- drifts -------------------------------------------------------------------------------
def _identity(finding: Finding) -> tuple:
    row = finding.row
    if finding.kind == EXTRA:
        return (EXTRA, finding.remote.id)
    return (finding.kind, row.pk, row.remote_id)


def _drift_identity(drift: Drift) -> tuple:
    if drift.kind == EXTRA:
        return (EXTRA, drift.remote_id)
    return (drift.kind, drift.sync_record_id, drift.remote_id)


def _details(finding: Finding) -> dict:
    if finding.kind == DIFFERENT:
        return {d.key: d.as_json() for d in finding.differences}
    if finding.kind == EXTRA:
        return {"fields": finding.remote.fields, "parent_id": finding.remote.parent_id}
    return {"reason": finding.reason} if finding.reason else {}


def _keep_drifts(report: PlatformReport) -> None:
    now = report.finished_at
    open_drifts = {
        _drift_identity(d): d
        for d in Drift.objects.filter(provider=report.platform, resolved_at=None)
    }
    seen = set()
    for finding in report.findings:
        key = _identity(finding)
        seen.add(key)
        drift = open_drifts.get(key)
        fields = {
            "details": _details(finding),
            "adoptable": finding.adoptable,
            "last_seen_at": now,
            "object_repr": (finding.name if finding.ours else finding.remote.label)[:300],
            "sync_record": finding.row,
        }
        if drift is None:
            drift = Drift.objects.create(
                provider=report.platform,
                kind=finding.kind,
                content_type_id=finding.row.content_type_id if finding.row else None,
                object_id=finding.row.object_id if finding.row else None,
                remote_id=finding.remote.id if finding.kind == EXTRA else finding.row.remote_id,
                first_seen_at=now,
                **fields,
            )
        else:
            for name, value in fields.items():
                setattr(drift, name, value)
            drift.save(update_fields=list(fields))
        finding.drift = drift
    gone = [d.pk for key, d in open_drifts.items() if key not in seen]
    Drift.objects.filter(pk__in=gone).update(resolved_at=now)


# --- rows -----------------------------------------------------------------------------------
def _unclaimed(pks):
    return SyncRecord.objects.filter(pk__in=pks, claim_token__isnull=True)


def _mark_rows(report: PlatformReport) -> None:
    label = registry.label(report.platform)
    when = localtime(report.finished_at).strftime("%Y-%m-%d %H:%M:%S")
    for finding in report.findings:
        if finding.row is None or (finding.drift and finding.drift.settled_by_person):
            continue
        if finding.kind == MISSING:
            # Needs a person at once: a row that says synced for something gone is the
            # very thing this is for. Not while a push holds it (the push will learn).
            _unclaimed([finding.row.pk]).exclude(state=State.IN_FLIGHT).update(
                state=State.NEEDS_ATTENTION,
                remote_state=RemoteState.MISSING,
                remote_diff=None,
                compared_at=Now(),
                last_error=(
                    f"Missing on {label}: it no longer holds it (compared {when}"
                    + (f"; {finding.reason}" if finding.reason else "")
                    + "). Re-create makes it again there, with what hangs under it."
                ),
            )
        elif finding.kind == DIFFERENT:
            state = RemoteState.DIFFERS if finding.pushable else RemoteState.NOT_SENT
            rows = _unclaimed([finding.row.pk])
            diff = {d.key: d.as_json() for d in finding.differences}
            # A row the outbox could not move keeps saying so (its fix is not a push).
            rows.filter(remote_state=RemoteState.CANNOT_MOVE).update(
                remote_diff=diff, compared_at=Now()
            )
            rows.exclude(remote_state=RemoteState.CANNOT_MOVE).update(
                remote_state=state, remote_diff=diff, compared_at=Now()
            )
    same = [row.pk for row in report.same]
    for start in range(0, len(same), CHUNK):
        chunk = same[start : start + CHUNK]
        # Found again (restored from a backup): missing no more.
        _unclaimed(chunk).filter(remote_state=RemoteState.MISSING).update(
            state=State.SYNCED, last_error=""
        )
        # A row that could not be moved keeps saying so until a person decides.
        _unclaimed(chunk).exclude(remote_state=RemoteState.CANNOT_MOVE).update(
            remote_state=RemoteState.SAME, remote_diff=None, compared_at=Now()
        )
