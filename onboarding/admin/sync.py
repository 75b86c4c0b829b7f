"""The outbox and the call log: read-only, but for Retry and Accept as is."""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from providers import coverage

from .. import sync_words
from ..models import (
    ApiCall,
    Device,
    Invite,
    Space,
    SyncRecord,
)
from ..sync import attention
from ..sync_display import badge, exact, next_try, state_label
from .base import (
    PlatformFilter,
    ReadOnlyAdmin,
    State,
    accept_rows,
    admin_change_url,
    call_rows,
    render_rows,
    retry_rows,
)


class AcceptedFilter(admin.SimpleListFilter):
    title = gettext_lazy("accepted as is")
    parameter_name = "accepted"

    def lookups(self, request, model_admin):
        return [("yes", _("Accepted as is")), ("no", _("Not accepted"))]

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
        "last_error_shown",
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

    @admin.action(description=gettext_lazy("Retry sync"), permissions=["retry"])
    def retry(self, request, queryset):
        return retry_rows(self, request, queryset.select_related("content_type"))

    @admin.action(
        description=gettext_lazy("Accept as is (rows that need attention)"), permissions=["retry"]
    )
    def accept(self, request, queryset):
        accept_rows(self, request, queryset)

    def has_retry_permission(self, request):
        return request.user.has_perm("onboarding.change_syncrecord")

    @admin.display(description=gettext_lazy("Object"), ordering="object_repr")
    def shown_name(self, row):
        """The object's current name (object_repr is what it was called when queued)."""
        target = row.target  # prefetched
        if target is None:
            if not row.object_repr:
                return _("(deleted)")
            return _("%(name)s (deleted)") % {"name": sync_words.translate(row.object_repr)}
        return str(target)

    @admin.display(description=gettext_lazy("State"), ordering="state")
    def state_badge(self, row):
        shown = badge(row)
        return format_html(
            '<span style="color:{}; white-space:nowrap; font-weight:600" title="{}">{}</span>',
            shown["colour"],
            shown["title"],
            state_label(row),
        )

    @admin.display(description=gettext_lazy("Platform"), ordering="provider")
    def platform(self, row):
        return coverage.label(row.provider)

    @admin.display(description=gettext_lazy("Link"))
    def object_link(self, row):
        url = admin_change_url(row.content_type, row.object_id)
        text = f"{row.content_type.name} #{row.object_id}"  # the model's name, in words
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description=gettext_lazy("Next try"), ordering="not_before")
    def next_try_at(self, row):
        when = next_try(row)
        if not when:
            return "—"
        return format_html('<span title="{}">{}</span>', exact(row.not_before), when)

    @admin.display(description=gettext_lazy("Last synced"), ordering="last_synced_at")
    def last_synced(self, row):
        return exact(row.last_synced_at, _("never"))

    @admin.display(description=gettext_lazy("Queued"))
    def queued(self, row):
        return exact(row.queued_at)

    @admin.display(description=gettext_lazy("Claimed"))
    def claimed(self, row):
        return exact(row.claimed_at)

    @admin.display(description=pgettext_lazy("when", "Created"))
    def created(self, row):
        return exact(row.created_at)

    @admin.display(description=pgettext_lazy("when", "Updated"))
    def updated(self, row):
        return exact(row.updated_at)

    @admin.display(description=gettext_lazy("Accepted as is"))
    def accepted_as_is(self, row):
        if row.dismissed_at is None:
            return "—"
        said = _("by %(who)s at %(when)s") % {
            "who": row.dismissed_by,
            "when": exact(row.dismissed_at),
        }
        if attention.is_accepted(row):
            return said
        return _("%(accepted)s (no longer: changed since)") % {"accepted": said}

    @admin.display(description=gettext_lazy("Last error"))
    def last_error_shown(self, row):
        """Stored in English (onboarding/sync_words.py): shown in the admin's language."""
        return sync_words.translate(row.last_error)

    @admin.display(description=gettext_lazy("Last error"))
    def short_error(self, row):
        return Truncator(sync_words.translate(row.last_error)).chars(80)

    @admin.display(description=gettext_lazy("Calls (newest first)"))
    def calls(self, row):
        return render_rows(
            "admin/onboarding/api_calls.html",
            calls=call_rows(row.calls.order_by("-started_at")[:50]),
            more_url=reverse("admin:onboarding_apicall_changelist")
            + f"?sync_record__id__exact={row.pk}",
            limit=50,
        )


class StatusClassFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [
            ("2", "2xx"),
            ("3", "3xx"),
            ("4", "4xx"),
            ("5", "5xx"),
            ("none", _("No response")),
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

    @admin.display(description=gettext_lazy("Started"), ordering="started_at")
    def started(self, call):
        return exact(call.started_at)

    @admin.display(description=gettext_lazy("Platform"), ordering="provider")
    def platform(self, call):
        return coverage.label(call.provider)

    def lookup_allowed(self, lookup, value, request=None):
        # The links from an object's "Recent calls" and a sync row's page.
        if lookup in ("object_id", "content_type__id__exact", "sync_record__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=gettext_lazy("Sync row"))
    def record_link(self, call):
        if call.sync_record_id is None:
            return "—"
        url = reverse("admin:onboarding_syncrecord_change", args=[call.sync_record_id])
        return format_html('<a href="{}">#{}</a>', url, call.sync_record_id)

    @admin.display(description=gettext_lazy("Object"))
    def object_link(self, call):
        if call.content_type_id is None:
            return "—"
        content_type = ContentType.objects.get_for_id(call.content_type_id)
        url = admin_change_url(content_type, call.object_id)
        text = f"{content_type.name} #{call.object_id}"
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description=gettext_lazy("Request body"))
    def request_body_pre(self, call):
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', call.request_body or "—")

    @admin.display(description=gettext_lazy("Response body"))
    def response_body_pre(self, call):
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', call.response_body or "—")
