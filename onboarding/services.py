"""Every change staff make goes through here: the model and its outbox rows change in
one transaction, and the platforms hear of it only once that transaction commits."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from providers import registry

from .deletion import cascade
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
        refuse_changes_platforms_cannot_take(obj)
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


def refuse_changes_platforms_cannot_take(obj) -> None:
    """A change a platform holding the object cannot apply (a device's medium on
    Zählerfreunde, an invite moved to another unit) is refused before saving, with
    the reason, instead of being reported as saved and never arriving."""
    if obj.pk is None:
        return
    holders = [
        (row.provider, registry.handler(row.provider, type(obj)))
        for row in obj.sync_records.exclude(remote_id="", outcome_unknown=False)
        if row.provider in registry.enabled()
    ]
    fixed = {f: why for _, h in holders if h is not None for f, why in h.fixed_fields.items()}
    if not fixed:
        return
    attnames = {f: type(obj)._meta.get_field(f).attname for f in fixed}
    before = type(obj)._default_manager.filter(pk=obj.pk).values(*attnames.values()).first()
    errors = {
        field: why
        for field, why in fixed.items()
        if before is not None and before[attnames[field]] != getattr(obj, attnames[field])
    }
    if errors:
        raise ValidationError(errors)


def _deletion_requested(obj) -> bool:
    rows = type(obj)._default_manager.select_for_update().filter(pk=obj.pk)
    return rows.filter(deletion_requested_at__isnull=False).exists()


def _address_changed(building: Space) -> bool:
    if building.pk is None:
        return False
    before = Space.objects.filter(pk=building.pk).values(*ADDRESS_FIELDS).first()
    return before != {field: getattr(building, field) for field in ADDRESS_FIELDS}


def delete(obj, notes: list[str] | None = None) -> bool:
    """Delete now if no platform has it; otherwise tell the platforms first, bottom-up.

    Everything that goes with it (a building's units, their devices, tenants, invites)
    is deleted on each platform by its own outbox row, children before parents; the
    local objects go once the platforms have let go of them. Returns True when the
    object is gone at once, False when its deletion waits for the platforms. Raises
    DeletionRefused when a platform has no way to delete something that would go.
    What only a disabled platform holds is let go here, with a line in `notes`.
    """
    with transaction.atomic():
        family = [obj, *cascade(obj)]
        rows = _rows_of(family)
        enabled = set(registry.enabled())
        on_platform = [
            r for r in rows if r.remote_id or r.outcome_unknown or r.state == State.IN_FLIGHT
        ]
        remote = [r for r in on_platform if r.provider in enabled]
        for row in on_platform:
            if row.provider not in enabled and notes is not None:
                notes.append(
                    f"{row.object_repr} stays on {registry.label(row.provider)}, which is not "
                    "enabled: delete it there by hand if it should go."
                )
        remote = [r for r in remote if not _voided_by_its_parent(r, rows, family)]
        for row in remote:
            handler = registry.handler(row.provider, row.content_type.model_class())
            if handler is not None and not handler.supports_delete:
                raise DeletionRefused(handler.delete_refusal)
        remote_ids = {r.pk for r in remote}
        # Rows that never reached a platform, or that the parent's deletion voids, have
        # nothing to undo there.
        SyncRecord.objects.filter(pk__in=[r.pk for r in rows if r.pk not in remote_ids]).delete()
        if not remote:
            obj.delete()
            return True
        now = timezone.now()
        for member in family:
            type(member)._default_manager.filter(pk=member.pk).update(deletion_requested_at=now)
        ids = sorted(remote_ids)
        outbox.make_due(
            SyncRecord.objects.filter(pk__in=ids), operation=SyncRecord.Operation.DELETE
        )
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return False


def _rows_of(objects: list) -> list[SyncRecord]:
    by_type: dict = {}
    for item in objects:
        by_type.setdefault(type(item), []).append(item.pk)
    query = Q(pk__in=[])
    for model, pks in by_type.items():
        query |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=pks)
    return list(SyncRecord.objects.select_for_update().filter(query).select_related("content_type"))


def _voided_by_its_parent(row: SyncRecord, rows: list[SyncRecord], family: list) -> bool:
    """An invite the platform cannot withdraw is voided when its space is deleted there:
    nothing is left to be invited to."""
    model = row.content_type.model_class()
    handler = registry.handler(row.provider, model)
    if handler is None or handler.supports_delete:
        return False
    member = next(m for m in family if type(m) is model and m.pk == row.object_id)
    parent = handler.parent(member)
    if parent is None:
        return False
    parent_type = ContentType.objects.get_for_model(type(parent))
    return any(
        r.provider == row.provider
        and r.content_type_id == parent_type.pk
        and r.object_id == parent.pk
        and (r.remote_id or r.outcome_unknown)
        for r in rows
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
