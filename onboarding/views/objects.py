"""Object pages for a space, a device and a tenant: what we hold, what each platform
holds (remote id, last sync, last error, recent calls), and a retry."""

from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from providers import registry

from .. import services, sync_words
from ..models import ApiCall, Device, Invite, Space, TenantUser
from ..readings import panel as readings_panel
from . import drift, status
from .access import page
from .rendering import page_or_fragment, wants_fragment

RECENT_CALLS = 10
CHILD_TITLES = {
    "Device": _("Devices"),
    "TenantUser": _("Tenants"),
    "Invite": _("Invites"),
    "Meter": _("Meters"),
    "Vehicle": _("Vehicles"),
    "Resource": _("Resources"),
}
HIDDEN_FIELDS = {"id", "deletion_requested_at", "invite_link"}
# Children changed on their own edit page (an invite cannot change on Zählerfreunde).
EDITABLE_CHILDREN = {
    "Space": "space", "Device": "device", "TenantUser": "tenant", "Meter": "meter",
    "Vehicle": "vehicle", "Resource": "resource",
}  # fmt: skip


def held_fields(obj) -> list[tuple[str, object]]:
    """(label, value) of what we hold, as the admin would show it."""
    shown = []
    for field in obj._meta.concrete_fields:
        if field.name in HIDDEN_FIELDS:
            continue
        if field.choices:
            value = getattr(obj, f"get_{field.name}_display")()
        else:
            value = getattr(obj, field.name)
        if value in (None, ""):
            value = "—"
        elif value is True or value is False:
            value = "✓" if value else "✗"
        shown.append((str(field.verbose_name), value))
    return shown


def platform_states(obj) -> tuple[list[dict], bool]:
    """Per platform taking this kind of object: its outbox row and recent calls."""
    model = type(obj)
    platforms = status.platforms_for(model)
    rows = status.rows_for({model: [obj.pk]}).get((model, obj.pk), [])
    row_by_platform = {row.provider: row for row in rows}
    content_type = ContentType.objects.get_for_model(model)
    calls = defaultdict(list)
    recent = ApiCall.objects.filter(
        content_type=content_type, object_id=obj.pk, provider__in=platforms
    ).order_by("-started_at")[: RECENT_CALLS * max(len(platforms), 1)]
    for call in recent.defer("request_body", "response_body"):
        if len(calls[call.provider]) < RECENT_CALLS:
            calls[call.provider].append(call)
    now = timezone.now()
    disconnected = status.disconnected_platforms()
    states = [
        {
            "platform": name,
            "label": registry.label(name),
            "row": row_by_platform.get(name),
            # Beside a row a Retry cannot mend (a move the platform cannot make, a
            # difference, a change not sent): what can be done instead.
            "fixes": drift.row_fixes(row_by_platform[name]) if name in row_by_platform else [],
            "badge": status.badge(
                name, [row_by_platform[name]] if name in row_by_platform else [], now, disconnected
            ),
            "calls": calls[name],
            "gone_remotely": name in row_by_platform
            and status.gone_remotely(row_by_platform[name]),
            "last_error": sync_words.translate(row_by_platform[name].last_error)
            if name in row_by_platform
            else "",
        }
        for name in platforms
    ]
    settled = all(s["badge"].settled for s in states)
    return states, settled


def children_of(obj) -> list[dict]:
    """What an object holds, each with its badges, read in a fixed number of queries."""
    groups = []
    if isinstance(obj, Space) and obj.is_building:
        groups.append((Space, list(obj.units.all())))
    elif isinstance(obj, Space):
        groups += [
            (Device, list(obj.devices.all())),
            (TenantUser, list(obj.tenants.all())),
            (Invite, list(obj.invites.all())),
        ]
    elif isinstance(obj, TenantUser):
        groups += [
            (model, list(model.objects.filter(tenant=obj))) for model in status.tenant_models()
        ]
    groups = [(model, items) for model, items in groups if items or model is not Invite]
    rows = status.rows_for({model: [i.pk for i in items] for model, items in groups})
    now = timezone.now()
    disconnected = status.disconnected_platforms()
    result = []
    for model, items in groups:
        platforms = status.platforms_for(model)
        if not platforms and not items:
            continue
        result.append(
            {
                "title": CHILD_TITLES.get(model.__name__, model._meta.verbose_name_plural)
                if model is not Space
                else _("Units"),
                "content_type": ContentType.objects.get_for_model(model),
                "kind": EDITABLE_CHILDREN.get(model.__name__, ""),
                "items": [
                    {
                        "obj": item,
                        "badges": status.badges(
                            rows.get((model, item.pk), []), platforms, now, disconnected
                        ),
                    }
                    for item in items
                ],
            }
        )
    return result


def object_page(request, obj, title: str, **extra):
    from .edit import kind_of

    states, settled = platform_states(obj)
    is_unit = isinstance(obj, Space) and not obj.is_building
    context = {
        **extra,
        "kind": kind_of(obj),
        "is_unit": is_unit,
        "history": services.tenancy_history(obj) if is_unit and not wants_fragment(request) else [],
        "obj": obj,
        "title": title,
        "fields": held_fields(obj),
        "states": states,
        "settled": settled,
        "children": children_of(obj),
        "content_type": ContentType.objects.get_for_model(type(obj)),
    }
    return page_or_fragment(
        request, "onboarding/object.html", "onboarding/_object_platforms.html", context
    )


@page
def space(request, pk: int):
    obj = get_object_or_404(Space.objects.select_related("parent"), pk=pk)
    return object_page(request, obj, str(obj))


@page
def device(request, pk: int):
    obj = get_object_or_404(Device.objects.select_related("space__parent"), pk=pk)
    # Its latest readings, each with its unit and what its code measures (the readings
    # domain's panel, as the admin shows it), charts included.
    return object_page(request, obj, str(obj), readings=readings_panel.latest_values(obj))


@page
def tenant(request, pk: int):
    obj = get_object_or_404(TenantUser.objects.select_related("unit__parent"), pk=pk)
    return object_page(request, obj, str(obj))
