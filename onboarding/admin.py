"""The Django admin: operators' and support staff's daily tool.

Every change made here goes through onboarding.services, so the outbox is marked in the
same transaction; every domain model shows, per platform, what the outbox knows about
it and the calls made for it. The outbox, the call log and the platform connections
are read-only here (the only write is "Retry sync").
"""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext, quote
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Prefetch, Subquery
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime

from providers import registry
from readings.admin import DeviceReadingsMixin

from . import services
from .catalogue import admin as catalogue_admin  # noqa: F401 (registers the catalogue)
from .catalogue.forms import DeviceLinksForm, SpaceLinksForm
from .models import (
    ApiCall,
    Device,
    Invite,
    Meter,
    ProviderConnection,
    Space,
    SyncRecord,
    TenantUser,
    Vehicle,
)

State = SyncRecord.State
RETRYABLE = services.RETRYABLE
RECENT_CALLS = 20

STATE_COLOURS = {
    State.PENDING: "#b36b00",
    State.IN_FLIGHT: "#b36b00",
    State.SYNCED: "#2e7d32",
    State.FAILED: "#ba2121",
    State.NEEDS_ATTENTION: "#ba2121",
}


def admin_change_url(content_type: ContentType, object_id) -> str | None:
    """The admin change page of an object, or None if the admin has none."""
    try:
        return reverse(
            f"admin:{content_type.app_label}_{content_type.model}_change", args=[quote(object_id)]
        )
    except NoReverseMatch:
        return None


def render_rows(template: str, **context) -> str:
    # The template autoescapes every value; the result is safe to embed.
    return mark_safe(render_to_string(template, context))  # noqa: S308


def call_rows(calls) -> list[dict]:
    return [
        {
            "call": call,
            "platform": registry.label(call.provider),
            "url": reverse("admin:onboarding_apicall_change", args=[call.pk]),
        }
        for call in calls
    ]


def retry_rows(modeladmin, request, rows) -> None:
    """Hand the retryable rows to the service and tell staff how many went."""
    rows = [row for row in rows if row.state in RETRYABLE]
    count = services.retry(rows) if rows else 0
    if count:
        modeladmin.message_user(
            request,
            f"{count} sync row{'s' if count != 1 else ''} queued again.",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request,
            "Nothing to retry: no selected sync row is failed, needs attention or pending.",
            messages.WARNING,
        )


# --- list filters ---------------------------------------------------------------------


class SyncStateFilter(admin.SimpleListFilter):
    """Objects with at least one outbox row in the chosen state."""

    title = "sync state"
    parameter_name = "sync"

    GROUPS = {
        "problem": ("Failed or needs attention", (State.FAILED, State.NEEDS_ATTENTION)),
        "failed": ("Failed", (State.FAILED,)),
        "needs_attention": ("Needs attention", (State.NEEDS_ATTENTION,)),
        "pending": ("Pending or in flight", (State.PENDING, State.IN_FLIGHT)),
        "synced": ("Synced", (State.SYNCED,)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _states) in self.GROUPS.items()] + [
            ("none", "Not on any platform")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        rows = SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(queryset.model),
            object_id=OuterRef("pk"),
        )
        if value == "none":
            return queryset.filter(~Exists(rows.exclude(remote_id="")))
        if value in self.GROUPS:
            return queryset.filter(Exists(rows.filter(state__in=self.GROUPS[value][1])))
        return queryset


class DeletionRequestedFilter(admin.SimpleListFilter):
    title = "deletion"
    parameter_name = "deleting"

    def lookups(self, request, model_admin):
        return [("yes", "Being deleted"), ("no", "Not being deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deletion_requested_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deletion_requested_at__isnull=True)
        return queryset


# --- the domain models ----------------------------------------------------------------


@admin.action(description="Retry sync", permissions=["change"])
def retry_sync(modeladmin, request, queryset):
    rows = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(queryset.model),
        object_id__in=queryset.values("pk"),
        state__in=RETRYABLE,
    ).select_related("content_type")
    retry_rows(modeladmin, request, rows)


@admin.action(
    description="Delete selected %(verbose_name_plural)s",
    permissions=["delete"],
)
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete, with the deletion itself done by the service.

    Django's own action announces "Successfully deleted" whatever happened; here
    delete_queryset says what did happen (deleted, waiting for the platforms, refused).
    """
    if not request.POST.get("post"):
        return django_delete_selected(modeladmin, request, queryset)
    _objects, _count, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if perms_needed or protected:
        return django_delete_selected(modeladmin, request, queryset)
    modeladmin.delete_queryset(request, queryset)
    return None


class SyncedAdmin(admin.ModelAdmin):
    """What every synced model's admin shares: the sync column, filter, action and
    section, and saving and deleting through the service layer."""

    actions = [retry_sync]
    list_per_page = 50
    sync_fields = ("sync_state", "recent_calls")
    extra_readonly = ("created_at", "updated_at", "deletion_requested_at")

    def get_queryset(self, request):
        rows = SyncRecord.objects.order_by("provider")
        return super().get_queryset(request).prefetch_related(Prefetch("sync_records", rows))

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), SyncStateFilter, DeletionRequestedFilter]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                delete_selected,
                "delete_selected",
                actions["delete_selected"][2],
            )
        return actions

    # -- list columns

    @admin.display(description="Sync")
    def sync_summary(self, obj):
        rows = obj.sync_records.all()  # prefetched
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<span style="color:{}; white-space:nowrap" title="{}">{}: {}{}{}</span>',
            (
                (
                    STATE_COLOURS.get(row.state, "inherit"),
                    row.last_error,
                    registry.label(row.provider),
                    row.state,
                    " (delete)" if row.operation == SyncRecord.Operation.DELETE else "",
                    " (outcome unknown)" if row.outcome_unknown else "",
                )
                for row in rows
            ),
        )

    @admin.display(description="Deletion requested", ordering="deletion_requested_at")
    def deletion_state(self, obj):
        if obj.deletion_requested_at is None:
            return ""
        return format_html(
            '<strong style="color:#ba2121">Being deleted</strong> since {}',
            date_format(localtime(obj.deletion_requested_at), "SHORT_DATETIME_FORMAT"),
        )

    # -- change page

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [f for f in (*self.extra_readonly, *self.sync_fields) if f not in readonly]
        return readonly

    def get_fieldsets(self, request, obj=None):
        fields = [f for f in self.get_fields(request, obj) if f not in self.sync_fields]
        fieldsets = [(None, {"fields": fields})]
        if obj is not None:
            fieldsets += [
                ("Sync state", {"fields": ["sync_state"]}),
                ("Recent calls", {"fields": ["recent_calls"]}),
            ]
        return fieldsets

    @admin.display(description="Platforms")
    def sync_state(self, obj):
        rows = list(obj.sync_records.all())
        known = {row.provider for row in rows}
        missing = [registry.label(p) for p in registry.providers_for(type(obj)) if p not in known]
        return render_rows(
            "admin/onboarding/sync_state.html",
            rows=[
                {
                    "row": row,
                    "platform": registry.label(row.provider),
                    "url": reverse("admin:onboarding_syncrecord_change", args=[row.pk]),
                }
                for row in rows
            ],
            missing=missing,
            deletion_requested_at=obj.deletion_requested_at,
        )

    @admin.display(description="Calls")
    def recent_calls(self, obj):
        content_type = ContentType.objects.get_for_model(obj)
        calls = ApiCall.objects.filter(content_type=content_type, object_id=obj.pk).order_by(
            "-started_at"
        )[:RECENT_CALLS]
        return render_rows(
            "admin/onboarding/api_calls.html",
            calls=call_rows(calls),
            more_url=(
                reverse("admin:onboarding_apicall_changelist")
                + f"?content_type__id__exact={content_type.pk}&object_id={obj.pk}"
            ),
            limit=RECENT_CALLS,
        )

    # -- permissions: an object being deleted can no longer be changed

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deletion_requested_at:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.deletion_requested_at:
            return False
        return super().has_delete_permission(request, obj)

    # -- writes go through the service layer

    def get_deleted_objects(self, objs, request):
        # The object's outbox rows go with it (or are turned into deletions) through
        # services.delete; their own admin is read-only, which must not block this.
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(SyncRecord._meta.verbose_name)
        return to_delete, model_count, perms_needed, protected

    def save_model(self, request, obj, form, change):
        # The form has validated already (full_clean through the model form).
        services.save(obj, validate=False)

    def delete_model(self, request, obj):
        gone = services.delete(obj)
        request._onboarding_deletion_waits = not gone

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.DeletionRefused as refusal:
            # super() ran in a transaction that has been rolled back: nothing changed.
            self.message_user(request, f"Not deleted: {refusal}", messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )
            )

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_onboarding_deletion_waits", False):
            self.message_user(
                request,
                f"Deletion of “{obj_display}” requested: the platforms are told first; "
                "it disappears here once they have confirmed.",
                messages.WARNING,
            )
            opts = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_changelist",
                    current_app=self.admin_site.name,
                )
            )
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        deleted, waiting, refused, skipped = [], [], [], []
        for obj in queryset:
            if obj.deletion_requested_at:
                skipped.append(obj)
                continue
            display = str(obj)
            pk = obj.pk
            try:
                gone = services.delete(obj)
            except services.DeletionRefused as refusal:
                refused.append((display, str(refusal)))
                continue
            if gone:
                obj.pk = pk  # Model.delete() clears it; the log entry needs it.
                deleted.append(obj)
            else:
                waiting.append(obj)
        if deleted:
            self.log_deletions(request, deleted)
            self.message_user(
                request,
                f"Deleted {len(deleted)} {model_ngettext(self.opts, len(deleted))}.",
                messages.SUCCESS,
            )
        if waiting:
            self.message_user(
                request,
                f"Deletion requested for {len(waiting)} "
                f"{model_ngettext(self.opts, len(waiting))}: the platforms are told first; "
                "they disappear here once the platforms have confirmed.",
                messages.WARNING,
            )
        if skipped:
            self.message_user(
                request,
                f"{len(skipped)} {model_ngettext(self.opts, len(skipped))} already being deleted.",
                messages.INFO,
            )
        for display, reason in refused:
            self.message_user(request, f"Not deleted: “{display}”: {reason}", messages.ERROR)


class BuildingFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("building", "Buildings"), ("unit", "Units")]

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
        "building",
        "category",
        "postcode",
        "city",
        "unit_count",
        "sync_summary",
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

    @admin.display(description="Building", ordering="parent__name")
    def building(self, obj):
        if obj.parent_id is None:
            return ""
        url = reverse("admin:onboarding_space_change", args=[obj.parent_id])
        return format_html('<a href="{}">{}</a>', url, obj.parent.name)

    @admin.display(description="Units", ordering="_unit_count")
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
                    f"Its {units} unit{'s' if units != 1 else ''} follow the building's "
                    "address and were marked for sync too.",
                    messages.INFO,
                )


@admin.register(Device)
class DeviceAdmin(DeviceReadingsMixin, SyncedAdmin):
    list_display = (
        "name",
        "space",
        "medium",
        "device_type",
        "is_main_device",
        "external_device_id",
        "sync_summary",
        "deletion_state",
    )
    list_filter = ("medium", "device_type", "is_main_device")
    search_fields = ("name", "external_device_id", "space__name", "space__parent__name")
    list_select_related = ("space", "space__parent")
    autocomplete_fields = ("space", "smartme_device", "climkit_meter")
    form = DeviceLinksForm


@admin.register(TenantUser)
class TenantUserAdmin(SyncedAdmin):
    list_display = ("name", "email", "phone", "unit", "sync_summary", "deletion_state")
    search_fields = ("name", "email", "phone", "unit__name", "unit__parent__name")
    list_select_related = ("unit", "unit__parent")
    autocomplete_fields = ("unit",)


@admin.register(Invite)
class InviteAdmin(SyncedAdmin):
    list_display = (
        "email",
        "space",
        "tenant",
        "status",
        "send_invite_email",
        "sync_summary",
        "deletion_state",
    )
    list_filter = ("status", "send_invite_email")
    search_fields = ("email", "space__name", "space__parent__name", "tenant__name")
    list_select_related = ("space", "space__parent", "tenant")
    autocomplete_fields = ("space", "tenant")
    extra_readonly = (*SyncedAdmin.extra_readonly, "status", "invite_link")


@admin.register(Meter)
class MeterAdmin(SyncedAdmin):
    list_display = (
        "meter_point_id",
        "meter_number",
        "tenant",
        "location_type",
        "sync_summary",
        "deletion_state",
    )
    list_filter = ("location_type",)
    search_fields = ("meter_point_id", "meter_number", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)


@admin.register(Vehicle)
class VehicleAdmin(SyncedAdmin):
    list_display = (
        "brand",
        "model",
        "year",
        "vin",
        "tenant",
        "sync_summary",
        "deletion_state",
    )
    search_fields = ("brand", "model", "vin", "vehicle_id", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "vehicle_id")


# --- the outbox, the call log, the connections: read-only -----------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # these tables grow large

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "object_repr",
        "object_link",
        "platform",
        "state",
        "operation",
        "attempts",
        "not_before",
        "short_error",
        "last_synced_at",
    )
    list_filter = (
        "provider",
        "state",
        "operation",
        "outcome_unknown",
        ("content_type", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("object_repr", "remote_id")
    list_select_related = ("content_type",)
    actions = ["retry"]
    fields = (
        "object_link",
        "object_repr",
        "platform",
        "state",
        "operation",
        "remote_id",
        "attempts",
        "not_before",
        "queued_at",
        "claimed_at",
        "outcome_unknown",
        "last_error",
        "last_synced_at",
        "created_at",
        "updated_at",
        "calls",
    )
    readonly_fields = fields

    @admin.action(description="Retry sync", permissions=["retry"])
    def retry(self, request, queryset):
        retry_rows(self, request, queryset.select_related("content_type"))

    def has_retry_permission(self, request):
        return request.user.has_perm("onboarding.change_syncrecord")

    @admin.display(description="Platform", ordering="provider")
    def platform(self, row):
        return registry.label(row.provider)

    @admin.display(description="Object")
    def object_link(self, row):
        url = admin_change_url(row.content_type, row.object_id)
        text = f"{row.content_type.model} #{row.object_id}"
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description="Last error")
    def short_error(self, row):
        return Truncator(row.last_error).chars(80)

    @admin.display(description="Calls (newest first)")
    def calls(self, row):
        return render_rows(
            "admin/onboarding/api_calls.html",
            calls=call_rows(row.calls.order_by("-started_at")[:50]),
            more_url=reverse("admin:onboarding_apicall_changelist")
            + f"?sync_record__id__exact={row.pk}",
            limit=50,
        )


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [
            ("2", "2xx"),
            ("3", "3xx"),
            ("4", "4xx"),
            ("5", "5xx"),
            ("none", "No response"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(status__isnull=True)
        if value in ("2", "3", "4", "5"):
            low = int(value) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "provider", "method", "path", "status", "duration_ms", "error")
    list_filter = ("provider", "method", StatusClassFilter)
    search_fields = ("path", "error")
    date_hierarchy = "started_at"
    fields = (
        "started_at",
        "provider",
        "method",
        "path",
        "status",
        "duration_ms",
        "error",
        "record_link",
        "object_link",
        "request_body_pre",
        "response_body_pre",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The links from an object's "Recent calls" and a sync row's page.
        if lookup in ("object_id", "content_type__id__exact", "sync_record__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="Sync row")
    def record_link(self, call):
        if call.sync_record_id is None:
            return "—"
        url = reverse("admin:onboarding_syncrecord_change", args=[call.sync_record_id])
        return format_html('<a href="{}">#{}</a>', url, call.sync_record_id)

    @admin.display(description="Object")
    def object_link(self, call):
        if call.content_type_id is None:
            return "—"
        content_type = ContentType.objects.get_for_id(call.content_type_id)
        url = admin_change_url(content_type, call.object_id)
        text = f"{content_type.model} #{call.object_id}"
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description="Request body")
    def request_body_pre(self, call):
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', call.request_body or "—")

    @admin.display(description="Response body")
    def response_body_pre(self, call):
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', call.response_body or "—")


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(ReadOnlyAdmin):
    # The token is never loaded (deferred), so it is neither decrypted nor rendered.
    list_display = ("provider", "status", "status_message", "token_expires_at", "updated_at")
    list_filter = ("status",)
    fields = ("provider", "status", "status_message", "token_expires_at", "updated_at")
    readonly_fields = fields
    exclude = ("access_token", "refresh_token")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("access_token", "refresh_token")
