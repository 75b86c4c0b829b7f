"""Readings in the Django admin (until the staff pages have them): on a Device's page its
latest values, a chart of the last days, where its readings go and how far they got;
lists of readings, of readings waiting for a device, and of forwardings, with Retry.

The Device page's section is a panel (onboarding/admin/panels.py). Where a device's
readings go is set on the Forwarding pages (linked from its section).
"""

from django.contrib import admin, messages
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from onboarding.admin import panels
from onboarding.models import Device

from . import panel, queue
from .models import Forwarding, Reading, UnmatchedReading

State = Forwarding.State
RETRYABLE = (State.FAILED, State.NEEDS_ATTENTION, State.PENDING)
STATE_COLOURS = {
    State.IDLE: "#2e7d32",
    State.PENDING: "#b36b00",
    State.IN_FLIGHT: "#b36b00",
    State.FAILED: "#ba2121",
    State.NEEDS_ATTENTION: "#ba2121",
}


def state_badge(forwarding: Forwarding) -> str:
    colour = STATE_COLOURS.get(forwarding.state, "#333")
    text = forwarding.get_state_display() if forwarding.enabled else _("Switched off")
    return format_html('<strong style="color:{}">{}</strong>', colour, text)


@panels.add(Device, gettext_lazy("Readings"))
@admin.display(description=gettext_lazy("Readings"))
def readings_panel(device):
    """The Device page's readings: latest values, a chart of the last days, where its
    readings go and how far they got (read-only; destinations are added and changed on
    the Forwarding pages it links to, so the Device form stays as it is)."""
    # The template autoescapes every value; the charts are SVG built from numbers.
    return mark_safe(  # noqa: S308
        render_to_string("admin/readings/device_panel.html", panel.device_context(device))
    )


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reading)
class ReadingAdmin(ReadOnly):
    list_display = ("timestamp", "device", "obis", "value", "unit", "source", "received_at")
    list_filter = ("source", "obis", "unit")
    search_fields = ("device__name", "device__external_device_id", "obis")
    list_select_related = ("device", "device__space", "device__space__parent")
    raw_id_fields = ("device",)
    ordering = ("-id",)
    show_full_result_count = False  # a count of millions of rows helps nobody

    def has_delete_permission(self, request, obj=None):
        return False  # a stored reading is what the platforms were (or will be) sent


@admin.register(UnmatchedReading)
class UnmatchedReadingAdmin(ReadOnly):
    """Readings for remote devices nobody has linked to a Device yet: link the device
    (its catalogue entry) and they move to it. Staff may delete those of a remote device
    that is not ours."""

    list_display = ("timestamp", "source", "remote_id", "obis", "value", "unit", "received_at")
    list_filter = ("source", "obis")
    search_fields = ("remote_id",)
    ordering = ("-id",)
    show_full_result_count = False
    change_list_template = "admin/readings/unmatchedreading/change_list.html"

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "waiting_devices": panel.waiting_remote_devices(50),
        }
        return super().changelist_view(request, extra_context)


@admin.action(description=gettext_lazy("Retry forwarding now"))
def retry_forwarding(modeladmin, request, queryset):
    with transaction.atomic():
        ids = list(queryset.filter(state__in=RETRYABLE).values_list("pk", flat=True))
        queue.make_due(Forwarding.objects.filter(pk__in=ids))
        transaction.on_commit(lambda: queue.enqueue(ids))
    if ids:
        said = ngettext(
            "%(n)s forwarding queued again.", "%(n)s forwardings queued again.", len(ids)
        ) % {"n": len(ids)}
        modeladmin.message_user(request, said, messages.SUCCESS)
    else:
        said = _("Nothing to retry: none is failed, needs attention or pending.")
        modeladmin.message_user(request, said, messages.WARNING)


@admin.register(Forwarding)
class ForwardingAdmin(admin.ModelAdmin):
    list_display = (
        "device", "destination", "state_shown", "cursor", "forwarded_count",
        "last_forwarded_at", "attempts", "last_error",
    )  # fmt: skip
    list_filter = ("destination", "state", "enabled")
    search_fields = ("device__name", "device__external_device_id")
    list_select_related = ("device", "device__space", "device__space__parent")
    raw_id_fields = ("device",)
    actions = [retry_forwarding]
    fields = (
        "device", "destination", "enabled", "addressing", "state", "cursor", "forwarded_count",
        "last_forwarded_at", "attempts", "not_before", "last_error",
    )  # fmt: skip
    readonly_fields = (
        "state", "cursor", "forwarded_count", "last_forwarded_at", "attempts", "not_before",
        "last_error",
    )  # fmt: skip

    @admin.display(description=gettext_lazy("State"), ordering="state")
    def state_shown(self, obj):
        return state_badge(obj)
