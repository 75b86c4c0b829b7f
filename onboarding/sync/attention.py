"""What staff are told before they act, and what they may decide about a stuck row.

- `fixed_fields`: the fields a platform holding the object cannot change, with reasons,
  shown next to those fields before staff edit them (services.save refuses the change).
- `not_sent_fields`: the fields whose change an enabled platform holding the object (or
  what carries it there, a tenant's Spark meter its unit's address) will not get, with
  reasons: saved here, but the badge will say "not sent: <why>".
- `deletion_refusal`: why a deletion would be refused, asked before the confirmation page
  (the rule `services.delete` applies when it runs, without its locks and writes).
- `accept_as_is`: staff accept a row that needs attention as it is; who and when are kept,
  and so is the last error. The next change of the object makes the row pending again
  and clears the acceptance (`outbox.make_due`).
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import Now

from providers import registry

from .models import SyncRecord

State = SyncRecord.State
Operation = SyncRecord.Operation


def fixed_fields(obj) -> dict[str, list[str]]:
    """{field: [reason per platform]} for the fields an enabled platform holding obj
    cannot change (each handler's `fixed_fields`)."""
    if obj.pk is None:
        return {}
    enabled = set(registry.enabled())
    fixed: dict[str, list[str]] = {}
    for row in obj.sync_records.all():  # the admin prefetches them
        if row.provider not in enabled or not row.platform_may_hold:
            continue
        handler = registry.handler(row.provider, type(obj))
        for name, reason in getattr(handler, "fixed_fields", {}).items():
            fixed.setdefault(name, []).append(reason)
    return fixed


ADDRESS_FIELDS = ("address_line_one", "address_line_two", "postcode", "city")


def not_sent_fields(obj) -> dict[str, list[str]]:
    """{field: [reason per platform]} for the fields whose change a platform holding obj
    (or an object carrying it) would not get: each handler's `create_only`, where the
    key "address" stands for the unit's address a meter carries."""
    if obj.pk is None:
        return {}
    notes: dict[str, list[str]] = {}
    for handler in _holders(obj):
        for name, reason in handler.create_only.items():
            notes.setdefault(name, []).append(reason)
    from ..models import Meter, Space

    if isinstance(obj, Space) and Meter in _taken_models():
        meters = Meter.objects.filter(tenant__unit__in=[obj, *obj.units.all()])
        for meter in meters.prefetch_related("sync_records")[:50]:
            for handler in _holders(meter):
                if "address" in handler.create_only:
                    for name in ADDRESS_FIELDS:
                        notes.setdefault(name, []).append(handler.create_only["address"])
    return {name: list(dict.fromkeys(reasons)) for name, reasons in notes.items()}


def fixed_at_create(model, field: str) -> list[str]:
    """The enabled platforms taking `model` that keep `field` from the create (e.g.
    Zählerfreunde's Mieterstrom flag): the wizard asks for it before the object is made
    there, since "Unknown" would become the platform's default for good."""
    return [
        registry.label(name)
        for name in registry.providers_for(model)
        if field in registry.handler(name, model).create_only
    ]


def _holders(obj):
    """The handler of each enabled platform that holds, or may hold, obj."""
    enabled = set(registry.enabled())
    for row in obj.sync_records.all():
        if row.provider in enabled and row.platform_may_hold:
            handler = registry.handler(row.provider, type(obj))
            if handler is not None:
                yield handler


def _taken_models() -> set:
    return {model for name in registry.enabled() for model in registry.handlers(name)}


def deletion_refusal(obj) -> str | None:
    """Why `services.delete(obj)` would refuse, or None (asked before the confirmation
    page; services.delete decides again under its row locks)."""
    from .. import services  # services imports the outbox; keep this module light

    return services.deletion_refusal(obj)


def accept_as_is(rows, who: str) -> int:
    """Mark rows that need attention as settled, recording who accepted them and when.

    The last error stays for the record. Only rows still needing attention change (a row
    retried meanwhile is left alone), and not:
    - a deletion the platform did not confirm: accepting it would delete the object here
      while the platform may still hold it;
    - a row waiting for its parent: it goes on by itself once the parent syncs;
    - a create others wait for (a building's units, a unit's devices): they would wait
      for good.
    Returns the number of rows accepted.
    """
    candidates = SyncRecord.objects.filter(
        pk__in=[row.pk for row in rows],
        state=State.NEEDS_ATTENTION,
        operation=Operation.UPSERT,
        waiting_for_parent=False,
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


def is_accepted(row: SyncRecord) -> bool:
    return row.state == State.SYNCED and row.dismissed_at is not None
