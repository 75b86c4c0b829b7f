"""The Climkit pull in the admin: its cursors, and the device page's section with what
was pulled per series and the missing 15-minute intervals (a panel: the Device admin
imports nothing from here)."""

from datetime import UTC, datetime

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from onboarding.admin import panels
from onboarding.models import Device

from . import gaps
from .models import PullCursor

SHOWN_GAPS = 20


def utc(when: datetime) -> str:
    """In UTC, saying so: backfill_climkit takes UTC days, and a gap after 00:30 in Zurich
    lies in the UTC day before."""
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@admin.register(PullCursor)
class PullCursorAdmin(admin.ModelAdmin):
    list_display = ("meter_id", "series", "last_timestamp", "last_pulled_at", "last_error")
    list_filter = ("series",)
    search_fields = ("meter_id", "site_id")
    readonly_fields = ("site_id", "meter_id", "series", "last_pulled_at", "intervals_stored")
    fields = (*readonly_fields, "last_timestamp", "last_error")
    # last_timestamp stays editable: set it back to pull a range again (stored once).


@panels.add(Device, "Climkit pull", shown=lambda device: bool(device.climkit_meter_id))
@admin.display(description="Pulled / gaps (last 7 days)")
def climkit_pull(device):
    if not device.climkit_meter_id:
        return "Not linked to a Climkit meter."
    cursors = PullCursor.objects.filter(meter_id=device.climkit_meter.remote_id)
    pulled = format_html_join(
        "",
        "<li>{}: up to {}{}</li>",
        (
            (
                c.get_series_display(),
                utc(c.last_timestamp) if c.last_timestamp else "nothing yet",
                f" — last error: {c.last_error}" if c.last_error else "",
            )
            for c in cursors
        ),
    )
    found = gaps.missing_intervals(device)
    listed = format_html_join(
        "",
        "<li>{} missing after {} (next reading {})</li>",
        ((g.missing, utc(g.after), utc(g.before)) for g in found[:SHOWN_GAPS]),
    )
    return format_html(
        "<ul>{}</ul><p>{}</p><ul>{}</ul><p>Fill a gap with "
        "<code>python manage.py backfill_climkit --from DAY --to DAY --meter {}</code>.</p>",
        pulled or format_html("<li>{}</li>", "Not pulled yet."),
        gaps.describe(found),
        listed,
        device.climkit_meter.remote_id,
    )
