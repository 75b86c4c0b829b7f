"""Spark webhook subscriptions (managed on Spark through subscriptions.py), the events
received, and charge reports (synced through the outbox)."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from onboarding.admin import panels
from onboarding.admin.base import SyncedAdmin
from onboarding.models import Vehicle
from providers.errors import ProviderError

from . import subscriptions
from .models import ChargeReport, SparkEvent, WebhookSubscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="Receiver URL", max_length=500, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to generate one (recommended). Stored encrypted, never shown.",
    )
    notification_types = forms.CharField(
        required=False,
        initial=", ".join(subscriptions.DEFAULT_NOTIFICATION_TYPES),
        help_text="Comma-separated Spark notification types.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "secret", "notification_types")

    def clean_notification_types(self):
        text = self.cleaned_data.get("notification_types") or ""
        return [t.strip() for t in text.split(",") if t.strip()]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("__str__", "url", "webhook_id", "active", "status", "types", "created_at")
    list_filter = ("active", "status")
    actions = ["send_test_event", "delete_on_spark"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go to Spark first (delete_on_spark)
        return actions

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "name", "url", "notification_types", "webhook_id", "status", "status_read_at",
            "created_at",
        )  # fmt: skip

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "url", "secret", "notification_types")
        return (
            "name", "url", "notification_types", "webhook_id", "active", "status",
            "status_read_at", "created_at",
        )  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="Types")
    def types(self, obj):
        return ", ".join(obj.notification_types)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()  # only `active` changes here (a rotation's old secret switched off)
            return
        created = subscriptions.create(
            form.cleaned_data["url"],
            secret=form.cleaned_data.get("secret") or "",
            name=form.cleaned_data.get("name") or "",
            notification_types=form.cleaned_data.get("notification_types") or None,
        )
        obj.pk = created.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        # Adding calls Spark: not inside the admin's transaction, which would hold the
        # database (and a lock on SQLite) for as long as Spark takes to answer.
        # subscriptions.create stores our row only after Spark answered.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except ProviderError as exc:
            self.message_user(request, f"Spark refused the webhook: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        subscriptions.delete(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            subscriptions.delete(obj)

    @admin.action(description="Send a test event (POST /webhooks/:id/test)")
    def send_test_event(self, request, queryset):
        for subscription in queryset:
            self._test(request, subscription)

    @admin.action(description="Delete on Spark and here", permissions=["delete"])
    def delete_on_spark(self, request, queryset):
        for subscription in queryset:
            try:
                subscriptions.delete(subscription)
            except ProviderError as exc:
                self.message_user(request, f"{subscription}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Deleted {subscription} on Spark.")

    def _test(self, request, subscription):
        try:
            answer = subscriptions.send_test(subscription)
        except (ProviderError, ValueError) as exc:
            self.message_user(request, f"{subscription}: {exc}", messages.ERROR)
            return
        status = answer.get("statusCode")
        level = messages.SUCCESS if answer.get("delivered", True) else messages.WARNING
        self.message_user(
            request, f"Spark sent a test event to {subscription.url} (answer {status}).", level
        )


@admin.register(SparkEvent)
class SparkEventAdmin(admin.ModelAdmin):
    list_display = (
        "key", "notification_type", "event_id", "source", "subscription", "received_at",
    )  # fmt: skip
    list_filter = ("notification_type", "source")
    search_fields = ("key", "event_id", "notification_id")
    readonly_fields = [f.name for f in SparkEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChargeReport)
class ChargeReportAdmin(SyncedAdmin):
    list_display = ("__str__", "sync_summary", "action", "power", "state_of_charge", "created")
    list_select_related = ("vehicle",)
    autocomplete_fields = ("vehicle", "event")
    extra_readonly = (*SyncedAdmin.extra_readonly, "reference", "spark_report_id")


@panels.add(Vehicle, "Spark charge reports")
@admin.display(description="Reports")
def charge_reports(vehicle):
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
