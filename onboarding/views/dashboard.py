"""The dashboard: buildings with their units and one badge per platform, filters,
search and pages; what needs attention, with retry; each platform's connection.

The number of queries does not depend on the number of rows shown: buildings, units,
what the units hold, and every outbox row of the page are each read in one query.
"""

from html import escape

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, Min, OuterRef, Q
from django.forms.utils import flatatt
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from providers import registry

from .. import sync_words
from ..models import ApiCall, Device, ProviderConnection, Space, SyncRecord, TenantUser
from . import drift as drift_views
from . import status
from .access import page
from .rendering import wants_fragment

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
    shown_pks = [b.pk for b in shown]
    units = list(
        # Only what a unit's row shows, as tuples: a page holds hundreds of units.
        units_query.filter(parent__in=shown_pks)
        .order_by("parent_id", "name")
        .values_list("pk", "name", "parent_id", named=True)
        if shown
        else Space.objects.none()
    )
    # Found by building (a short list), not by hundreds of unit ids: what a filter left
    # out is skipped below.
    contents = status.unit_contents(buildings=shown_pks)
    wanted: dict = {Space: shown_pks + [u.pk for u in units]}
    for unit in units:
        for model, pks in contents.get(unit.pk, {}).items():
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
        # A platform that takes nothing the unit holds yet (Spark, before a tenant) has
        # nothing to say about it: no "not sent yet".
        badges = [
            b
            for b in status.badges(unit_rows, all_platforms, now, disconnected)
            if b.total or b.platform in space_platforms
        ]
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
    table = []
    for b in shown:
        badges = status.badges(rows.get((Space, b.pk), []), space_platforms, now, disconnected)
        table.append(
            {
                "building": b,
                "url": space_url.replace("/0/", f"/{b.pk}/"),
                "badges": badges,
                "badges_html": status.badges_html(badges),
                "units": by_building[b.pk],
            }
        )
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
                # A platform a person connects (zevvy) is not connected before they did.
                "connected": connection.status == ProviderConnection.Status.CONNECTED
                if connection
                else not registry.person_connects(name),
                "message": sync_words.translate(connection.status_message)
                if connection
                else (_("Never connected yet.") if registry.person_connects(name) else ""),
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

    if not registry.person_connects(name):
        return ""
    try:
        return reverse("admin:onboarding_connect_status", args=[name])
    except NoReverseMatch:
        return ""


def attention():
    # Besides what failed: what the platforms hold otherwise (differs there, not sent).
    rows = SyncRecord.objects.filter(
        Q(state__in=[State.FAILED, State.NEEDS_ATTENTION])
        | Q(state=State.SYNCED, remote_state=SyncRecord.RemoteState.DIFFERS)
        | status.NOT_SENT,
        provider__in=registry.enabled(),
    ).defer("attempt_payload")
    shown = list(rows.select_related("content_type").order_by("-updated_at")[:ATTENTION_SHOWN])
    go_url = reverse("pages:go", args=[0, 0])  # one reverse for the list, not one a row
    began = trouble_began([row.pk for row in shown])
    for row in shown:
        row.platform_label = registry.label(row.provider)
        row.go_url = go_url.replace("/0/0/", f"/{row.content_type_id}/{row.object_id}/")
        row.since = began.get(row.pk) or row.created_at
        row.state_words = status.attention_words(row)
        row.reason = sync_words.translate(row.last_error)
        row.badge = status.badge(row.provider, [row])
        row.fixes = drift_views.row_fixes(row)
    return shown, rows.count()


def trouble_began(row_ids: list[int]) -> dict[int, object]:
    """{row: when its trouble began}: its first call after its last success (one query
    for the list). A row that never made a call (it waits for its parent) began when it
    was made."""
    if not row_ids:
        return {}
    after_success = Q(sync_record__last_synced_at__isnull=True) | Q(
        started_at__gt=F("sync_record__last_synced_at")
    )
    return dict(
        ApiCall.objects.filter(after_success, sync_record_id__in=row_ids)
        .values("sync_record_id")
        .annotate(first=Min("started_at"))
        .order_by()
        .values_list("sync_record_id", "first")
    )


@page
def dashboard(request):
    names = Space.objects.filter(parent__isnull=True).order_by("name").values_list("pk", "name")
    form = DashboardFilters(request.GET or None, buildings=list(names))
    data = form.cleaned_data if form.is_valid() else {}
    table, page_obj, settled = building_rows(request, data)
    context = {"form": form, "table": table, "page_obj": page_obj, "settled": settled}
    if wants_fragment(request):
        # The buildings alone (a filter, a page, the poll every 3 s while rows are on
        # their way): what needs attention and the connections are not part of it.
        return render(request, "onboarding/_buildings.html", context)
    attention_rows, attention_count = attention()
    context |= {
        "platforms": registry.enabled(),
        "connections": connections(),
        "attention": attention_rows,
        "attention_count": attention_count,
        "extra_count": drift_views.open_extras(),
        "space_type": ContentType.objects.get_for_model(Space),
    }
    return render(request, "onboarding/dashboard.html", context)
