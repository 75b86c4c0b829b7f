"""Volue Spark's side of events and reports.

- WebhookSubscription: a webhook we registered on Spark (POST /webhooks), with the secret
  Spark signs its deliveries with, encrypted at rest. Several may be active at once: a
  secret is rotated by creating the new subscription before deleting the old one, and the
  receiver accepts a delivery signed with any active secret meanwhile.
- SparkEvent: one event Spark delivered, stored once under its notificationId (eventId
  where a delivery has none): a replayed delivery changes nothing.
- ChargeReport: a VehicleChargeAction report (guide §7) for one of our vehicles, sent by
  the outbox (providers/spark/sync.py ChargeReportHandler) with its guarantees.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from onboarding.fields import EncryptedTextField
from onboarding.models import Synced, Vehicle


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=200, blank=True)
    url = models.URLField("receiver URL", max_length=500)
    secret = EncryptedTextField(help_text="Spark signs deliveries with it; stored encrypted.")
    notification_types = models.JSONField(
        default=list, blank=True, help_text="Spark's notification (event) types subscribed."
    )
    webhook_id = models.CharField("Spark webhookId", max_length=200, blank=True)
    active = models.BooleanField(
        default=True, help_text="Deliveries signed with its secret are accepted."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Spark webhook subscription"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name or self.url} ({self.webhook_id or 'not registered'})"


class SparkEvent(models.Model):
    # notificationId, or the eventId for a delivery without one: what makes it "once".
    key = models.CharField(max_length=200, unique=True)
    notification_id = models.CharField(max_length=200, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    notification_type = models.CharField(max_length=100, blank=True)
    event_created_at = models.CharField(max_length=60, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    body = models.TextField(help_text="The delivery's body as received.")
    subscription = models.ForeignKey(
        WebhookSubscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="The subscription whose secret verified it.",
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Spark event"
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.notification_type or 'event'} {self.key}"


class ChargeReport(Synced):
    class Action(models.TextChoices):
        START = "Start", "Started charging"
        STOP = "Stop", "Stopped charging"

    # Deleted with its vehicle here; what Spark received stays there (it has no delete).
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="charge_reports")
    # Our key, sent as the report's eventId: the report on Spark names it, so Spark's
    # support (and we) can tell which of ours a report is.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    power = models.PositiveIntegerField("power (W)", validators=[MaxValueValidator(10_000_000)])
    state_of_charge = models.DecimalField(
        "state of charge (0–1)",
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    battery_capacity = models.PositiveIntegerField(
        "battery capacity (Wh)", validators=[MaxValueValidator(10_000_000)]
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    spark_report_id = models.CharField("Spark report id", max_length=200, blank=True)

    class Meta:
        verbose_name = "charge report"
        ordering = ["-created_at"]

    @property
    def name(self) -> str:
        return f"Vehicle {self.get_action_display()}"

    def __str__(self):
        return f"{self.vehicle}: {self.get_action_display().lower()} ({self.event_id})"
