"""The Django admin: operators' and support staff's daily tool.

Every change made here goes through onboarding.services, so the outbox is marked in the
same transaction; every domain model shows, per platform, what the outbox knows about
it and the calls made for it. The outbox, the call log and the platform connections
are read-only here (the only write is "Retry sync").
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext, quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Subquery
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from climkit_pull.device_admin import DeviceClimkitPullMixin
from providers import coverage, registry
from readings.admin import DeviceReadingsMixin
from spark_events.vehicle_admin import VehicleChargeReportsMixin

from . import connect_admin, services
from .catalogue import admin as catalogue_admin  # noqa: F401 (registers the catalogue)
from .catalogue.forms import DeviceLinksForm, SpaceLinksForm
from .forms import SyncedForm
from .models import (
    ApiCall,
    Device,
    Invite,
    Meter,
    ProviderConnection,
    Resource,
    Space,
    SyncRecord,
    TenantUser,
    Vehicle,
)
from .sync import attention
from .sync_display import badge, exact, next_try, state_label, taker_badge

State = SyncRecord.State
RETRYABLE = services.RETRYABLE
RECENT_CALLS = 20


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


def retry_rows(modeladmin, request, rows):
    """Hand the retryable rows to the service and tell staff how many went. Where a
    Retry could make a second invite, staff are asked first (an intermediate page)."""
    rows = [row for row in rows if row.state in RETRYABLE]
    blind = services.blind_resends(rows)
    choice = request.POST.get("unknown_outcome")
    if blind and choice not in ("look_again", "resend"):
        return TemplateResponse(
            request,
            "admin/onboarding/confirm_retry.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Retry: it may already exist on the platform",
                "blind": blind,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
            },
        )
    count = services.retry(rows, resend_unknown=choice == "resend") if rows else 0
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


def accept_rows(modeladmin, request, rows) -> None:
    """Staff accept rows that need attention as they are; say what happened."""
    rows = list(rows)
    count = attention.accept_as_is(rows, request.user.get_username())
    if count:
        modeladmin.message_user(
            request,
            f"{count} sync row{'s' if count != 1 else ''} accepted as is "
            f"by {request.user.get_username()}; the last error is kept for the record. "
            "The next change of the object sends it again.",
            messages.SUCCESS,
        )
    left = len(rows) - count
    if left or not rows:
        modeladmin.message_user(
            request,
            f"{left} selected sync row{'s' if left != 1 else ''} left alone: only a change "
            "or create that needs attention can be accepted as is; not a deletion, nor a "
            "create that units or devices wait for (Retry those instead).",
            messages.WARNING,
        )


@admin.action(description="Retry sync", permissions=["change"])
def retry_sync(modeladmin, request, queryset):
    rows = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(queryset.model),
        object_id__in=queryset.values("pk"),
        state__in=RETRYABLE,
    ).select_related("content_type")
    return retry_rows(modeladmin, request, rows)


@admin.action(description="Accept as is (rows that need attention)", permissions=["change"])
def accept_as_is(modeladmin, request, queryset):
    rows = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(queryset.model),
        object_id__in=queryset.values("pk"),
        state=State.NEEDS_ATTENTION,
    )
    accept_rows(modeladmin, request, rows)


@admin.action(
    description="Delete selected %(verbose_name_plural)s",
    permissions=["delete"],
)
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete, with the deletion itself done by the service.

    What a platform would refuse is said first and left out of the confirmation page.
    Django's own action announces "Successfully deleted" whatever happened; here
    delete_queryset says what did happen (deleted, waiting for the platforms, refused).
    """
    if not request.POST.get("post"):
        refused: dict[str, list] = {}  # reason → objects
        for obj in queryset:
            reason = attention.deletion_refusal(obj)
            if reason:
                refused.setdefault(reason, []).append(obj)
        for reason, objs in refused.items():
            names = ", ".join(f"“{obj}”" for obj in objs[:5])
            more = f" and {len(objs) - 5} more" if len(objs) > 5 else ""
            modeladmin.message_user(
                request, f"Cannot delete {names}{more}: {reason}", messages.ERROR
            )
        queryset = queryset.exclude(pk__in=[obj.pk for objs in refused.values() for obj in objs])
        if not queryset.exists():
            return None  # back to the list, with the reasons
        return django_delete_selected(modeladmin, request, queryset)
    _objects, _count, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if perms_needed or protected:
        return django_delete_selected(modeladmin, request, queryset)
    modeladmin.delete_queryset(request, queryset)
    return None


class SyncedAdmin(admin.ModelAdmin):
    """What every synced model's admin shares: the sync column, filter, actions and
    section, refusing what a platform cannot apply, and saving and deleting through the
    service layer."""

    form = SyncedForm
    actions = [retry_sync, accept_as_is]
    list_per_page = 50
    change_form_template = "admin/onboarding/change_form.html"
    sync_fields = ("sync_state", "recent_calls")
    extra_readonly = ("created", "updated", "deletion_requested")

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
        """One badge per platform, placed next to the name: the first thing seen."""
        now = timezone.now()
        rows = obj.sync_records.all()  # prefetched
        badges = [badge(row, now) for row in rows]
        known = {row.provider for row in rows}
        badges += [
            taker_badge(taker)
            for taker in coverage.takers(type(obj))
            if taker.status != taker.ENABLED and taker.name not in known
        ]
        if not badges:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<span style="color:{}; white-space:nowrap; font-weight:600" title="{}">{}</span>',
            ((b["colour"], b["title"], b["text"]) for b in badges),
        )

    @admin.display(description="Deletion requested", ordering="deletion_requested_at")
    def deletion_state(self, obj):
        if obj.deletion_requested_at is None:
            return ""
        return format_html(
            '<strong style="color:#ba2121">Being deleted</strong> since {}',
            exact(obj.deletion_requested_at),
        )

    # -- change page

    @admin.display(description="Created")
    def created(self, obj):
        return exact(obj.created_at)

    @admin.display(description="Updated")
    def updated(self, obj):
        return exact(obj.updated_at)

    @admin.display(description="Deletion requested")
    def deletion_requested(self, obj):
        return exact(obj.deletion_requested_at)

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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            # Said before saving, next to the field: what will not reach a platform.
            for name, reasons in attention.fixed_fields(obj).items():
                if name in form.base_fields:
                    # The admin renders help texts as HTML: escape ours.
                    reason = " ".join(dict.fromkeys(reasons))
                    form.base_fields[name].help_text = escape(f"Fixed: {reason}")
        return form

    @admin.display(description="Platforms")
    def sync_state(self, obj):
        now = timezone.now()
        rows = list(obj.sync_records.all())
        known = {row.provider for row in rows}
        takers = coverage.takers(type(obj))
        return render_rows(
            "admin/onboarding/sync_state.html",
            rows=[
                {
                    "row": row,
                    "platform": coverage.label(row.provider),
                    "state": state_label(row, full=True),
                    "next_try": next_try(row, now),
                    "not_before": exact(row.not_before) if row.state == State.PENDING else "—",
                    "last_synced": exact(row.last_synced_at, "never"),
                    "accepted": (
                        f"Accepted as is by {row.dismissed_by} at {exact(row.dismissed_at)}"
                        if attention.is_accepted(row)
                        else ""
                    ),
                    "url": reverse("admin:onboarding_syncrecord_change", args=[row.pk]),
                }
                for row in rows
            ],
            missing=[t.label for t in takers if t.status == t.ENABLED and t.name not in known],
            not_in_use=[t.note for t in takers if t.status != t.ENABLED],
            no_taker=not takers,
            deletion_requested_at=exact(obj.deletion_requested_at, ""),
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
        if change:
            # The outbox's search follows a rename (its list shows the live name anyway).
            SyncRecord.objects.filter(
                content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
            ).update(object_repr=str(obj)[:300])

    def delete_model(self, request, obj):
        gone = services.delete(obj)
        request._onboarding_deletion_waits = not gone

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        reason = attention.deletion_refusal(obj) if obj is not None else None
        if reason:
            # Said on the page, instead of a Delete button that leads to a refusal.
            extra_context.update(show_delete=False, delete_refusal=reason)
        return super().change_view(request, object_id, form_url, extra_context)

    def _back_to_change_page(self, object_id):
        opts = self.opts
        return HttpResponseRedirect(
            reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
        )

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_delete_permission(request, obj):
            reason = attention.deletion_refusal(obj)
            if reason:  # before the confirmation page, not after it
                self.message_user(request, f"Cannot delete “{obj}”: {reason}", messages.ERROR)
                return self._back_to_change_page(object_id)
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.DeletionRefused as refusal:
            # Refused under the service's row locks (the state changed since the page
            # was shown); super() ran in a transaction that has been rolled back.
            self.message_user(request, f"Not deleted: {refusal}", messages.ERROR)
            return self._back_to_change_page(object_id)

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
class DeviceAdmin(DeviceClimkitPullMixin, DeviceReadingsMixin, SyncedAdmin):
    list_display = (
        "name",
        "sync_summary",
        "space",
        "medium",
        "device_type",
        "is_main_device",
        "external_device_id",
        "deletion_state",
    )
    list_filter = ("medium", "device_type", "is_main_device")
    search_fields = ("name", "external_device_id", "space__name", "space__parent__name")
    list_select_related = ("space", "space__parent")
    autocomplete_fields = ("space", "smartme_device", "climkit_meter")
    form = DeviceLinksForm


@admin.register(TenantUser)
class TenantUserAdmin(SyncedAdmin):
    list_display = ("name", "sync_summary", "email", "phone", "unit", "deletion_state")
    search_fields = ("name", "email", "phone", "unit__name", "unit__parent__name")
    list_select_related = ("unit", "unit__parent")
    autocomplete_fields = ("unit",)


class InviteForm(SyncedForm):
    """The e-mail comes from the chosen tenant when left empty (the page's script fills
    it in as soon as a tenant is chosen)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "email" in self.fields:
            self.fields["email"].required = False
            if not self.fields["email"].help_text:  # "Fixed: …" comes first
                self.fields["email"].help_text = "Left empty: the chosen tenant's e-mail."

    def clean_email(self):
        email = self.cleaned_data.get("email")
        tenant = self.cleaned_data.get("tenant")  # cleaned first: it comes first
        if not email and tenant is not None:
            return tenant.email
        if not email:
            raise forms.ValidationError("Enter the e-mail, or choose a tenant to use theirs.")
        return email


def tenant_elsewhere(invite: Invite) -> str:
    """A warning when the invite's tenant lives in another unit than the invite's."""
    tenant = invite.tenant
    if tenant is None or invite.space_id is None or tenant.unit_id == invite.space_id:
        return ""
    return (
        f"{tenant.name} lives in {tenant.unit}, not in {invite.space}: this invite gives "
        f"them access to {invite.space}. Check that this is the unit you meant."
    )


@admin.register(Invite)
class InviteAdmin(SyncedAdmin):
    form = InviteForm
    list_display = (
        "email",
        "sync_summary",
        "space",
        "tenant",
        "status",
        "send_invite_email",
        "deletion_state",
    )
    list_filter = ("status", "send_invite_email")
    search_fields = ("email", "space__name", "space__parent__name", "tenant__name")
    list_select_related = ("space", "space__parent", "tenant")
    autocomplete_fields = ("space", "tenant")
    extra_readonly = (*SyncedAdmin.extra_readonly, "status", "invite_link")

    class Media:
        js = ("onboarding/invite_form.js",)

    def get_urls(self):
        return [
            path(
                "tenant/<int:pk>/",
                self.admin_site.admin_view(self.tenant_view),
                name="onboarding_invite_tenant",
            ),
            *super().get_urls(),
        ]

    def tenant_view(self, request, pk):
        """The chosen tenant's e-mail and unit, for the invite form's script."""
        if not self.admin_site._registry[TenantUser].has_view_permission(request):
            raise PermissionDenied
        tenant = get_object_or_404(TenantUser.objects.select_related("unit__parent"), pk=pk)
        return JsonResponse(
            {"email": tenant.email, "unit_id": tenant.unit_id, "unit": str(tenant.unit)}
        )

    def render_change_form(self, request, context, *args, **kwargs):
        context["tenant_url"] = reverse("admin:onboarding_invite_tenant", args=[0])
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        warning = tenant_elsewhere(obj)
        if warning:
            self.message_user(request, warning, messages.WARNING)


@admin.register(Meter)
class MeterAdmin(SyncedAdmin):
    list_display = (
        "meter_point_id",
        "sync_summary",
        "meter_number",
        "tenant",
        "location_type",
        "deletion_state",
    )
    list_filter = ("location_type",)
    search_fields = ("meter_point_id", "meter_number", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)


@admin.register(Vehicle)
class VehicleAdmin(VehicleChargeReportsMixin, SyncedAdmin):
    list_display = (
        "brand",
        "model",
        "sync_summary",
        "year",
        "vin",
        "tenant",
        "deletion_state",
    )
    search_fields = ("brand", "model", "vin", "vehicle_id", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "vehicle_id")


@admin.register(Resource)
class ResourceAdmin(SyncedAdmin):
    list_display = (
        "kind",
        "brand",
        "model",
        "capacity",
        "heating_elements",
        "tenant",
        "sync_summary",
        "deletion_state",
    )
    list_filter = ("kind",)
    search_fields = ("brand", "model", "resource_id", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "resource_id")


# --- the outbox, the call log, the connections: read-only -----------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # these tables grow large

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlatformFilter(admin.SimpleListFilter):
    """The platforms by name ("Zählerfreunde"), not by code."""

    title = "platform"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        # The known platforms, not a DISTINCT over a table that grows large.
        return [(name, coverage.label(name)) for name in registry.KNOWN]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class AcceptedFilter(admin.SimpleListFilter):
    title = "accepted as is"
    parameter_name = "accepted"

    def lookups(self, request, model_admin):
        return [("yes", "Accepted as is"), ("no", "Not accepted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state=State.SYNCED, dismissed_at__isnull=False)
        if self.value() == "no":
            return queryset.exclude(state=State.SYNCED, dismissed_at__isnull=False)
        return queryset


# Each model loaded with what its str() reads, so the list's live names cost one query
# per model, not one per row.
LIVE_NAME_QUERYSETS = [
    Space.objects.select_related("parent"),
    Device.objects.select_related("space__parent"),
    Invite.objects.select_related("space__parent"),
]


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "shown_name",
        "state_badge",
        "object_link",
        "platform",
        "attempts",
        "next_try_at",
        "short_error",
        "last_synced",
    )
    list_filter = (
        PlatformFilter,
        "state",
        "operation",
        "outcome_unknown",
        AcceptedFilter,
        ("content_type", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("object_repr", "remote_id")
    list_select_related = ("content_type",)
    actions = ["retry", "accept"]
    fields = (
        "object_link",
        "shown_name",
        "platform",
        "state_badge",
        "operation",
        "remote_id",
        "attempts",
        "next_try_at",
        "queued",
        "claimed",
        "outcome_unknown",
        "last_error",
        "last_synced",
        "accepted_as_is",
        "created",
        "updated",
        "calls",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(GenericPrefetch("target", LIVE_NAME_QUERYSETS))
        )

    @admin.action(description="Retry sync", permissions=["retry"])
    def retry(self, request, queryset):
        return retry_rows(self, request, queryset.select_related("content_type"))

    @admin.action(description="Accept as is (rows that need attention)", permissions=["retry"])
    def accept(self, request, queryset):
        accept_rows(self, request, queryset)

    def has_retry_permission(self, request):
        return request.user.has_perm("onboarding.change_syncrecord")

    @admin.display(description="Object", ordering="object_repr")
    def shown_name(self, row):
        """The object's current name (object_repr is what it was called when queued)."""
        target = row.target  # prefetched
        if target is None:
            return f"{row.object_repr} (deleted)" if row.object_repr else "(deleted)"
        return str(target)

    @admin.display(description="State", ordering="state")
    def state_badge(self, row):
        shown = badge(row)
        return format_html(
            '<span style="color:{}; white-space:nowrap; font-weight:600" title="{}">{}</span>',
            shown["colour"],
            shown["title"],
            state_label(row),
        )

    @admin.display(description="Platform", ordering="provider")
    def platform(self, row):
        return coverage.label(row.provider)

    @admin.display(description="Link")
    def object_link(self, row):
        url = admin_change_url(row.content_type, row.object_id)
        text = f"{row.content_type.model} #{row.object_id}"
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description="Next try", ordering="not_before")
    def next_try_at(self, row):
        when = next_try(row)
        if not when:
            return "—"
        return format_html('<span title="{}">{}</span>', exact(row.not_before), when)

    @admin.display(description="Last synced", ordering="last_synced_at")
    def last_synced(self, row):
        return exact(row.last_synced_at, "never")

    @admin.display(description="Queued")
    def queued(self, row):
        return exact(row.queued_at)

    @admin.display(description="Claimed")
    def claimed(self, row):
        return exact(row.claimed_at)

    @admin.display(description="Created")
    def created(self, row):
        return exact(row.created_at)

    @admin.display(description="Updated")
    def updated(self, row):
        return exact(row.updated_at)

    @admin.display(description="Accepted as is")
    def accepted_as_is(self, row):
        if row.dismissed_at is None:
            return "—"
        still = "" if attention.is_accepted(row) else " (no longer: changed since)"
        return f"by {row.dismissed_by} at {exact(row.dismissed_at)}{still}"

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
    list_display = ("started", "platform", "method", "path", "status", "duration_ms", "error")
    list_filter = (PlatformFilter, "method", StatusClassFilter)
    search_fields = ("path", "error")
    date_hierarchy = "started_at"
    fields = (
        "started",
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

    @admin.display(description="Started", ordering="started_at")
    def started(self, call):
        return exact(call.started_at)

    @admin.display(description="Platform", ordering="provider")
    def platform(self, call):
        return coverage.label(call.provider)

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

    # The "Connect zevvy" panel (onboarding/connect_admin.py): a person grants access.
    change_list_template = "admin/onboarding/providerconnection/change_list.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "connect/<str:provider>/start/",
                wrap(connect_admin.start_view(self.admin_site)),
                name="onboarding_connect_start",
            ),
            path(
                "connect/<str:provider>/",
                wrap(connect_admin.status_view(self.admin_site)),
                name="onboarding_connect_status",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        panels = []
        if request.user.has_perm(connect_admin.PERMISSION) and "zevvy" in registry.PLATFORMS:
            panels.append(connect_admin.panel_context(request, "zevvy"))
        context = {"connect_panels": panels, "platforms": connect_admin.platform_sentences()}
        return super().changelist_view(request, {**(extra_context or {}), **context})
