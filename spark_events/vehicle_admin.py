"""The vehicle's admin page: its charge reports and a link to report one (mixed into
onboarding's VehicleAdmin; nothing here imports onboarding.admin)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join


class VehicleChargeReportsMixin:
    charge_fields = ("charge_reports",)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + list(self.charge_fields) if obj is not None else readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in self.charge_fields]})
            for name, opts in super().get_fieldsets(request, obj)
        ]
        if obj is not None:
            fieldsets.append(("Spark charge reports", {"fields": list(self.charge_fields)}))
        return fieldsets

    @admin.display(description="Reports")
    def charge_reports(self, vehicle):
        add = reverse("admin:spark_events_chargereport_add") + f"?vehicle={vehicle.pk}"
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> — {}</li>',
            (
                (
                    reverse("admin:spark_events_chargereport_change", args=[r.pk]),
                    f"{r.get_action_display()} at {r.created_at:%Y-%m-%d %H:%M}",
                    _states(r),
                )
                for r in vehicle.charge_reports.prefetch_related("sync_records")[:20]
            ),
        )
        return format_html(
            '<ul>{}</ul><a class="button" href="{}">Report a charge action to Spark</a>',
            rows or format_html("<li>{}</li>", "None yet."),
            add,
        )


def _states(report) -> str:
    rows = report.sync_records.all()
    return ", ".join(f"{row.provider}: {row.get_state_display()}" for row in rows) or "not queued"
