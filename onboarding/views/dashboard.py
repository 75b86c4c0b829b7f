"""The dashboard: buildings with their units and one badge per platform, filters,
search and pages; what needs attention, with retry; each platform's connection.

The number of queries does not depend on the number of rows shown: buildings, units,
what the units hold, and every outbox row of the page are each read in one query.
"""

from html import escape

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from providers import registry

from ..models import Device, ProviderConnection, Space, SyncRecord, TenantUser
from . import status
from .access import page
from .rendering import page_or_fragment

State = SyncRecord.State
BUILDINGS_PER_PAGE = 20
ATTENTION_SHOWN = 25


class FastSelect(forms.Select):
    """A select of a thousand buildings rendered in one go: not one template (nor one
    format_html) per option. It renders `options`, the plain (value, label) list, as it
    is: Django's choices normalisation walks every option again on each request."""

    options: list = []

    def use_required_attribute(self, initial):
        # Select's own rule (required only when the first option is blank) read from the
        # plain list: taking the first of the lazy choices would normalise all of them.
        return (
            forms.Widget.use_required_attribute(self, initial)
            and bool(self.options)
            and self._choice_has_empty_value(self.options[0])
        )

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = "" if value is None else str(value)
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) == chosen else ""}>'
            f"{escape(str(label))}</option>"
            for v, label in self.options
        )
        # Every value in it went through escape().
        return mark_safe(f'<select name="{escape(name)}"{flatatt(attrs)}>{options}</select>')  # noqa: S308


class DashboardFilters(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        help_text=_("Building, unit, tenant name or e-mail, device name or serial."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    platform = forms.ChoiceField(label=_("Platform"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    building = forms.TypedChoiceField(
        label=_("Building"), required=False, coerce=int, widget=FastSelect
    )

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [("", _("All platforms"))] + [
            (name, registry.label(name)) for name in registry.enabled()
        ]
        self.fields["state"].choices = [("", _("Any state"))] + list(status.state_labels().items())
        options = [("", _("All buildings")), *buildings]
        # A callable: normalised only when a chosen building is validated, not on every
        # page; the widget renders the plain list.
        self.fields["building"].choices = lambda: options
        self.fields["building"].widget.options = options


def filtered_units(data: dict):
    units = Space.objects.filter(parent__isnull=False)
    if data.get("building"):
        units = units.filter(parent_id=data["building"])
    if data.get("state"):
        units = units.filter(
            status.space_children_q(status.STATE_FILTERS[data["state"]], data.get("platform"))
        )
    for word in (data.get("q") or "").split():
        units = units.filter(
            Q(name__icontains=word)
            | Q(parent__name__icontains=word)
            | Exists(
                TenantUser.objects.filter(unit=OuterRef("pk")).filter(
                    Q(name__icontains=word) | Q(email__icontains=word)
                )
            )
            | Exists(
                Device.objects.filter(space=OuterRef("pk")).filter(
                    Q(name__icontains=word)
                    | Q(serial_number__icontains=word)
                    | Q(external_device_id__icontains=word)
                )
            )
        )
    return units


def unit_filter_active(data: dict) -> bool:
    return bool(data.get("state") or data.get("q"))


def building_rows(request, data: dict):
    """The page of buildings, each with its (filtered) units and their badges."""
    units_query = filtered_units(data)
    buildings = Space.objects.filter(parent__isnull=True).order_by("name")
    if data.get("building"):
        buildings = buildings.filter(pk=data["building"])
    if unit_filter_active(data):
        buildings = buildings.filter(pk__in=units_query.values("parent_id"))
    pager = Paginator(buildings, BUILDINGS_PER_PAGE)
    page_obj = pager.get_page(request.GET.get("page"))
    shown = list(page_obj.object_list)
    units = list(
        # Only what a unit's row shows: a page holds hundreds of units.
        units_query.filter(parent__in=shown)
        .only("pk", "name", "parent_id")
        .order_by("parent_id", "name")
        if shown
        else Space.objects.none()
    )
    contents = status.unit_contents([u.pk for u in units])
    wanted: dict = {Space: [s.pk for s in shown + units]}
    for held in contents.values():
        for model, pks in held.items():
            wanted.setdefault(model, []).extend(pks)
    rows = status.rows_for(wanted, light=True)
    now = timezone.now()
    disconnected = status.disconnected_platforms()
    only = [data["platform"]] if data.get("platform") else None
    space_platforms = only or status.platforms_for(Space)
    all_platforms = only or status.unit_platforms()
    by_building = {b.pk: [] for b in shown}
    space_url = reverse("pages:space", args=[0])  # one reverse for the page, not one a row
    holds_text: dict[tuple[int, int], str] = {}  # most units hold the same counts
    for unit in units:
        held = contents.get(unit.pk, {})
        unit_rows = list(rows.get((Space, unit.pk), []))
        for model, pks in held.items():
            for pk in pks:
                unit_rows += rows.get((model, pk), [])
        devices, tenants = len(held.get(Device, [])), len(held.get(TenantUser, []))
        badges = status.badges(unit_rows, all_platforms, now, disconnected)
        holds = holds_text.get((devices, tenants))
        if holds is None:
            holds = holds_text[devices, tenants] = (
                ngettext("%(n)s device", "%(n)s devices", devices) % {"n": devices}
                + ", "
                + ngettext("%(n)s tenant", "%(n)s tenants", tenants) % {"n": tenants}
            )
        url = space_url.replace("/0/", f"/{unit.pk}/")
        badges_html = status.badges_html(badges)
        by_building[unit.parent_id].append(
            {
                "unit": unit,
                "url": url,
                "badges": badges,
                "badges_html": badges_html,
                "holds": holds,
                "html": unit_row_html(unit, url, holds, badges_html),
            }
        )
    table = [
        {
            "building": b,
            "url": space_url.replace("/0/", f"/{b.pk}/"),
            "badges": status.badges(
                rows.get((Space, b.pk), []), space_platforms, now, disconnected
            ),
            "units": by_building[b.pk],
        }
        for b in shown
    ]
    settled = status.all_settled([r["badges"] for r in table]) and status.all_settled(
        [u["badges"] for r in table for u in r["units"]]
    )
    return table, page_obj, settled


def unit_row_html(unit, url: str, holds: str, badges_html: str):
    """A unit's table row, built here rather than by the template: a page shows hundreds
    of units, and the template engine's lookups and escaping per row cost more than the
    rest of the row's work. The same markup _buildings.html would write."""
    # Every value in it went through escape(); badges_html is escaped by badges_html().
    return mark_safe(  # noqa: S308
        f'<tr><td>&nbsp;&nbsp;<a href="{escape(url)}">{escape(unit.name)}</a></td>'
        f'<td class="small muted">{escape(holds)}</td><td>{badges_html}</td></tr>'
    )


def connections():
    """Each enabled platform: connected or not (with why), and its rows in progress."""
    enabled = registry.enabled()
    known = {c.provider: c for c in ProviderConnection.objects.filter(provider__in=enabled)}
    counts = {
        (row["provider"], row["state"]): row["n"]
        for row in SyncRecord.objects.filter(
            provider__in=enabled,
            state__in=[State.PENDING, State.IN_FLIGHT, State.FAILED, State.NEEDS_ATTENTION],
        )
        .values("provider", "state")
        .annotate(n=Count("pk"))
        .order_by()
    }
    result = []
    for name in enabled:
        connection = known.get(name)
        result.append(
            {
                "name": name,
                "label": registry.label(name),
                "connected": connection is None
                or connection.status == ProviderConnection.Status.CONNECTED,
                "message": connection.status_message if connection else "",
                "sandbox": registry.connection(name).is_sandbox,
                "in_progress": counts.get((name, State.PENDING), 0)
                + counts.get((name, State.IN_FLIGHT), 0),
                "problems": counts.get((name, State.FAILED), 0)
                + counts.get((name, State.NEEDS_ATTENTION), 0),
                "connect_url": connect_url(name),
            }
        )
    return result


def connect_url(name: str) -> str:
    """Where staff connect a platform whose access a person grants (zevvy), if here."""
    from django.urls import NoReverseMatch, reverse

    if name != "zevvy":  # the only platform a person connects (OAuth device flow)
        return ""
    try:
        return reverse("admin:onboarding_connect_status", args=[name])
    except NoReverseMatch:
        return ""


def attention():
    rows = SyncRecord.objects.filter(
        provider__in=registry.enabled(), state__in=[State.FAILED, State.NEEDS_ATTENTION]
    ).defer("attempt_payload")
    shown = list(rows.select_related("content_type").order_by("-updated_at")[:ATTENTION_SHOWN])
    go_url = reverse("pages:go", args=[0, 0])  # one reverse for the list, not one a row
    for row in shown:
        row.platform_label = registry.label(row.provider)
        row.go_url = go_url.replace("/0/0/", f"/{row.content_type_id}/{row.object_id}/")
    return shown, rows.count()


@page
def dashboard(request):
    names = Space.objects.filter(parent__isnull=True).order_by("name").values_list("pk", "name")
    form = DashboardFilters(request.GET or None, buildings=list(names))
    data = form.cleaned_data if form.is_valid() else {}
    table, page_obj, settled = building_rows(request, data)
    attention_rows, attention_count = attention()
    context = {
        "form": form,
        "table": table,
        "page_obj": page_obj,
        "settled": settled,
        "platforms": registry.enabled(),
        "connections": connections(),
        "attention": attention_rows,
        "attention_count": attention_count,
        "space_type": ContentType.objects.get_for_model(Space),
    }
    return page_or_fragment(
        request, "onboarding/dashboard.html", "onboarding/_buildings.html", context
    )
