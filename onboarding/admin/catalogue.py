"""The catalogue in the admin: browsable and searchable, read-only (it is pulled from
the platforms), with a refresh on demand; the pickers on Device and Space search it."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from providers import registry

from ..catalogue.models import CatalogueEntry, CatalogueRefresh, CatalogueRefreshQueued
from ..catalogue.queries import linked_q
from ..catalogue.refresh import platforms
from ..catalogue.tasks import queue
from ..roles import REFRESH_CATALOGUE

SHOWN_WITH = (
    "linked_smartme_device__space__parent",
    "linked_climkit_device__space__parent",
    "linked_space__parent",
)


class LinkedFilter(admin.SimpleListFilter):
    title = gettext_lazy("linked")
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", _("Linked")), ("no", _("Not linked"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(linked_q())
        if self.value() == "no":
            return queryset.exclude(linked_q())
        return queryset


class GoneFilter(admin.SimpleListFilter):
    title = gettext_lazy("on the platform")
    parameter_name = "gone"

    def lookups(self, request, model_admin):
        return [("no", _("Present")), ("yes", _("Gone"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(gone_since__isnull=self.value() == "no")
        return queryset


class PlatformFilter(admin.SimpleListFilter):
    title = gettext_lazy("platform")
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        names = CatalogueEntry.objects.order_by().values_list("platform", flat=True).distinct()
        return [(name, registry.label(name)) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


def queue_refresh(request, platform_names, then: str) -> None:
    """Queue a refresh per platform, at most one per CATALOGUE_REFRESH_MIN_SECONDS (a
    refresh spends the platform's budget: Climkit's 1 request/s is everyone's); says
    which were queued (and `then` what to do) and which were asked for too soon."""
    labels, too_soon = [], []
    for name in platform_names:
        if cache.add(f"catalogue-refresh-asked:{name}", 1, settings.CATALOGUE_REFRESH_MIN_SECONDS):
            queue(name, by=request.user.get_username())
            labels.append(registry.label(name))
        else:
            too_soon.append(registry.label(name))
    if too_soon:
        messages.warning(
            request,
            _("%(platforms)s: a refresh was asked for less than %(n)s s ago; try again later.")
            % {"platforms": ", ".join(too_soon), "n": settings.CATALOGUE_REFRESH_MIN_SECONDS},
        )
    if labels or not platform_names:
        queued = ", ".join(labels) or _("no enabled platform")
        messages.info(request, _("Refresh of %(platforms)s queued; %(then)s.") % {
            "platforms": queued, "then": then
        })  # fmt: skip


@admin.action(
    description=gettext_lazy("Refresh catalogue (the platforms of the selected rows)"),
    permissions=["refresh_catalogue"],
)
def refresh_selected(modeladmin, request, queryset):
    names = sorted(set(queryset.values_list("platform", flat=True)) & set(platforms()))
    queue_refresh(request, names, _("the outcome appears under “Catalogue refreshes” in a moment"))


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

    def has_refresh_catalogue_permission(self, request):
        return request.user.has_perm(REFRESH_CATALOGUE)

    def refresh_view(self, request):
        if not self.has_refresh_catalogue_permission(request):
            raise PermissionDenied
        names = platforms()
        if request.POST.get("platform"):
            names = [n for n in names if n == request.POST["platform"]]
        queue_refresh(request, names, _("this page shows its progress and its result"))
        return HttpResponseRedirect(reverse("admin:onboarding_catalogueentry_changelist"))

    def changelist_view(self, request, extra_context=None):
        # An action this user may not run is a 403, not Django's quiet "no action".
        if (
            request.method == "POST"
            and request.POST.get("action") == "refresh_selected"
            and not self.has_refresh_catalogue_permission(request)
        ):
            raise PermissionDenied
        latest = []
        queued = {q.platform: q for q in CatalogueRefreshQueued.objects.all()}
        for name in platforms():
            last = CatalogueRefresh.objects.filter(platform=name).first()
            latest.append(
                {"platform": name, "label": registry.label(name), "last": last,
                 "queued": queued.get(name)}
            )  # fmt: skip
        extra_context = {
            **(extra_context or {}),
            "catalogue_platforms": latest,
            "refresh_under_way": any(p["queued"] for p in latest),
            "may_refresh": self.has_refresh_catalogue_permission(request),
        }
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

    @admin.display(description=gettext_lazy("Platform"), ordering="platform")
    def platform_label(self, entry):
        return registry.label(entry.platform)

    @admin.display(description=gettext_lazy("Parent"), ordering="parent__name")
    def parent_shown(self, entry):
        # Its name only: the parent's own str() would look up what it is linked to.
        return (entry.parent.name or entry.parent.remote_id) if entry.parent_id else ""

    @admin.display(description=gettext_lazy("Last value"), ordering="last_value_at")
    def last_value_shown(self, entry):
        if entry.last_value is None:
            return ""
        text = f"{entry.last_value:g} {entry.last_value_unit}".strip()
        if entry.last_value_at is None:
            return text
        when = date_format(localtime(entry.last_value_at), "SHORT_DATETIME_FORMAT")
        return format_html('{}<br><small style="white-space:nowrap">{}</small>', text, when)

    @admin.display(description=gettext_lazy("Linked to"))
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
