"""What staff are told before they act, and what they may decide about a stuck row.

- `on_platform`: the rows whose platform holds (or may hold) the object.
- `fixed_changes`: the changes a platform holding the object cannot apply, with reasons,
  so that a form refuses them before saving instead of reporting them saved.
- `deletion_refusal`: why a deletion would be refused, asked before the confirmation page
  (the same rule `services.delete` applies when it runs).
- `accept_as_is`: staff accept a row that needs attention as it is; who and when are kept,
  and so is the last error. The next change of the object sends it again and clears the
  acceptance (`clear_acceptance`).
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.db.models.functions import Now

from providers import coverage, registry

from .models import SyncRecord

State = SyncRecord.State
Operation = SyncRecord.Operation

# A row whose platform has the object, or may have it (a create without an answer, a
# create under way): the same test services.delete applies.
ON_PLATFORM = ~Q(remote_id="") | Q(outcome_unknown=True) | Q(state=State.IN_FLIGHT)


def on_platform(obj) -> list[SyncRecord]:
    if obj.pk is None:
        return []
    return [
        row
        for row in obj.sync_records.all()  # the admin prefetches them
        if row.remote_id or row.outcome_unknown or row.state == State.IN_FLIGHT
    ]


def fixed_fields(obj) -> dict[str, list[str]]:
    """{field: [reason per platform]} for the fields no platform holding obj can change."""
    fixed: dict[str, list[str]] = {}
    for row in on_platform(obj):
        for name, reason in coverage.fixed_fields(row.provider, type(obj)).items():
            fixed.setdefault(name, []).append(reason)
    return fixed


def fixed_changes(obj, changed: list[str]) -> dict[str, list[str]]:
    """The subset of `changed` field names that a platform holding obj cannot apply."""
    return {name: reasons for name, reasons in fixed_fields(obj).items() if name in changed}


def deletion_refusal(obj) -> str | None:
    """Why `services.delete(obj)` would refuse, or None. Asked before the confirmation
    page; services.delete itself still decides under its row locks."""
    from .. import services  # services imports the outbox; keep this module light

    remote = on_platform(obj)
    for row in remote:
        handler = registry.handler(row.provider, type(obj))
        if handler is not None and not handler.supports_delete:
            return handler.delete_refusal
    if not remote:
        try:
            services._refuse_if_dependants_are_remote(obj)
        except services.DeletionRefused as refusal:
            return str(refusal)
    return None


def accept_as_is(rows, who: str) -> int:
    """Mark rows that need attention as settled, recording who accepted them and when.

    The last error stays for the record. Only rows still needing attention change (a row
    retried meanwhile is left alone), and only changes and creates: a deletion the
    platform did not confirm cannot be accepted, as that would delete the object here
    while the platform may still hold it; nor can a create that others wait for (a
    building's units, a unit's devices), which would leave them waiting for good.
    Returns the number of rows accepted.
    """
    candidates = SyncRecord.objects.filter(
        pk__in=[row.pk for row in rows],
        state=State.NEEDS_ATTENTION,
        operation=Operation.UPSERT,
    ).select_related("content_type")
    ids = [row.pk for row in candidates if row.remote_id or not _others_wait_for(row)]
    return SyncRecord.objects.filter(pk__in=ids, state=State.NEEDS_ATTENTION).update(
        state=State.SYNCED, dismissed_at=Now(), dismissed_by=who[:150], claim_token=None
    )


def _others_wait_for(row: SyncRecord) -> bool:
    """Whether rows of the same platform need this row's remote id first."""
    model = row.content_type.model_class()
    handler = registry.handler(row.provider, model)
    obj = model._default_manager.filter(pk=row.object_id).first()
    if handler is None or obj is None:
        return False
    return any(
        SyncRecord.objects.filter(
            provider=row.provider,
            content_type=ContentType.objects.get_for_model(dependant),
            object_id__in=pks,
        ).exists()
        for dependant, pks in handler.dependants(obj)
    )


def clear_acceptance(rows) -> int:
    """A later change (or retry) makes the row pending again: the acceptance no longer
    applies. (`outbox.make_due` should do this itself; see the lead's note.)"""
    return rows.filter(dismissed_at__isnull=False).update(dismissed_at=None, dismissed_by="")


def is_accepted(row: SyncRecord) -> bool:
    return row.state == State.SYNCED and row.dismissed_at is not None
