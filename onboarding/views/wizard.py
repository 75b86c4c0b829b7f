"""The onboarding wizard, one tenant at a time: 1 Space, 2 Devices, 3 Tenant,
4 Invite, 5 Done.

Every form posts to its step. htmx swaps the step's body (errors in place, no
reload); without JavaScript the same form posts and the page comes back whole.
A step saves only through onboarding.services, inside `services.wizard_step`, which
locks the wizard and acts once per form token (double clicks, second tabs). Nothing
reaches a platform before its step saved it: objects are saved, and thereby marked
for sync, only by a valid step.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from providers import registry

from .. import services, sync_words
from ..models import Device, Invite, Meter, Vehicle, Wizard
from . import status
from .access import page
from .rendering import page_or_fragment, wants_fragment
from .wizard_forms import (
    BuildingChoiceForm,
    BuildingForm,
    DeviceForm,
    InviteForm,
    MeterForm,
    SendInviteForm,
    TenantForm,
    UnitForm,
    VehicleForm,
    resource_form_class,
)

Step = Wizard.Step
STEP_TITLES = {
    Step.SPACE: gettext_lazy("Space"),
    Step.DEVICES: gettext_lazy("Devices"),
    Step.TENANT: gettext_lazy("Tenant"),
    Step.INVITE: gettext_lazy("Invite"),
    Step.DONE: gettext_lazy("Done"),
}
FORM_FIELDS_NOT_KEPT = {"csrfmiddlewaretoken", "token", "action"}


class StepInvalid(Exception):
    """A form of the step did not validate: roll back what the step began."""


# --- helpers --------------------------------------------------------------------------


def invites_enabled() -> bool:
    return bool(registry.providers_for(Invite))


def steps() -> list[int]:
    """The steps shown: the invite only where a platform takes invites."""
    return [s for s in Step.values if s != Step.INVITE or invites_enabled()]


def next_step(number: int) -> int:
    shown = steps()
    return shown[shown.index(number) + 1]


def previous_step(number: int) -> int:
    shown = steps()
    return shown[max(shown.index(number) - 1, 0)]


def step_url(wizard, number: int) -> str:
    return reverse("pages:wizard_step", args=[wizard.pk, number])


def go_to(request, url: str):
    """After a save: a new page. htmx is told where to go (HX-Location), a plain form
    is redirected (post/redirect/get)."""
    if wants_fragment(request):
        response = HttpResponse(status=200)
        response["HX-Location"] = url
        return response
    return redirect(url)


def progress(wizard, current: int) -> list[dict]:
    return [
        {
            "number": number,
            "title": STEP_TITLES[number],
            "position": position,
            "state": "current"
            if number == current
            else ("done" if number < wizard.reached or wizard.reached == Step.DONE else "todo"),
            "url": step_url(wizard, number) if number <= wizard.reached else "",
        }
        for position, number in enumerate(steps(), start=1)
    ]


def draft(wizard, number: int) -> dict:
    return dict(wizard.drafts.get(str(number), {}))


def kept_input(request) -> dict:
    return {k: v for k, v in request.POST.items() if k not in FORM_FIELDS_NOT_KEPT}


def render_step(request, wizard, number: int, context: dict, status_code: int = 200):
    context = {
        "wizard": wizard,
        "number": number,
        "progress": progress(wizard, number),
        "step_title": STEP_TITLES[number],
        "token": uuid.uuid4(),
        "previous_url": step_url(wizard, previous_step(number)) if number != steps()[0] else "",
        **context,
    }
    return page_or_fragment(
        request,
        f"onboarding/wizard/step{number}.html",
        f"onboarding/wizard/_step{number}.html",
        context,
        status=status_code,
    )


def leave_back(request, wizard, number: int):
    """ "Back": keep what was typed (unsaved) and show the step before."""
    with services.wizard_step(wizard.pk, None) as (locked, _fresh):
        services.wizard_go(locked, previous_step(number), leaving=number, draft=kept_input(request))
    return go_to(request, step_url(wizard, previous_step(number)))


def advance(request, wizard, number: int, token):
    with services.wizard_step(wizard.pk, token) as (locked, _fresh):
        services.wizard_advance(locked, next_step(number))
    return go_to(request, step_url(wizard, next_step(number)))


# --- the list, start and resume -------------------------------------------------------


@page
def wizards(request):
    if request.method == "POST":
        try:
            token = uuid.UUID(request.POST.get("token", ""))
        except ValueError:
            token = uuid.uuid4()
        wizard = services.start_wizard(token, request.user.get_username())
        return go_to(request, step_url(wizard, wizard.step))
    unfinished = Wizard.objects.filter(finished_at__isnull=True).select_related(
        "unit__parent", "building", "tenant"
    )[:50]
    finished = Wizard.objects.filter(finished_at__isnull=False).select_related(
        "unit__parent", "tenant"
    )[:10]
    return page_or_fragment(
        request,
        "onboarding/wizard/list.html",
        "onboarding/wizard/list.html",
        {
            "unfinished": unfinished,
            "finished": finished,
            "token": uuid.uuid4(),
            "titles": STEP_TITLES,
        },
    )


@page
def resume(request, wizard_id):
    wizard = get_object_or_404(Wizard, pk=wizard_id)
    return redirect(step_url(wizard, wizard.step if wizard.step in steps() else wizard.reached))


@page
def step(request, wizard_id, number: int):
    wizard = get_object_or_404(
        Wizard.objects.select_related("building", "unit__parent", "tenant", "invite"),
        pk=wizard_id,
    )
    if number not in steps() or number > wizard.reached:
        allowed = [s for s in steps() if s <= wizard.reached]
        return redirect(step_url(wizard, allowed[-1]))
    if request.method == "POST" and request.POST.get("action") == "back":
        return leave_back(request, wizard, number)
    return STEP_VIEWS[number](request, wizard)


# --- 1 Space ----------------------------------------------------------------------------


def space_forms(wizard, data=None, typed: dict | None = None):
    """Step 1's three forms. `typed`: what the page holds while staff change the
    building choice (sent by the select, so the unit's fields survive)."""
    saved = {**draft(wizard, Step.SPACE), **(typed or {})}
    new_building = wizard.building if wizard.building_is_new else None
    # A saved building is an existing one now, even the one this wizard created: step 1
    # shows it chosen, not "— a new building —".
    initial_pick = {"building": wizard.building_id} if wizard.building_id else {}
    pick = BuildingChoiceForm(
        data, prefix="pick", initial={**initial_pick, **_prefixed(saved, "pick")}
    )
    building = BuildingForm(data, prefix="b", instance=new_building, initial=_prefixed(saved, "b"))
    unit = UnitForm(
        data,
        prefix="u",
        instance=wizard.unit,
        building=wizard.building,
        initial=_prefixed(saved, "u"),
    )
    return pick, building, unit


def _prefixed(values: dict, prefix: str) -> dict:
    start = f"{prefix}-"
    return {k[len(start) :]: v for k, v in values.items() if k.startswith(start)}


def space_context(pick, building, unit) -> dict:
    # The new building's fields only while no existing building is chosen.
    picked = bool(pick["building"].value())
    return {"pick": pick, "bform": building, "uform": unit, "picked": picked}


def step_space(request, wizard):
    if request.method != "POST":
        typed = dict(request.GET.items()) if "pick-building" in request.GET else None
        pick, building, unit = space_forms(wizard, typed=typed)
        return render_step(request, wizard, Step.SPACE, space_context(pick, building, unit))
    token = request.POST.get("token")
    if token in wizard.handled_tokens:
        return go_to(request, step_url(wizard, Step.DEVICES))
    pick, building_form, unit_form = space_forms(wizard, request.POST)
    try:
        if not pick.is_valid():
            raise StepInvalid
        picked = pick.cleaned_data["building"]
        if picked is None and not building_form.is_valid():
            unit_form.is_valid()  # show the unit's errors too, in one go
            raise StepInvalid
        with services.wizard_step(wizard.pk, token) as (locked, fresh):
            if not fresh:
                return go_to(request, step_url(wizard, Step.DEVICES))
            if picked is not None:
                building = services.wizard_pick_building(locked, picked)
                building_form = BuildingForm(prefix="b")  # shown empty again
            else:
                building = services.wizard_save_building(locked, building_form.save(commit=False))
            unit_form = UnitForm(request.POST, prefix="u", instance=locked.unit, building=building)
            if not unit_form.is_valid():
                raise StepInvalid
            services.wizard_save_unit(locked, unit_form.save(commit=False))
    except StepInvalid:
        return render_step(
            request, wizard, Step.SPACE, space_context(pick, building_form, unit_form)
        )
    except ValidationError as exc:
        unit_form.add_error(None, exc)
        return render_step(
            request, wizard, Step.SPACE, space_context(pick, building_form, unit_form)
        )
    return go_to(request, step_url(wizard, Step.DEVICES))


# --- 2 Devices --------------------------------------------------------------------------


def catalogue_available() -> bool:
    try:
        from ..catalogue import queries  # noqa: F401
    except ImportError:
        return False
    return bool(registry.catalogue_platforms())


def device_context(request, wizard, form=None) -> dict:
    devices = list(Device.objects.filter(space=wizard.unit).order_by("name"))
    form = form or DeviceForm(
        prefix="d", space=wizard.unit, initial=_prefixed(draft(wizard, Step.DEVICES), "d")
    )
    context = {"devices": devices, "dform": form, "catalogue": catalogue_available()}
    if context["catalogue"]:
        context.update(catalogue_results(request.GET.get("q", ""), wizard))
    return context


PICKER_ROWS_PER_PLATFORM = 15
# The platforms' words for what a meter measures, as staff read them.
MEDIUM_WORDS = {
    "electricity": gettext_lazy("Electricity"),
    "water": gettext_lazy("Water"),
    "cold_water": gettext_lazy("Cold water"),
    "hot_water": gettext_lazy("Hot water"),
    "gas": gettext_lazy("Gas"),
    "heat": gettext_lazy("Heat"),
    "heating": gettext_lazy("Heating"),
    "cooling": gettext_lazy("Cooling"),
    "charge_point": gettext_lazy("Charge point"),
}


def medium_words(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return "—"
    return str(MEDIUM_WORDS.get(value.lower(), value.replace("_", " ").capitalize()))


def catalogue_results(text: str, wizard) -> dict:
    """The picker's rows: each platform's best matches (so one platform's many meters
    never hide the other's), the building's own Climkit site first, with the site or
    gateway they belong to and words instead of the platforms' codes; rows of the same
    name are told apart by what differs (serial, then id)."""
    from django.db.models import Case, IntegerField, Value, When

    from ..catalogue.queries import linkable_to_device
    from ..catalogue.tasks import queue_if_never_refreshed

    platforms = registry.catalogue_platforms()
    refreshing = queue_if_never_refreshed(platforms)
    own_site = getattr(wizard.building, "climkit_site_id", None) if wizard.building_id else None
    entries = []
    for platform in platforms:
        rows = linkable_to_device(text, platform=platform)
        if own_site:
            rows = rows.annotate(
                own=Case(When(parent_id=own_site, then=Value(0)), default=Value(1),
                         output_field=IntegerField())
            ).order_by("own", "name")  # fmt: skip
        entries += list(rows[:PICKER_ROWS_PER_PLATFORM])
    names = [e.name for e in entries]
    linked, shown = {}, []
    for entry in entries:
        device = getattr(entry, "linked_smartme_device", None) or getattr(
            entry, "linked_climkit_device", None
        )
        if device is not None:
            linked[entry.pk] = device
        twin = names.count(entry.name) > 1
        shown.append({
            "entry": entry,
            "platform": registry.label(entry.platform),
            "place": entry.parent.name if entry.parent_id and entry.parent else "",
            "own_site": bool(own_site) and entry.parent_id == own_site,
            "medium": medium_words(entry.medium),
            "name": entry.name or entry.remote_id,
            # Same name twice: the serial (or the platform's id) tells them apart.
            "tell_apart": (entry.serial and f"#{entry.serial}" or entry.remote_id) if twin else "",
        })  # fmt: skip
    refreshing_labels = [registry.label(p) for p in refreshing]
    return {"entries": shown, "linked": linked, "q": text, "refreshing": refreshing_labels}


def step_devices(request, wizard):
    unit = wizard.unit
    if request.method != "POST":
        if request.GET.get("picker") and wants_fragment(request):
            return page_or_fragment(
                request,
                "onboarding/wizard/_catalogue.html",
                "onboarding/wizard/_catalogue.html",
                {"wizard": wizard, "number": Step.DEVICES, "token": uuid.uuid4(),
                 **catalogue_results(request.GET.get("q", ""), wizard)},
            )  # fmt: skip
        return render_step(request, wizard, Step.DEVICES, device_context(request, wizard))
    action = request.POST.get("action")
    token = request.POST.get("token")
    if action == "next" and not device_typed(request.POST):
        return advance(request, wizard, Step.DEVICES, token)
    if action == "next":
        # A device typed and not added is added now, or the step stops and says why;
        # never dropped while the step reads "saved".
        form = DeviceForm(request.POST, prefix="d", space=unit, instance=Device(space=unit))
        if not form.is_valid():
            messages.error(request, _("The device you typed is not added yet: correct it, or "
                                      "empty its fields to continue without it."))  # fmt: skip
            return render_step(request, wizard, Step.DEVICES, device_context(request, wizard, form))
        with services.wizard_step(wizard.pk, token) as (locked, fresh):
            if fresh:
                services.save(form.save(commit=False))
                locked.drafts.pop(str(Step.DEVICES), None)
                services.wizard_advance(locked, next_step(Step.DEVICES))
        return go_to(request, step_url(wizard, next_step(Step.DEVICES)))
    form = None
    try:
        with services.wizard_step(wizard.pk, token) as (locked, fresh):
            if action == "add":
                form = DeviceForm(request.POST, prefix="d", space=unit, instance=Device(space=unit))
                if fresh:
                    if not form.is_valid():
                        raise StepInvalid
                    services.save(form.save(commit=False))
                    locked.drafts.pop(str(Step.DEVICES), None)
                form = None
            elif action == "pick" and fresh:
                pick_catalogue_entry(request, unit)
            elif action == "remove" and fresh:
                device = get_object_or_404(Device, pk=request.POST.get("device"), space=unit)
                services.delete(device)
    except StepInvalid:
        return render_step(request, wizard, Step.DEVICES, device_context(request, wizard, form))
    except (ValidationError, services.DeletionRefused) as exc:
        said = getattr(exc, "messages", [str(exc)])
        messages.error(request, " ".join(sync_words.translate(m) for m in said))
    if wants_fragment(request):
        return render_step(request, wizard, Step.DEVICES, device_context(request, wizard))
    return redirect(step_url(wizard, Step.DEVICES))


# What staff type into "Add a device by hand" (medium and type have defaults).
TYPED_DEVICE_FIELDS = ("name", "external_device_id", "metering_location_id", "serial_number")


def device_typed(data) -> bool:
    return any(str(data.get(f"d-{name}", "")).strip() for name in TYPED_DEVICE_FIELDS)


def pick_catalogue_entry(request, unit) -> None:
    """A meter picked from the smart-me or Climkit catalogue becomes a device of the
    unit, linked to it (its name, medium and serial taken from the catalogue)."""
    from ..catalogue.links import link_device
    from ..catalogue.models import CatalogueEntry

    entry = get_object_or_404(CatalogueEntry, pk=request.POST.get("entry"))
    device = Device(space=unit, name="", medium="", is_main_device=False)
    link_device(device, entry)


# --- 3 Tenant ---------------------------------------------------------------------------


def tenant_parts() -> list[tuple]:
    """(key, model, form class, title) for what a tenant has, where a platform takes it."""
    parts = [
        ("meter", Meter, MeterForm, _("Meters")),
        ("vehicle", Vehicle, VehicleForm, _("Vehicles")),
    ]
    resource_form = resource_form_class()
    if resource_form is not None:
        parts.append(("resource", resource_form._meta.model, resource_form, _("Resources")))
    return [part for part in parts if registry.providers_for(part[1])]


def tenant_context(wizard, tform=None, bound=None) -> dict:
    saved = draft(wizard, Step.TENANT)
    tform = tform or TenantForm(
        prefix="t", instance=wizard.tenant, unit=wizard.unit, initial=_prefixed(saved, "t")
    )
    sections = []
    for key, model, form_class, title in tenant_parts():
        form = (bound or {}).get(key) or form_class(prefix=key, initial=_prefixed(saved, key))
        items = list(model.objects.filter(tenant=wizard.tenant)) if wizard.tenant_id else []
        sections.append({"key": key, "title": title, "form": form, "items": items})
    return {"tform": tform, "sections": sections}


def step_tenant(request, wizard):
    if request.method != "POST":
        return render_step(request, wizard, Step.TENANT, tenant_context(wizard))
    action = request.POST.get("action", "")
    token = request.POST.get("token")
    if action == "next":
        return tenant_next(request, wizard, token)
    parts = {key: (model, form_class) for key, model, form_class, _t in tenant_parts()}
    tform, bound = None, {}
    try:
        with services.wizard_step(wizard.pk, token) as (locked, fresh):
            if action == "tenant":
                tform = TenantForm(
                    request.POST, prefix="t", instance=locked.tenant, unit=locked.unit
                )
                if fresh:
                    if not tform.is_valid():
                        raise StepInvalid
                    services.wizard_save_tenant(locked, tform.save(commit=False))
                tform = None
            elif action.startswith("add_") and action[4:] in parts and locked.tenant_id:
                key = action[4:]
                model, form_class = parts[key]
                form = form_class(request.POST, prefix=key, instance=model(tenant=locked.tenant))
                if fresh:
                    if not form.is_valid():
                        bound[key] = form
                        raise StepInvalid
                    services.save(form.save(commit=False))
            elif action.startswith("remove_") and action[7:] in parts and fresh:
                model, _form = parts[action[7:]]
                item = get_object_or_404(model, pk=request.POST.get("item"), tenant=locked.tenant)
                services.delete(item)
        wizard.refresh_from_db()
    except StepInvalid:
        return render_step(request, wizard, Step.TENANT, tenant_context(wizard, tform, bound))
    except (ValidationError, services.DeletionRefused) as exc:
        said = getattr(exc, "messages", [str(exc)])
        messages.error(request, " ".join(sync_words.translate(m) for m in said))
    if wants_fragment(request):
        return render_step(request, wizard, Step.TENANT, tenant_context(wizard))
    return redirect(step_url(wizard, Step.TENANT))


def tenant_next(request, wizard, token):
    """ "Continue" on step 3 carries the tenant's fields: what was typed is saved (or
    shown again with its errors), never emptied."""
    typed = any(k.startswith("t-") for k in request.POST)
    if not typed and wizard.tenant_id:
        return advance(request, wizard, Step.TENANT, token)
    tform = TenantForm(request.POST, prefix="t", instance=wizard.tenant, unit=wizard.unit)
    if not typed or not tform.is_valid():
        if not typed:
            messages.error(request, _("Save the tenant first."))
        return render_step(request, wizard, Step.TENANT, tenant_context(wizard, tform))
    with services.wizard_step(wizard.pk, token) as (locked, fresh):
        if fresh:
            if tform.has_changed() or locked.tenant_id is None:
                services.wizard_save_tenant(locked, tform.save(commit=False))
            services.wizard_advance(locked, next_step(Step.TENANT))
    return go_to(request, step_url(wizard, next_step(Step.TENANT)))


# --- 4 Invite ---------------------------------------------------------------------------


def invite_context(request, wizard, form=None, send_form=None) -> dict:
    invite = wizard.invite
    if invite is not None:
        invite.refresh_from_db()
    initial = {
        "email": wizard.tenant.email if wizard.tenant_id else "",
        "how": "platform",
        "language": "de",
    }
    if invite is not None:
        initial.update(email=invite.email, how="platform" if invite.send_invite_email else "portal")
    form = form or InviteForm(prefix="i", initial={**initial, **_prefixed(draft(wizard, 4), "i")})
    context = {"iform": form, "invite": invite}
    if invite is not None:
        rows = status.rows_for({Invite: [invite.pk]}).get((Invite, invite.pk), [])
        badges_ = status.badges(rows, status.platforms_for(Invite), timezone.now(),
                                status.disconnected_platforms())  # fmt: skip
        language = request.GET.get("language") or request.POST.get("language") or "de"
        send_form = send_form or SendInviteForm(initial={"language": language})
        context.update(
            badges=badges_,
            settled=status.all_settled([badges_]),
            send_form=send_form,
            emails=list(invite.emails.all()),
            portal_sends=not invite.send_invite_email,
        )
        if invite.invite_link and not invite.send_invite_email:
            from ..invite_mail import render_invite_email

            subject, body = render_invite_email(invite, send_form["language"].value() or "de")
            context.update(preview_subject=subject, preview_body=body)
    return context


def step_invite(request, wizard):
    if request.method != "POST":
        if request.GET.get("part") == "status" and wants_fragment(request):
            context = invite_context(request, wizard)
            context.update(wizard=wizard, number=Step.INVITE, token=uuid.uuid4())
            return page_or_fragment(
                request,
                "onboarding/wizard/_invite_status.html",
                "onboarding/wizard/_invite_status.html",
                context,
            )
        return render_step(request, wizard, Step.INVITE, invite_context(request, wizard))
    action = request.POST.get("action", "")
    token = request.POST.get("token")
    if action == "next":
        if wizard.invite_id is None:
            messages.error(request, _("Save the invite first."))
            return render_step(request, wizard, Step.INVITE, invite_context(request, wizard))
        return advance(request, wizard, Step.INVITE, token)
    form = send_form = None
    try:
        if action == "invite":
            form = InviteForm(request.POST, prefix="i")
            if not form.is_valid():
                raise StepInvalid
            with services.wizard_step(wizard.pk, token) as (locked, fresh):
                if fresh:
                    services.wizard_save_invite(
                        locked,
                        email=form.cleaned_data["email"],
                        platform_sends=form.cleaned_data["how"] == "platform",
                    )
                    locked.drafts.pop(str(Step.INVITE), None)
            form = None
        elif action == "send" and wizard.invite_id:
            send_form = SendInviteForm(request.POST)
            if not send_form.is_valid():
                raise StepInvalid
            sent = services.send_invite_email(
                wizard.invite,
                language=send_form.cleaned_data["language"],
                token=_uuid(token),
                sent_by=request.user.get_username(),
            )
            if sent.error:
                messages.error(
                    request, _("The e-mail was not sent: %(error)s") % {"error": sent.error}
                )
            else:
                messages.success(request, _("Invite e-mail sent to %(to)s.") % {"to": sent.to})
            send_form = None
        wizard.refresh_from_db()
    except StepInvalid:
        return render_step(
            request, wizard, Step.INVITE, invite_context(request, wizard, form, send_form)
        )
    except ValidationError as exc:
        target = form or InviteForm(request.POST, prefix="i")
        target.is_valid()
        target.add_error(None, exc)
        return render_step(request, wizard, Step.INVITE, invite_context(request, wizard, target))
    if wants_fragment(request):
        return render_step(request, wizard, Step.INVITE, invite_context(request, wizard))
    return redirect(step_url(wizard, Step.INVITE))


def _uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.uuid4()


# --- 5 Done -----------------------------------------------------------------------------


def summary(wizard) -> tuple[list[dict], bool]:
    """Every object of this onboarding, with each platform's live state."""
    objects: list = []
    if wizard.building_id:
        objects.append(wizard.building)
    if wizard.unit_id:
        objects.append(wizard.unit)
        objects += list(Device.objects.filter(space=wizard.unit))
    if wizard.tenant_id:
        objects.append(wizard.tenant)
        for model in status.tenant_models():
            objects += list(model.objects.filter(tenant=wizard.tenant))
    if wizard.invite_id:
        objects.append(wizard.invite)
    wanted: dict = {}
    for obj in objects:
        wanted.setdefault(type(obj), []).append(obj.pk)
    rows = status.rows_for(wanted)
    now = timezone.now()
    disconnected = status.disconnected_platforms()
    items = []
    for obj in objects:
        model = type(obj)
        platforms = status.platforms_for(model)
        items.append(
            {
                "obj": obj,
                "kind": model._meta.verbose_name,
                "badges": status.badges(
                    rows.get((model, obj.pk), []), platforms, now, disconnected
                ),
            }
        )
    return items, status.all_settled([i["badges"] for i in items])


def step_done(request, wizard):
    items, settled = summary(wizard)
    return render_step(
        request,
        wizard,
        Step.DONE,
        {"items": items, "settled": settled, "platforms": registry.enabled()},
    )


# --- Discard an unfinished onboarding ---------------------------------------------------


def created_where(wizard) -> list[dict]:
    """What this onboarding made so far, each with what each platform holds of it."""
    objects: list = []
    if wizard.building_id and wizard.building_is_new:
        objects.append(wizard.building)
    if wizard.unit_id and wizard.unit_is_new:
        objects.append(wizard.unit)
        objects += list(Device.objects.filter(space=wizard.unit))
    if wizard.tenant_id:
        objects.append(wizard.tenant)
        for model in status.tenant_models():
            objects += list(model.objects.filter(tenant=wizard.tenant))
    if wizard.invite_id:
        objects.append(wizard.invite)
    wanted: dict = {}
    for obj in objects:
        wanted.setdefault(type(obj), []).append(obj.pk)
    rows = status.rows_for(wanted)
    items = []
    for obj in objects:
        held = [
            {
                "label": registry.label(r.provider),
                "remote_id": r.remote_id,
                "may": r.platform_may_hold,
            }
            for r in rows.get((type(obj), obj.pk), [])
            if r.platform_may_hold
        ]
        items.append({"obj": obj, "kind": type(obj)._meta.verbose_name, "held": held})
    return items


@page
def discard(request, wizard_id):
    wizard = get_object_or_404(
        Wizard.objects.select_related("building", "unit__parent", "tenant", "invite"),
        pk=wizard_id,
        finished_at__isnull=True,
    )
    if request.method == "POST":
        remove = request.POST.get("action") == "remove"
        try:
            doomed = services.discard_wizard(wizard, remove=remove)
        except services.DeletionRefused as refusal:
            messages.error(request, sync_words.translate(str(refusal)))
            return redirect(reverse("pages:wizard_discard", args=[wizard.pk]))
        if remove:
            messages.success(
                request,
                _("Onboarding discarded; removing %(what)s on the platforms (watch it on the "
                  "dashboard).") % {"what": ", ".join(str(o) for o in doomed) or "—"},
            )  # fmt: skip
        else:
            messages.success(request, _("Onboarding discarded; what it created stays."))
        return redirect(reverse("pages:wizards"))
    items = created_where(wizard)
    context = {
        "wizard": wizard,
        "items": items,
        "on_platforms": any(i["held"] for i in items),
        "removes": services.wizard_created(wizard),
    }
    return page_or_fragment(
        request, "onboarding/wizard/discard.html", "onboarding/wizard/discard.html", context
    )


STEP_VIEWS = {
    Step.SPACE: step_space,
    Step.DEVICES: step_devices,
    Step.TENANT: step_tenant,
    Step.INVITE: step_invite,
    Step.DONE: step_done,
}
