"""The catalogue in the admin: browsable and searchable, read-only (it is pulled from
the platforms), with a refresh on demand; the pickers on Device and Space search it."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from providers import registry

from .models import CatalogueEntry, CatalogueRefresh
from .queries import linked_q
from .refresh import platforms
from .tasks import refresh_catalogue

SHOWN_WITH = (
    "linked_smartme_device__space__parent",
    "linked_climkit_device__space__parent",
    "linked_space__parent",
)


class LinkedFilter(admin.SimpleListFilter):
    title = "linked"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", "Linked"), ("no", "Not linked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(linked_q())
        if self.value() == "no":
            return queryset.exclude(linked_q())
        return queryset


class GoneFilter(admin.SimpleListFilter):
    title = "on the platform"
    parameter_name = "gone"

    def lookups(self, request, model_admin):
        return [("no", "Present"), ("yes", "Gone")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(gone_since__isnull=self.value() == "no")
        return queryset


class PlatformFilter(admin.SimpleListFilter):
    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        names = CatalogueEntry.objects.order_by().values_list("platform", flat=True).distinct()
        return [(name, registry.label(name)) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


def queue_refresh(platform_names) -> list[str]:
    labels = []
    for name in platform_names:
        refresh_catalogue.delay(name)
        labels.append(registry.label(name))
    return labels


@admin.action(description="Refresh catalogue (the platforms of the selected rows)")
def refresh_selected(modeladmin, request, queryset):
    names = sorted(set(queryset.values_list("platform", flat=True)) & set(platforms()))
    labels = queue_refresh(names)
    modeladmin.message_user(
        request,
        f"Refresh of {', '.join(labels) or 'no enabled platform'} queued; "
        "the outcome appears under 'Catalogue refreshes' in a moment.",
        messages.INFO,
    )


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "platform_label",
        "kind",
        "serial",
        "medium",
        "parent_shown",
        "last_value_shown",
        "linked_to_shown",
        "gone_since",
    )
    list_filter = (PlatformFilter, "kind", LinkedFilter, GoneFilter)
    search_fields = ("name", "serial", "remote_id")
    actions = [refresh_selected]
    list_per_page = 100
    readonly_fields = ("linked_to_shown",)

    def get_urls(self):
        return [
            path(
                "refresh/",
                self.admin_site.admin_view(require_POST(self.refresh_view)),
                name="onboarding_catalogueentry_refresh",
            ),
            *super().get_urls(),
        ]

    def refresh_view(self, request):
        names = platforms()
        if request.POST.get("platform"):
            names = [n for n in names if n == request.POST["platform"]]
        labels = queue_refresh(names)
        self.message_user(
            request,
            f"Refresh of {', '.join(labels) or 'no enabled platform'} queued; reload in a moment.",
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:onboarding_catalogueentry_changelist"))

    def changelist_view(self, request, extra_context=None):
        latest = []
        for name in platforms():
            last = CatalogueRefresh.objects.filter(platform=name).first()
            latest.append({"platform": name, "label": registry.label(name), "last": last})
        extra_context = {**(extra_context or {}), "catalogue_platforms": latest}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        # Each row names what it is linked to (its __str__ too, in the pickers).
        return super().get_queryset(request).select_related("parent", *SHOWN_WITH)

    def get_search_results(self, request, queryset, search_term):
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("field_name"):  # a picker: what is still on the platform
            queryset = queryset.filter(gone_since__isnull=True)
        return queryset, duplicates

    # Pulled from the platforms: nobody edits it here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Platform", ordering="platform")
    def platform_label(self, entry):
        return registry.label(entry.platform)

    @admin.display(description="Parent", ordering="parent__name")
    def parent_shown(self, entry):
        # Its name only: the parent's own str() would look up what it is linked to.
        return (entry.parent.name or entry.parent.remote_id) if entry.parent_id else ""

    @admin.display(description="Last value", ordering="last_value_at")
    def last_value_shown(self, entry):
        if entry.last_value is None:
            return ""
        text = f"{entry.last_value:g} {entry.last_value_unit}".strip()
        if entry.last_value_at is None:
            return text
        when = date_format(localtime(entry.last_value_at), "SHORT_DATETIME_FORMAT")
        return format_html('{}<br><small style="white-space:nowrap">{}</small>', text, when)

    @admin.display(description="Linked to")
    def linked_to_shown(self, entry):
        holder = entry.linked_to()
        if holder is None:
            return ""
        url = reverse(f"admin:onboarding_{holder._meta.model_name}_change", args=[holder.pk])
        return format_html('<a href="{}">{}</a>', url, holder)


@admin.register(CatalogueRefresh)
class CatalogueRefreshAdmin(admin.ModelAdmin):
    list_display = ("started_at", "platform", "ok", "total", "new", "changed", "gone", "message")
    list_filter = ("platform", "ok")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
