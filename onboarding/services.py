"""Every change staff make goes through here: the model and its outbox rows change in
one transaction, and the platforms hear of it only once that transaction commits."""

from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

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
        for row in obj.sync_records.all()
        if row.platform_may_hold and row.provider in registry.enabled()
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


@dataclass
class _DeletionPlan:
    family: list  # the object and everything that goes with it
    rows: list[SyncRecord]  # their outbox rows
    remote: list[SyncRecord]  # what enabled platforms must delete first
    notes: list[str]  # what stays on a disabled platform


def _plan_deletion(obj, *, lock: bool) -> _DeletionPlan:
    """What deleting `obj` means on each platform; raises DeletionRefused."""
    family = [obj, *cascade(obj)]
    rows = _rows_of(family, lock=lock)
    enabled = set(registry.enabled())
    held = [r for r in rows if r.platform_may_hold]
    notes = [
        f"{r.object_repr} stays on {registry.label(r.provider)}, which is not enabled: "
        "delete it there by hand if it should go."
        for r in held
        if r.provider not in enabled
    ]
    remote = [
        r for r in held if r.provider in enabled and not _voided_by_its_parent(r, rows, family)
    ]
    for row in remote:
        handler = registry.handler(row.provider, row.content_type.model_class())
        if handler is not None and not handler.supports_delete:
            raise DeletionRefused(handler.delete_refusal)
    return _DeletionPlan(family, rows, remote, notes)


def deletion_refusal(obj) -> str | None:
    """Why `delete(obj)` would be refused, or None; asked before the confirmation page,
    without locks or writes (delete decides again under its row locks)."""
    try:
        _plan_deletion(obj, lock=False)
    except DeletionRefused as refusal:
        return str(refusal)
    return None


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
        plan = _plan_deletion(obj, lock=True)
        if notes is not None:
            notes += plan.notes
        remote_ids = {r.pk for r in plan.remote}
        # Rows that never reached a platform, or that the parent's deletion voids, have
        # nothing to undo there.
        SyncRecord.objects.filter(
            pk__in=[r.pk for r in plan.rows if r.pk not in remote_ids]
        ).delete()
        if not remote_ids:
            obj.delete()
            return True
        now = timezone.now()
        for member in plan.family:
            type(member)._default_manager.filter(pk=member.pk).update(deletion_requested_at=now)
        ids = sorted(remote_ids)
        outbox.make_due(
            SyncRecord.objects.filter(pk__in=ids), operation=SyncRecord.Operation.DELETE
        )
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return False


def _rows_of(objects: list, *, lock: bool) -> list[SyncRecord]:
    by_type: dict = {}
    for item in objects:
        by_type.setdefault(type(item), []).append(item.pk)
    query = Q(pk__in=[])
    for model, pks in by_type.items():
        query |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=pks)
    rows = SyncRecord.objects.select_for_update() if lock else SyncRecord.objects
    return list(rows.filter(query).select_related("content_type"))


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


def blind_resends(records) -> list[SyncRecord]:
    """Rows whose Retry could make a second object on the platform: the earlier create
    may have arrived, and the platform has no way to look it up (Zählerfreunde invites
    before the tenant accepts). Staff are asked before such a row is sent again."""
    return [
        r
        for r in records
        if r.state == State.NEEDS_ATTENTION
        and r.outcome_unknown
        and not registry.handler(r.provider, r.content_type.model_class()).supports_lookup
    ]


def retry(records, *, resend_unknown: bool = False) -> int:
    """Staff's "retry": failed, stuck or waiting rows go again now.

    A row whose earlier create may have arrived is looked up again first (an invited
    tenant may have accepted since). Only with `resend_unknown` (staff confirmed that a
    second invite link may result) is it sent again without finding it.
    """
    rows = SyncRecord.objects.filter(
        pk__in=[r.pk for r in records], state__in=RETRYABLE
    ).select_related("content_type")
    # Only once staff were told (needs attention), never while the row is still retrying
    # on its own: then a blind resend could e-mail the tenant twice.
    blind = [r.pk for r in blind_resends(rows)] if resend_unknown else []
    with transaction.atomic():
        ids = list(rows.values_list("pk", flat=True))
        outbox.make_due(rows)
        SyncRecord.objects.filter(pk__in=blind).update(outcome_unknown=False)
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return len(ids)


# --- The pages' wizard and invite e-mails -------------------------------------------------
# Each wizard step saves through these. A form carries a token; the wizard's row is
# locked while a step saves, and a token already handled does nothing the second time,
# so a double click or a second tab never creates two of anything.


def start_wizard(token, started_by: str = ""):
    """The wizard for this start form's token (created once, whatever the clicks)."""
    from .page_models import Wizard

    wizard, _ = Wizard.objects.get_or_create(pk=token, defaults={"started_by": started_by})
    return wizard


@contextmanager
def wizard_step(wizard_pk, token):
    """Lock the wizard for one step's save; yields (wizard, first_time_for_token)."""
    from .page_models import Wizard

    token = str(token or "")
    with transaction.atomic():
        wizard = Wizard.objects.select_for_update().get(pk=wizard_pk)
        fresh = not token or token not in wizard.handled_tokens
        yield wizard, fresh
        if fresh and token:
            wizard.handled_tokens = [*wizard.handled_tokens, token][-WIZARD_TOKENS_KEPT:]
        wizard.save()


WIZARD_TOKENS_KEPT = 100


def wizard_advance(wizard, step: int) -> None:
    wizard.step = step
    wizard.reached = max(wizard.reached, step)
    wizard.drafts.pop(str(step - 1), None)
    if step == 5 and wizard.finished_at is None:
        wizard.finished_at = timezone.now()


def wizard_save_tenant(wizard, tenant) -> None:
    """Step 3: the tenant of the wizard's unit (created once, changed after)."""
    tenant.unit = wizard.unit
    save(tenant)
    wizard.tenant = tenant


def wizard_save_invite(wizard, *, email: str, platform_sends: bool):
    """Step 4: the Zählerfreunde invite of the wizard's tenant, one per unit and e-mail."""
    from .models import Invite

    invite = Invite.objects.filter(space=wizard.unit, email__iexact=email).first()
    if invite is None:
        invite = Invite(space=wizard.unit, tenant=wizard.tenant, email=email)
    invite.tenant = wizard.tenant
    invite.send_invite_email = platform_sends
    save(invite)
    wizard.invite = invite
    return invite


def send_invite_email(invite, *, language: str, token, sent_by: str = ""):
    """E-mail the link the platform returned, from our templates, once per token.

    Records every send (InviteEmail), with the error when the e-mail backend refused.
    """
    from django.core.mail import send_mail

    from .invite_mail import render_invite_email
    from .page_models import InviteEmail

    if not invite.invite_link:
        raise ValidationError(
            _lazy("Zählerfreunde has not returned the invite link yet; wait for it.")
        )
    subject, body = render_invite_email(invite, language)
    record, created = InviteEmail.objects.get_or_create(
        token=token,
        defaults={
            "invite": invite,
            "to": invite.email,
            "language": language,
            "subject": subject,
            "sent_by": sent_by,
        },
    )
    if not created:
        return record
    try:
        send_mail(subject, body, None, [invite.email])
    except Exception as exc:  # any backend failure is recorded and shown, never hidden
        record.error = f"{type(exc).__name__}: {exc}"[:2000]
        record.save(update_fields=["error"])
    return record


def preview_import(path):
    """Check a building CSV as `import_file` would and roll everything back: the
    summary it would give, or raises ImportFileError / ImportErrors."""
    from . import importer

    class _Preview(Exception):
        pass

    result = {}
    try:
        with transaction.atomic():
            result["summary"] = importer.import_file(path)
            raise _Preview
    except _Preview:
        pass
    return result["summary"]


def wizard_save_building(wizard, building: Space) -> Space:
    """Step 1's new building (or the one this wizard created, changed)."""
    save(building)
    wizard.building, wizard.building_is_new = building, True
    return building


def wizard_pick_building(wizard, building: Space) -> Space:
    wizard.building, wizard.building_is_new = building, False
    return building


def wizard_save_unit(wizard, unit: Space) -> Space:
    unit.parent = wizard.building
    save(unit)
    wizard.unit = unit
    wizard_advance(wizard, 2)
    return unit


def wizard_go(wizard, step: int, *, leaving: int, draft: dict | None = None) -> None:
    """Go to a step already reached; keep the unsaved input of the step left."""
    if draft:
        wizard.drafts = {**wizard.drafts, str(leaving): draft}
    wizard.step = min(step, wizard.reached)


def import_buildings(path):
    """The building import of `manage.py import_building`, for the import page."""
    from . import importer

    return importer.import_file(path)
