"""Every change staff make goes through here: the model and its outbox rows change in
one transaction, and the platforms hear of it only once that transaction commits."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from providers import registry

from .models import Space
from .sync import outbox
from .sync.models import SyncRecord

State = SyncRecord.State


class DeletionRefused(Exception):
    """A platform cannot delete this object; the reason says what staff can do."""


ADDRESS_FIELDS = ("address_line_one", "address_line_two", "postcode", "city")


def save(obj, *, validate: bool = True):
    """Validate, save and mark for sync; a building's units follow its address."""
    if obj.deletion_requested_at:
        raise ValueError(f"{obj} is being deleted and cannot be changed.")
    if validate:
        obj.full_clean()
    with transaction.atomic():
        if obj.pk and _deletion_requested(obj):  # staff deleted it in another tab meanwhile
            raise ValueError(f"{obj} is being deleted and cannot be changed.")
        moved = isinstance(obj, Space) and obj.is_building and _address_changed(obj)
        obj.save()
        changed = [obj]
        if moved:
            # Units without an address of their own are sent with the building's.
            changed += list(obj.units.select_related("parent"))
        outbox.mark_pending(changed)
    return obj


def _deletion_requested(obj) -> bool:
    rows = type(obj)._default_manager.select_for_update().filter(pk=obj.pk)
    return rows.filter(deletion_requested_at__isnull=False).exists()


def _address_changed(building: Space) -> bool:
    if building.pk is None:
        return False
    before = Space.objects.filter(pk=building.pk).values(*ADDRESS_FIELDS).first()
    return before != {field: getattr(building, field) for field in ADDRESS_FIELDS}


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
            if handler is not None and not handler.supports_delete:
                raise DeletionRefused(handler.delete_refusal)
        if not remote:
            _refuse_if_dependants_are_remote(obj)
            obj.delete()
            return True
        obj.deletion_requested_at = timezone.now()
        obj.save(update_fields=["deletion_requested_at"])
        # Rows that never reached a platform have nothing to undo there.
        SyncRecord.objects.filter(pk__in=[r.pk for r in rows if r not in remote]).delete()
        ids = [r.pk for r in remote]
        outbox.make_due(
            SyncRecord.objects.filter(pk__in=ids), operation=SyncRecord.Operation.DELETE
        )
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return False


def _refuse_if_dependants_are_remote(obj) -> None:
    """An object no platform has may still have units or devices that one has: deleting
    it here would orphan them there, so staff delete those first."""
    for provider in registry.providers_for(type(obj)):
        for model, pks in registry.handler(provider, type(obj)).dependants(obj):
            on_platform = SyncRecord.objects.filter(
                provider=provider,
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=pks,
            ).exclude(remote_id="", outcome_unknown=False)
            if on_platform.exists():
                names = ", ".join(on_platform.values_list("object_repr", flat=True)[:3])
                raise DeletionRefused(
                    f"{obj} is not on {registry.label(provider)}, but some of what it holds "
                    f"is ({names}). Delete those first."
                )


RETRYABLE = (State.FAILED, State.NEEDS_ATTENTION, State.PENDING)


def retry(records) -> int:
    """Staff's "retry": failed, stuck or waiting rows go again now.

    Where the platform has no way to look an object up (Zählerfreunde invites), a
    retry after an unknown outcome is staff's decision to send it once more.
    """
    rows = SyncRecord.objects.filter(
        pk__in=[r.pk for r in records], state__in=RETRYABLE
    ).select_related("content_type")
    # Only once staff were told "ask the tenant" (needs attention), never while the row
    # is still retrying on its own: then a blind resend could e-mail the tenant twice.
    blind = [
        r.pk
        for r in rows
        if r.state == State.NEEDS_ATTENTION
        and not registry.handler(r.provider, r.content_type.model_class()).supports_lookup
    ]
    with transaction.atomic():
        ids = list(rows.values_list("pk", flat=True))
        outbox.make_due(rows)
        SyncRecord.objects.filter(pk__in=blind).update(outcome_unknown=False)
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return len(ids)
