"""Volue Spark's side of events and reports.

- WebhookSubscription: a webhook we registered on Spark (POST /webhooks), with the secret
  Spark signs its deliveries with, encrypted at rest. Several may be active at once: a
  secret is rotated by creating the new subscription before deleting the old one, and the
  receiver accepts a delivery signed with any active secret meanwhile.
- SparkEvent: one event from Spark, stored once under its eventId, whether it came in a
  delivery (every notification of it, to every subscription, names the same eventId) or
  was fetched afterwards from `GET /events` (catch_up.py): a replay changes nothing.
- EventCatchUp: how far `GET /events` was read back (one row).
- ChargeReport: a VehicleChargeAction report (Spark's Reports page, guide §7) for one of
  our vehicles, answering one SparkEvent or none, sent by the outbox
  (providers/spark/sync.py ChargeReportHandler) with its guarantees.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from onboarding.fields import EncryptedTextField
from onboarding.models import Synced, Vehicle

# The spec's WebhookStatus: New (no delivery yet), Healthy, Unhealthy (deliveries fail),
# TimeOut (the receiver does not answer in time).
WEBHOOK_STATUSES = ("New", "Healthy", "Unhealthy", "TimeOut")


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
    # Spark's own word on it (the spec's WebhookStatus), as last read from Spark.
    status = models.CharField(max_length=20, blank=True, choices=[(s, s) for s in WEBHOOK_STATUSES])
    status_read_at = models.DateTimeField("status read at", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Spark webhook subscription"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name or self.url} ({self.webhook_id or 'not registered'})"


class SparkEvent(models.Model):
    class Source(models.TextChoices):
        DELIVERY = "delivery", "webhook delivery"
        CATCH_UP = "catch-up", "GET /events (catch-up)"

    # The eventId (the notificationId for a delivery without one): what makes it "once".
    key = models.CharField(max_length=200, unique=True)
    notification_id = models.CharField(max_length=200, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    notification_type = models.CharField(max_length=100, blank=True)
    event_created_at = models.CharField(max_length=60, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    body = models.TextField(help_text="The delivery's body (or the listed event) as received.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DELIVERY)
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
        return f"{self.notification_type or self.payload_type or 'event'} {self.key}"

    @property
    def payload_type(self) -> str:
        payload = self.payload if isinstance(self.payload, dict) else {}
        return str(payload.get("payloadType") or "")


class EventCatchUp(models.Model):
    """How far back `GET /events` has been read completely (one row, pk 1)."""

    caught_up_to = models.DateTimeField(
        null=True, blank=True, help_text="Every event created up to this time is stored."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_stored = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "Spark events catch-up"

    def __str__(self):
        return f"Spark events caught up to {self.caught_up_to or 'nothing yet'}"


class ChargeReport(Synced):
    class Action(models.TextChoices):
        START = "Start", "Started charging"
        STOP = "Stop", "Stopped charging"

    # Deleted with its vehicle here; what Spark received stays there (it has no delete).
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="charge_reports")
    # The event it answers: its eventId is the report's (Spark's Reports page). None for a
    # report that answers no event (the vehicle simply started charging).
    event = models.ForeignKey(
        SparkEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charge_reports",
        help_text="The Spark event this report answers; its eventId is sent with it.",
    )
    # Ours, for finding the report here (Spark's report body has no field for it).
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    power = models.PositiveIntegerField("power (W)", validators=[MaxValueValidator(10_000_000)])
    # Stored as Spark's Reports page has them (percent, kWh); SPARK_REPORT_UNITS=guide
    # sends a fraction and Wh instead, as the guide's example reads.
    state_of_charge = models.DecimalField(
        "state of charge (%)",
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    battery_capacity = models.DecimalField(
        "battery capacity (kWh)",
        max_digits=12,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(10_000)],
    )
    # Where it charges: required by Spark's Reports page (`location`).
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    spark_report_id = models.CharField("Spark report id", max_length=200, blank=True)

    class Meta:
        verbose_name = "charge report"
        ordering = ["-created_at"]

    @property
    def name(self) -> str:
        return f"Vehicle {self.get_action_display()}"

    def __str__(self):
        return f"{self.vehicle}: {self.get_action_display().lower()} ({self.reference})"

    def clean(self):
        if self.latitude is None and self.longitude is None and self.vehicle_id is not None:
            self.latitude, self.longitude = self.vehicle.place()
        if self.latitude is None or self.longitude is None:
            raise ValidationError(
                "Spark needs the place of charging: give latitude and longitude (or "
                "coordinates on the tenant's meter, which are then used)."
            )
