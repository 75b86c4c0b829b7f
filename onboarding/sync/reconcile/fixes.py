"""What is done about drift, always through the outbox (claimed, retried and logged like
any other change), and recorded on the drift with who did it and when.

- Re-create: the object is made again on the platform with everything that hangs under
  it there (a space's units, devices and invites; a tenant's meters and resources): the
  platform took those with it, so their rows are made to create them again too.
- Re-create under the new parent: for a platform that cannot move an object, the old
  one (ours: we made it) is deleted and a new one made under the new parent.
- Send ours: the object is pushed again as we hold it (an update).
- Adopt: an extra object carrying our key becomes the row's remote object.
- Leave (not ours) and Accept as is: a person decided; nothing is sent, nothing deleted.
Nothing here ever deletes a remote object we did not create.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from providers import registry

from .. import outbox
from ..models import SyncRecord
from .models import Drift

State = SyncRecord.State
RemoteState = SyncRecord.RemoteState
# What a row forgets about its remote object when it is to be made again.
FORGET = {
    "remote_id": "",
    "outcome_unknown": False,
    "attempt_payload": None,
    "payload_hash": "",
    "sent_parent_id": "",
    "remote_state": RemoteState.SAME,
    "remote_diff": None,
    "not_sent": "",
}


def descendants(row: SyncRecord) -> list[SyncRecord]:
    """The rows, on the same platform, of everything under the row's object there."""
    found: list[SyncRecord] = []
    queue = [row]
    while queue:
        current = queue.pop()
        model = current.content_type.model_class()
        handler = registry.handler(current.provider, model)
        obj = model._default_manager.filter(pk=current.object_id).first()
        if handler is None or obj is None:
            continue
        for dependant, pks in handler.dependants(obj):
            child_handler = registry.handler(current.provider, dependant)
            if child_handler is None or not child_handler.goes_with_parent:
                continue  # not held under it there (a Spark report outlives its vehicle)
            children = SyncRecord.objects.filter(
                provider=current.provider,
                content_type=ContentType.objects.get_for_model(dependant),
                object_id__in=pks,
                operation=SyncRecord.Operation.UPSERT,
            ).select_related("content_type")
            for child in children:
                found.append(child)
                queue.append(child)
    return found


def recreate(rows, *, who: str = "") -> list[int]:
    """Make the rows' objects again on their platforms, with what hangs under them.

    The rows (and their descendants') forget their remote objects and go pending; only
    rows whose parent is on the platform are queued now, the rest are handed over by
    their parent's sync (outbox order). A row that came from a 404 keeps its "look
    first" (its object may have come back). Returns the ids of every row made pending.
    """
    rows = [r for r in rows if r.operation == SyncRecord.Operation.UPSERT]
    made: list[int] = []
    with transaction.atomic():
        for row in rows:
            if row.pk in made:
                continue  # under another row made again here
            forget = {**FORGET, "outcome_unknown": row.outcome_unknown and not row.remote_id}
            outbox.make_due(_unclaimed(row.pk), **forget)
            made += [row.pk, *forget_descendants(row)]
        _record(rows, Drift.Fix.RECREATE, who)
        ready = [row.pk for row in rows if _parent_is_there(row)]
        transaction.on_commit(lambda: outbox.enqueue(ready))
    return made


def forget_descendants(row: SyncRecord) -> list[int]:
    """Everything under the row's object on its platform is to be made again under it
    (the platform took it with it): pending, not queued (its parent's create hands each
    over). Returns their row ids."""
    children = [child.pk for child in descendants(row)]
    if children:
        outbox.make_due(_unclaimed(children), **FORGET)
        SyncRecord.objects.filter(pk__in=children).update(queued_at=None)
    return children


def recreate_under_new_parent(row: SyncRecord, *, who: str = "") -> list[int]:
    """For a platform that cannot move it: delete the one we made under the old parent,
    then make it under the new one (the engine does both, in that order)."""
    with transaction.atomic():
        _unclaimed(row.pk).update(replaces_remote_id=row.remote_id)
        ids = recreate([row], who=who)
        _record([row], Drift.Fix.RECREATE_UNDER_PARENT, who)
    return ids


def push_ours(row: SyncRecord, *, remote_parent_id: str | None = None, who: str = "") -> bool:
    """Send the object again as we hold it; moved there to another parent, it is moved
    back (the engine moves what was last sent under another parent)."""
    changes = {"payload_hash": ""}
    if remote_parent_id:
        changes["sent_parent_id"] = remote_parent_id
    with transaction.atomic():
        done = outbox.make_due(_unclaimed(row.pk), **changes)
        _record([row], Drift.Fix.PUSH, who)
        transaction.on_commit(lambda: outbox.enqueue([row.pk]))
    return bool(done)


def adopt(drift: Drift, *, who: str = "") -> bool:
    """The extra object carries our key for the drift's row: it becomes the row's
    remote object, and ours is sent to it (an update), as after a lost create."""
    row = drift.sync_record
    if row is None or not drift.adoptable:
        return False
    held = drift.details.get("fields") or {}
    with transaction.atomic():
        done = _unclaimed(row.pk).update(
            remote_id=drift.remote_id,
            outcome_unknown=False,
            # What it holds is what it was made from, for what it takes only then.
            attempt_payload=held,
            sent_parent_id=drift.details.get("parent_id") or "",
            remote_state=RemoteState.SAME,
            remote_diff=None,
        )
        if done:
            outbox.make_due(_unclaimed(row.pk), payload_hash="")
            transaction.on_commit(lambda: outbox.enqueue([row.pk]))
        settle(drift, Drift.Fix.ADOPT, who)
    return bool(done)


def leave(drift: Drift, *, who: str = "") -> None:
    """An extra object that is not ours: it stays there, and stops counting."""
    settle(drift, Drift.Fix.LEAVE, who)


def accept(drift: Drift, *, who: str = "") -> None:
    """A difference a person accepts as it is (the platform keeps its value, or a change
    stays not sent): it stops counting, and the row's badge says synced, accepted as is,
    by whom. The next change of the object is sent (and compared) again."""
    with transaction.atomic():
        settle(drift, Drift.Fix.ACCEPT, who)
        if drift.sync_record_id:
            SyncRecord.objects.filter(pk=drift.sync_record_id).update(
                remote_state=RemoteState.SAME,
                not_sent="",
                dismissed_at=Now(),
                dismissed_by=who[:150],
            )


def accept_where_it_is(row: SyncRecord, *, who: str = "") -> int:
    """A row that cannot be moved to its new parent there, accepted where it is: it no
    longer tries to move (its last parent there counts as sent)."""
    from ..attention import accept_as_is
    from ..engine import remote_id_of

    model = row.content_type.model_class()
    handler = registry.handler(row.provider, model)
    obj = model._default_manager.filter(pk=row.object_id).first()
    with transaction.atomic():
        accepted = accept_as_is([row], who)
        if accepted and obj is not None:
            parent = handler.parent(obj)
            new_parent = remote_id_of(parent, row.provider) if parent is not None else ""
            SyncRecord.objects.filter(pk=row.pk).update(
                sent_parent_id=new_parent, remote_state=RemoteState.SAME
            )
        _record([row], Drift.Fix.ACCEPT, who)
    return accepted


def settle(drift: Drift, fix: str, who: str) -> None:
    Drift.objects.filter(pk=drift.pk).update(fix=fix, fixed_by=who[:150], fixed_at=timezone.now())
    drift.fix, drift.fixed_by = fix, who[:150]


def _record(rows, fix: str, who: str) -> None:
    """The fix, on each row's open drift, so the page shows who did it."""
    for row in rows:
        settle(drift_for(row), fix, who)


def drift_for(row: SyncRecord) -> Drift:
    """The row's open drift; one is opened for trouble the outbox found by itself (a
    404, a refused move, a change it could not send) rather than a comparison."""
    drift = Drift.objects.filter(sync_record=row, resolved_at=None).first()
    if drift is not None:
        return drift
    now = timezone.now()
    missing = row.remote_state == RemoteState.MISSING
    return Drift.objects.create(
        provider=row.provider,
        kind=Drift.Kind.MISSING if missing else Drift.Kind.DIFFERENT,
        content_type_id=row.content_type_id,
        object_id=row.object_id,
        sync_record=row,
        object_repr=row.object_repr,
        remote_id=row.remote_id,
        details=row.remote_diff or ({"reason": row.last_error[:500]} if row.last_error else {}),
        first_seen_at=now,
        last_seen_at=now,
    )


def _unclaimed(pks):
    """Rows no worker holds now: a fix never changes a row under a push."""
    pks = [pks] if isinstance(pks, int) else list(pks)
    return SyncRecord.objects.filter(pk__in=pks, claim_token__isnull=True)


def _parent_is_there(row: SyncRecord) -> bool:
    from ..engine import remote_id_of

    model = row.content_type.model_class()
    handler = registry.handler(row.provider, model)
    obj = model._default_manager.filter(pk=row.object_id).first()
    if handler is None or obj is None:
        return False
    parent = handler.parent(obj)
    return parent is None or bool(remote_id_of(parent, row.provider))


def fix_findings(findings, *, who: str) -> list[str]:
    """`reconcile --fix`: the fix of each finding a person has not settled, through the
    outbox; what only a person can decide is listed instead. One line per finding."""
    from .compare import DIFFERENT, EXTRA, MISSING

    done: list[str] = []
    recreated: set[int] = set()
    for finding in findings:
        drift = finding.drift
        if drift is not None and drift.settled_by_person:
            continue
        if finding.kind == MISSING:
            if finding.row.pk in recreated:
                settle(drift, Drift.Fix.RECREATE, who)
                done.append(f"re-created with its parent: {finding.name}")
                continue
            recreated.update(recreate([finding.row], who=who))
            done.append(f"re-created (with what hangs under it): {finding.name}")
        elif finding.kind == EXTRA and finding.adoptable:
            adopt(drift, who=who)
            done.append(f"adopted as ours: {finding.remote.describe()} for {finding.name}")
        elif finding.kind == EXTRA:
            done.append(f"left for a person (not deleted): {finding.describe()}")
        elif finding.kind == DIFFERENT and finding.row.remote_state == RemoteState.CANNOT_MOVE:
            done.append(f"left for a person (cannot be moved there): {finding.describe()}")
        elif finding.kind == DIFFERENT and finding.pushable:
            parent = next((d.theirs for d in finding.differences if d.key == "parent"), None)
            push_ours(finding.row, remote_parent_id=parent, who=who)
            done.append(f"sent ours again: {finding.name}")
        else:
            done.append(f"left for a person (cannot be sent): {finding.describe()}")
    return done
