"""The device's admin page: its Climkit pull (cursor per series) and the missing
15-minute intervals of its readings (mixed into onboarding's DeviceAdmin; nothing here
imports onboarding.admin)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from . import gaps
from .models import PullCursor

SHOWN_GAPS = 20


class DeviceClimkitPullMixin:
    climkit_fields = ("climkit_pull",)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + list(self.climkit_fields) if obj is not None else readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in self.climkit_fields]})
            for name, opts in super().get_fieldsets(request, obj)
        ]
        if obj is not None and obj.climkit_meter_id:
            fieldsets.append(("Climkit pull", {"fields": list(self.climkit_fields)}))
        return fieldsets

    @admin.display(description="Pulled / gaps (last 7 days)")
    def climkit_pull(self, device):
        if not device.climkit_meter_id:
            return "Not linked to a Climkit meter."
        cursors = PullCursor.objects.filter(meter_id=device.climkit_meter.remote_id)
        pulled = format_html_join(
            "",
            "<li>{}: up to {}{}</li>",
            (
                (
                    c.get_series_display(),
                    c.last_timestamp or "nothing yet",
                    f" — last error: {c.last_error}" if c.last_error else "",
                )
                for c in cursors
            ),
        )
        found = gaps.missing_intervals(device)
        listed = format_html_join(
            "",
            "<li>{} missing after {} (next reading {})</li>",
            ((g.missing, g.after, g.before) for g in found[:SHOWN_GAPS]),
        )
        return format_html(
            "<ul>{}</ul><p>{}</p><ul>{}</ul><p>Fill a gap with "
            "<code>python manage.py backfill_climkit --from DAY --to DAY --meter {}</code>.</p>",
            pulled or format_html("<li>{}</li>", "Not pulled yet."),
            gaps.describe(found),
            listed,
            device.climkit_meter.remote_id,
        )
