"""Meter readings: stored once, forwarded to the platforms tenants use.

- Reading: one value of one OBIS code of one of our devices at one instant, unique on
  (device, OBIS code, timestamp): a repeated delivery inserts nothing.
- UnmatchedReading: the same for a remote device (a smart-me device id, a Climkit meter
  id) not yet tied to a Device; moved into Reading when it is linked (matching.py).
- Forwarding: one per (device, destination): that the device's readings go there, and
  how far they have gone (`cursor`, the id of the last reading the platform accepted)
  with the outbox's states, attempts and claim.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from onboarding.models import Device


class Source(models.TextChoices):
    SMARTME = "smartme", "smart-me webhook"
    CLIMKIT = "climkit", "Climkit"


class Reading(models.Model):
    # Deleted with its device in one DELETE by signals.py, not by Django's collector:
    # the admin's delete page would otherwise load every reading of the device to list it.
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, related_name="readings")
    obis = models.CharField("OBIS code", max_length=32)
    timestamp = models.DateTimeField()
    value = models.FloatField()
    source = models.CharField(max_length=20, choices=Source.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "obis", "timestamp"], name="reading_once")
        ]
        indexes = [
            # The forwarding reads a device's readings past its cursor, in id order.
            models.Index(fields=["device", "id"], name="reading_device_id"),
        ]

    def __str__(self):
        return f"{self.obis} = {self.value} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class UnmatchedReading(models.Model):
    source = models.CharField(max_length=20, choices=Source.choices)
    remote_id = models.CharField(
        "remote device id", max_length=200, help_text="The device's id on the source platform."
    )
    obis = models.CharField("OBIS code", max_length=32)
    timestamp = models.DateTimeField()
    value = models.FloatField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "unmatched reading"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "remote_id", "obis", "timestamp"], name="unmatched_reading_once"
            )
        ]

    def __str__(self):
        return f"{self.source} {self.remote_id}: {self.obis} = {self.value}"


class Destination(models.TextChoices):
    ZAEHLERFREUNDE = "zaehlerfreunde", "Zählerfreunde"
    ZEVVY = "zevvy", "zevvy"


class Forwarding(models.Model):
    class State(models.TextChoices):
        IDLE = "idle", "Up to date"
        PENDING = "pending", "Readings waiting"
        IN_FLIGHT = "in_flight", "Sending"
        FAILED = "failed", "Refused (fix, then retry)"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    class Addressing(models.TextChoices):
        # zevvy only: NOTES.md's /deviceRef/{ref}/registerRef/{ref} form, for a device the
        # outbox created there, or the guide's deviceName/registerName form, which creates
        # missing devices and registers by name.
        REFERENCE = "reference", "By reference (the device the portal created there)"
        NAME = "name", "By name (created there if missing)"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="forwardings")
    destination = models.CharField(max_length=30, choices=Destination.choices)
    enabled = models.BooleanField(default=True)
    addressing = models.CharField(
        max_length=10,
        choices=Addressing.choices,
        default=Addressing.REFERENCE,
        help_text="zevvy: how its registers are addressed. Zählerfreunde ignores it.",
    )
    cursor = models.PositiveBigIntegerField(
        default=0, help_text="The id of the last reading the platform accepted."
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.IDLE)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_forwarded_at = models.DateTimeField(null=True, blank=True)
    forwarded_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "forwarding"
        constraints = [
            models.UniqueConstraint(
                fields=["device", "destination"], name="one_forwarding_per_destination"
            )
        ]
        indexes = [
            models.Index(
                fields=["state", "not_before"],
                condition=Q(state__in=["pending", "in_flight"]),
                name="forwarding_due",
            )
        ]

    def __str__(self):
        return f"{self.device} → {self.get_destination_display()}"
