"""Spaces (buildings and their units) and their devices."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..catalogue.forms import DeviceLinksForm, SpaceLinksForm
from ..models import (
    Device,
    Space,
)
from ..readings import panel as readings_panel
from ..readings.models import Reading
from ..sync_display import exact
from .base import SyncedAdmin


class BuildingFilter(admin.SimpleListFilter):
    title = gettext_lazy("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("building", _("Buildings")), ("unit", _("Units"))]

    def queryset(self, request, queryset):
        if self.value() == "building":
            return queryset.filter(parent__isnull=True)
        if self.value() == "unit":
            return queryset.filter(parent__isnull=False)
        return queryset


@admin.register(Space)
class SpaceAdmin(SyncedAdmin):
    list_display = (
        "name",
        "sync_summary",
        "building",
        "category",
        "postcode",
        "city",
        "unit_count",
        "deletion_state",
    )
    list_filter = (BuildingFilter, "category")
    search_fields = ("name", "parent__name", "address_line_one", "postcode", "city")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent", "climkit_site")
    form = SpaceLinksForm

    def get_queryset(self, request):
        # A subquery, not Count("units"): a GROUP BY would drop Meta.ordering.
        units = (
            Space.objects.filter(parent=OuterRef("pk"))
            .order_by()
            .values("parent")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_unit_count=Subquery(units))

    @admin.display(description=gettext_lazy("Building"), ordering="parent__name")
    def building(self, obj):
        if obj.parent_id is None:
            return ""
        url = reverse("admin:onboarding_space_change", args=[obj.parent_id])
        return format_html('<a href="{}">{}</a>', url, obj.parent.name)

    @admin.display(description=gettext_lazy("Units"), ordering="_unit_count")
    def unit_count(self, obj):
        if not obj._unit_count:
            return ""
        url = reverse("admin:onboarding_space_changelist") + f"?parent__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj._unit_count)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The "building" picker offers buildings only (a unit cannot contain units).
        if request.GET.get("model_name") == "space" and request.GET.get("field_name") == "parent":
            queryset = queryset.filter(parent__isnull=True)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.is_building:
            units = obj._unit_count if hasattr(obj, "_unit_count") else obj.units.count()
            if units:
                self.message_user(
                    request,
                    ngettext(
                        "Its %(n)s unit follows the building's address and was marked for "
                        "sync too.",
                        "Its %(n)s units follow the building's address and were marked for "
                        "sync too.",
                        units,
                    )
                    % {"n": units},
                    messages.INFO,
                )


@admin.register(Device)
class DeviceAdmin(SyncedAdmin):
    # Fits 1,400 px: medium and type share a column, "being deleted" shows by the name.
    list_display = (
        "name_shown",
        "sync_summary",
        "space",
        "kind_shown",
        "is_main_device",
        "external_device_id",
    )
    list_filter = ("medium", "device_type", "is_main_device")
    search_fields = ("name", "external_device_id", "space__name", "space__parent__name")
    list_select_related = ("space", "space__parent")
    autocomplete_fields = ("space", "smartme_device", "climkit_meter")
    form = DeviceLinksForm

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def name_shown(self, obj):
        if obj.deletion_requested_at is None:
            return obj.name
        return format_html(
            '{}<br><strong style="color:#ba2121">{}</strong> {}',
            obj.name,
            _("Being deleted"),
            _("since %(when)s") % {"when": exact(obj.deletion_requested_at)},
        )

    @admin.display(description=gettext_lazy("medium · type"), ordering="medium")
    def kind_shown(self, obj):
        return f"{obj.get_medium_display()} · {obj.get_device_type_display()}"

    def get_deleted_objects(self, objs, request):
        # Readings go with their device (onboarding/readings/signals.py) without being
        # listed one by one.
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        count = Reading.objects.filter(device__in=list(objs))[
            : readings_panel.COUNT_CAP + 1
        ].count()
        if count:
            label = Reading._meta.verbose_name_plural
            model_count[label] = readings_panel.capped(count)
            to_delete.append(
                _("%(n)s %(readings)s, with the device")
                % {"n": readings_panel.capped(count), "readings": label}
            )
        return to_delete, model_count, perms_needed, protected
