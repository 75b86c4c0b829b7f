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
RemoteState = SyncRecord.RemoteState


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
        readdressed = isinstance(obj, Space) and _address_changed(obj)
        obj.save()
        changed = [obj]
        if readdressed and obj.is_building:
            # Units without an address of their own are sent with the building's.
            changed += list(obj.units.select_related("parent"))
        if readdressed:
            changed += _carrying_the_address(obj)
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


def _carrying_the_address(space: Space) -> list:
    """Tenants' meters sent with their unit's address (Spark's guide form): they go again,
    and the platform's handler says whether it took the new address (not sent)."""
    from .models import Meter

    units = [space, *space.units.all()] if space.is_building else [space]
    return list(Meter.objects.filter(tenant__unit__in=units).select_related("tenant__unit__parent"))


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


def ended_with(obj) -> list:
    """What ends with `obj` although the database keeps it (a foreign key that sets
    null): a tenant's invites, whose access ends with the tenancy."""
    from .models import Invite, TenantUser

    if isinstance(obj, TenantUser) and obj.pk:
        return list(Invite.objects.filter(tenant=obj).select_related("space"))
    return []


def _family(obj) -> list:
    family = [obj, *cascade(obj)]
    seen = {(type(m), m.pk) for m in family}
    for member in list(family):
        for extra in ended_with(member):
            if (type(extra), extra.pk) not in seen:
                seen.add((type(extra), extra.pk))
                family.append(extra)
    return family


def _plan_deletion(obj, *, lock: bool) -> _DeletionPlan:
    """What deleting `obj` means on each platform; raises DeletionRefused."""
    family = _family(obj)
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
        if type(obj).__name__ == "TenantUser" and not _tenancy_of(obj).moved_out:
            # Deleted, not moved out: the history still says when the tenancy ended.
            tenancy = _tenancy_of(obj)
            tenancy.moved_out = timezone.localdate()
            tenancy.save()
        if notes is not None:
            notes += plan.notes
        remote_ids = {r.pk for r in plan.remote}
        # Rows that never reached a platform, or that the parent's deletion voids, have
        # nothing to undo there.
        SyncRecord.objects.filter(
            pk__in=[r.pk for r in plan.rows if r.pk not in remote_ids]
        ).delete()
        held_by = {(r.content_type.model_class(), r.object_id) for r in plan.remote}
        # What ends with it but is not deleted with it by the database (a tenant's
        # invites) and that no platform holds goes now; the rest waits like obj.
        cascaded = {(type(m), m.pk) for m in cascade(obj)} | {(type(obj), obj.pk)}
        extras = [m for m in plan.family if (type(m), m.pk) not in cascaded]
        for extra in extras:
            if not any(k == (type(extra), extra.pk) for k in held_by):
                extra.delete()
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
    """An invite is voided when its space is deleted there (nothing is left to be
    invited to): its own delete call is not needed."""
    model = row.content_type.model_class()
    handler = registry.handler(row.provider, model)
    if handler is None or not (handler.voided_with_parent or not handler.supports_delete):
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


def retry(records, *, resend_unknown: bool = False, who: str = "") -> int:
    """Staff's "retry": failed, stuck or waiting rows go again now.

    A row whose earlier create may have arrived is looked up again first (an invited
    tenant may have accepted since). Only with `resend_unknown` (staff confirmed that a
    second invite link may result) is it sent again without finding it.
    """
    from .sync.reconcile import fixes

    # A row the platform cannot move to its new parent would only fail again: staff are
    # offered what can be done instead (fixes.recreate_under_new_parent, or accept).
    rows = (
        SyncRecord.objects.filter(pk__in=[r.pk for r in records], state__in=RETRYABLE)
        .exclude(remote_state=RemoteState.CANNOT_MOVE)
        .select_related("content_type")
    )
    # Only once staff were told (needs attention), never while the row is still retrying
    # on its own: then a blind resend could e-mail the tenant twice.
    blind = [r.pk for r in blind_resends(rows)] if resend_unknown else []
    # Lost by the platform: made again with what hangs under it there.
    missing = [r for r in rows if r.remote_state == RemoteState.MISSING]
    with transaction.atomic():
        ids = [r.pk for r in rows if r.remote_state != RemoteState.MISSING]
        outbox.make_due(SyncRecord.objects.filter(pk__in=ids))
        SyncRecord.objects.filter(pk__in=blind).update(outcome_unknown=False)
        transaction.on_commit(lambda: outbox.enqueue(ids))
        if missing:
            fixes.recreate(missing, who=who)
    return len(ids) + len(missing)


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
    """Step 3: the tenant of the wizard's unit (created once, changed after); their
    tenancy starts on the wizard's move-in day (today if none was given)."""
    tenant.unit = wizard.unit
    save(tenant)
    wizard.tenant = tenant
    tenancy = _tenancy_of(tenant)
    if tenancy.pk is None:
        tenancy.moved_in = wizard.moves_in_on or timezone.localdate()
    tenancy.name, tenancy.email = tenant.name, tenant.email
    tenancy.save()


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
    # The building this wizard created, chosen again on step 1, is still its own.
    wizard.building_is_new = wizard.building_is_new and wizard.building_id == building.pk
    wizard.building = building
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


# --- What a deletion does on each platform ------------------------------------------------


# What deleting a kind of object does on a platform, where its handler says nothing more.
DELETE_EFFECTS = {
    "Space": "It is deleted there, after what it holds.",
    "Device": "The device is deleted there, with the readings it holds there.",
    "TenantUser": "Their user there is deleted, after what hangs under it: their access ends.",
}


def deletion_effects(obj) -> dict:
    """What `delete(obj)` would do, per platform, for the confirmation page: {"refusal":
    why it cannot (or ""), "platforms": [{"platform", "label", "effects": [{"object",
    "kind", "effect"}]}], "local": [objects deleted here only], "notes": [...]}. Reads
    only; `delete` decides again under its row locks."""
    try:
        plan = _plan_deletion(obj, lock=False)
    except DeletionRefused as refusal:
        return {"refusal": str(refusal), "platforms": [], "local": [], "notes": []}
    by_key = {(type(m), m.pk): m for m in plan.family}
    voided = [
        r
        for r in plan.rows
        if r.platform_may_hold
        and r.provider in registry.enabled()
        and r.pk not in {x.pk for x in plan.remote}
    ]
    platforms: dict[str, list] = {}
    for row, voided_there in [(r, False) for r in plan.remote] + [(r, True) for r in voided]:
        model = row.content_type.model_class()
        member = by_key.get((model, row.object_id))
        handler = registry.handler(row.provider, model)
        if voided_there:
            effect = "It goes with its parent there; nothing else is called."
        else:
            effect = (handler.delete_effect if handler else "") or DELETE_EFFECTS.get(
                model.__name__, "It is deleted there."
            )
        platforms.setdefault(row.provider, []).append(
            {"object": str(member or row.object_repr), "kind": model._meta.verbose_name,
             "effect": effect}
        )  # fmt: skip
    held = {(r.content_type.model_class(), r.object_id) for r in plan.rows if r.platform_may_hold}
    local = [m for m in plan.family if (type(m), m.pk) not in held]
    return {
        "refusal": "",
        "platforms": [
            {"platform": name, "label": registry.label(name), "effects": platforms[name]}
            for name in registry.enabled()
            if name in platforms
        ],
        "local": local,
        "notes": plan.notes,
    }


# --- Tenancies: move-out, move-in, history -----------------------------------------------


def _tenancy_of(tenant):
    from .models import Tenancy

    tenancy = Tenancy.objects.filter(tenant=tenant).first()
    if tenancy is None:
        tenancy = Tenancy(
            unit_id=tenant.unit_id,
            tenant=tenant,
            name=tenant.name,
            email=tenant.email,
            moved_in=timezone.localtime(tenant.created_at).date() if tenant.created_at else None,
        )
    return tenancy


def end_tenancy(tenants, *, moved_out, ended_by: str = "") -> int:
    """Move-out: each tenant's tenancy ends on `moved_out`, and their access ends on
    every platform (the tenant is deleted through the outbox: their Spark user with
    what hangs under it, their Zählerfreunde access). The unit and its devices stay.
    Raises DeletionRefused (nothing changed) when a platform cannot let one go."""
    tenants = list(tenants)
    with transaction.atomic():
        for tenant in tenants:
            if tenant.deletion_requested_at:
                continue
            tenancy = _tenancy_of(tenant)
            tenancy.name, tenancy.email = tenant.name, tenant.email
            tenancy.moved_out, tenancy.ended_by = moved_out, ended_by
            tenancy.save()
            delete(tenant)
    return len(tenants)


def tenancy_history(unit) -> list[dict]:
    """Who lived in the unit, newest first: {"name", "email", "moved_in", "moved_out",
    "tenant"} (tenant: the current TenantUser, None once moved out)."""
    from .models import Tenancy, TenantUser

    tenancies = list(Tenancy.objects.filter(unit=unit).select_related("tenant"))
    covered = {t.tenant_id for t in tenancies if t.tenant_id}
    history = [
        {"name": t.name, "email": t.email, "moved_in": t.moved_in, "moved_out": t.moved_out,
         "tenant": t.tenant if t.tenant_id and not t.moved_out else None}
        for t in tenancies
    ]  # fmt: skip
    for tenant in TenantUser.objects.filter(unit=unit).exclude(pk__in=covered):
        history.append(
            {"name": tenant.name, "email": tenant.email,
             "moved_in": timezone.localtime(tenant.created_at).date(), "moved_out": None,
             "tenant": tenant}
        )  # fmt: skip
    return sorted(history, key=lambda h: (h["moved_out"] is None, h["moved_in"] or 0), reverse=True)


def start_change_of_tenant(unit, *, moves_in_on=None, started_by: str = ""):
    """The wizard for the new tenant of `unit`, from step 3 (the tenant), with the
    invite after it; the unit and building are the existing ones."""
    from .page_models import Wizard

    return Wizard.objects.create(
        building=unit.parent,
        building_is_new=False,
        unit=unit,
        unit_is_new=False,
        step=Wizard.Step.TENANT,
        reached=Wizard.Step.TENANT,
        moves_in_on=moves_in_on,
        started_by=started_by,
    )


# --- Discarding an unfinished onboarding --------------------------------------------------


def wizard_created(wizard) -> list:
    """The objects this wizard made, top first: what "remove it there" deletes."""
    if wizard.unit_id and wizard.unit_is_new:
        building = wizard.building
        alone = (
            building is not None
            and wizard.building_is_new
            and not building.units.exclude(pk=wizard.unit_id).exists()
        )
        return [building] if alone else [wizard.unit]
    if wizard.building_id and wizard.building_is_new and not wizard.unit_id:
        return [wizard.building]
    if wizard.tenant_id:
        return [wizard.tenant]
    return [wizard.invite] if wizard.invite_id else []


def discard_wizard(wizard, *, remove: bool) -> list:
    """Drop an unfinished onboarding. With `remove`, what it made is deleted too (on the
    platforms first, through the outbox); otherwise it stays as it is. Returns the
    objects whose deletion was started."""
    with transaction.atomic():
        doomed = wizard_created(wizard) if remove else []
        if remove and wizard.tenant_id:
            from .models import Tenancy

            Tenancy.objects.filter(tenant_id=wizard.tenant_id).delete()  # never lived there
        for obj in doomed:
            delete(obj)
        wizard.delete()
    return doomed
