from django.contrib import admin

from .models import PullCursor


@admin.register(PullCursor)
class PullCursorAdmin(admin.ModelAdmin):
    list_display = ("meter_id", "series", "last_timestamp", "last_pulled_at", "last_error")
    list_filter = ("series",)
    search_fields = ("meter_id", "site_id")
    readonly_fields = ("site_id", "meter_id", "series", "last_pulled_at", "intervals_stored")
    fields = (*readonly_fields, "last_timestamp", "last_error")
    # last_timestamp stays editable: set it back to pull a range again (stored once).
