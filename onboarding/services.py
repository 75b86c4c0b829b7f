"""Every change staff make goes through here: the model and its outbox rows change in
one transaction, and the platforms hear of it only once that transaction commits."""

from django.db import transaction
from django.utils import timezone

from providers import registry

from .models import Space
from .sync import outbox
from .sync.models import SyncRecord

State = SyncRecord.State


class DeletionRefused(Exception):
    """A platform cannot delete this object; the reason says what staff can do."""


def save(obj, *, validate: bool = True):
    """Validate, save and mark for sync; a building's units follow its address."""
    if obj.deletion_requested_at:
        raise ValueError(f"{obj} is being deleted and cannot be changed.")
    if validate:
        obj.full_clean()
    with transaction.atomic():
        obj.save()
        changed = [obj]
        if isinstance(obj, Space) and obj.is_building:
            # Units without an address of their own are sent with the building's.
            changed += list(obj.units.select_related("parent"))
        outbox.mark_pending(changed)
    return obj


def delete(obj) -> bool:
    """Delete now if no platform has it; otherwise tell the platforms first.

    Returns True when the object is gone at once, False when its deletion waits for
    the platforms. Raises DeletionRefused when a platform has no way to delete it.
    """
    with transaction.atomic():
        rows = list(obj.sync_records.select_for_update())
        remote = [r for r in rows if r.remote_id or r.outcome_unknown or r.state == State.IN_FLIGHT]
        for row in remote:
            handler = registry.handler(row.provider, type(obj))
            if handler is not None and not getattr(handler, "supports_delete", True):
                raise DeletionRefused(handler.delete_refusal)
        if not remote:
            obj.delete()
            return True
        obj.deletion_requested_at = timezone.now()
        obj.save(update_fields=["deletion_requested_at"])
        # Rows that never reached a platform have nothing to undo there.
        SyncRecord.objects.filter(pk__in=[r.pk for r in rows if r not in remote]).delete()
        ids = [r.pk for r in remote]
        SyncRecord.objects.filter(pk__in=ids).update(
            operation=SyncRecord.Operation.DELETE,
            state=State.PENDING,
            not_before=timezone.now(),
            queued_at=timezone.now(),
            attempts=0,
            last_error="",
        )
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return False


def retry(records) -> int:
    """Staff's "retry": failed or stuck rows go again now.

    Where the platform has no way to look an object up (Zählerfreunde invites), a
    retry after an unknown outcome is staff's decision to send it once more.
    """
    ids = []
    with transaction.atomic():
        for row in records:
            if row.state == State.IN_FLIGHT:
                continue
            handler = registry.handler(row.provider, row.content_type.model_class())
            blind = handler is not None and not getattr(handler, "supports_lookup", True)
            SyncRecord.objects.filter(pk=row.pk).update(
                state=State.PENDING,
                not_before=timezone.now(),
                queued_at=timezone.now(),
                attempts=0,
                last_error="",
                outcome_unknown=False if blind else row.outcome_unknown,
            )
            ids.append(row.pk)
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return len(ids)
