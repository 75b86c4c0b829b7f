"""Meter readings: stored once, forwarded to the platforms tenants use.

- Reading: one value of one OBIS code of one of our devices at one instant, unique on
  (device, OBIS code, timestamp): a repeated delivery inserts nothing. Its value is in
  the stored unit of the code's quantity (units.py), which the row names.
- UnmatchedReading: the same for a remote device (a smart-me device id, a Climkit meter
  id) not yet tied to a Device; moved into Reading when it is linked (matching.py).
- Forwarding: one per (device, destination): that the device's readings go there, and
  how far they have gone (`cursor`, the id of the last reading the platform accepted)
  with the outbox's states, attempts and claim.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onboarding.models import Device

from .units import with_unit


class Source(models.TextChoices):
    SMARTME = "smartme", _("smart-me webhook")
    CLIMKIT = "climkit", "Climkit"


class Reading(models.Model):
    # Deleted with its device in one DELETE by signals.py, not by Django's collector:
    # the admin's delete page would otherwise load every reading of the device to list it.
    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.DO_NOTHING, related_name="readings"
    )
    obis = models.CharField(_("OBIS code"), max_length=32)
    timestamp = models.DateTimeField(
        verbose_name=_("time"),
    )
    value = models.FloatField(
        verbose_name=_("value"),
    )
    # The stored unit of the OBIS code's quantity (units.py: kWh, kW, m³, ...), which
    # ingest converted the source's value to; empty for a code we do not recognise.
    unit = models.CharField(verbose_name=_("unit"), max_length=8, blank=True, default="")
    source = models.CharField(verbose_name=_("source"), max_length=20, choices=Source.choices)
    received_at = models.DateTimeField(verbose_name=_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        constraints = [
            models.UniqueConstraint(fields=["device", "obis", "timestamp"], name="reading_once")
        ]
        indexes = [
            # The forwarding reads a device's readings past its cursor, in id order.
            models.Index(fields=["device", "id"], name="reading_device_id"),
        ]

    def __str__(self):
        shown = with_unit(self.value, self.unit)
        return f"{self.obis} = {shown} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class UnmatchedReading(models.Model):
    source = models.CharField(verbose_name=_("source"), max_length=20, choices=Source.choices)
    remote_id = models.CharField(
        _("remote device id"),
        max_length=200,
        help_text=_("The device's id on the source platform."),
    )
    obis = models.CharField(_("OBIS code"), max_length=32)
    timestamp = models.DateTimeField(
        verbose_name=_("time"),
    )
    value = models.FloatField(
        verbose_name=_("value"),
    )
    unit = models.CharField(
        verbose_name=_("unit"), max_length=8, blank=True, default=""
    )  # as Reading.unit
    received_at = models.DateTimeField(verbose_name=_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("unmatched reading")
        verbose_name_plural = _("unmatched readings")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "remote_id", "obis", "timestamp"], name="unmatched_reading_once"
            )
        ]

    def __str__(self):
        return f"{self.source} {self.remote_id}: {self.obis} = {with_unit(self.value, self.unit)}"


class Destination(models.TextChoices):
    ZAEHLERFREUNDE = "zaehlerfreunde", "Zählerfreunde"
    ZEVVY = "zevvy", "zevvy"


class Forwarding(models.Model):
    class State(models.TextChoices):
        IDLE = "idle", _("Up to date")
        PENDING = "pending", _("Readings waiting")
        IN_FLIGHT = "in_flight", _("Sending")
        FAILED = "failed", _("Refused (fix, then retry)")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")

    class Addressing(models.TextChoices):
        # zevvy only: NOTES.md's /deviceRef/{ref}/registerRef/{ref} form, for a device the
        # outbox created there, or the guide's deviceName/registerName form, which creates
        # missing devices and registers by name.
        REFERENCE = "reference", _("By reference (the device the portal created there)")
        NAME = "name", _("By name (created there if missing)")

    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="forwardings"
    )
    destination = models.CharField(
        verbose_name=_("destination"), max_length=30, choices=Destination.choices
    )
    enabled = models.BooleanField(verbose_name=_("enabled"), default=True)
    addressing = models.CharField(
        verbose_name=_("addressing"),
        max_length=10,
        choices=Addressing.choices,
        default=Addressing.REFERENCE,
        help_text=_("zevvy: how its registers are addressed. Zählerfreunde ignores it."),
    )
    cursor = models.PositiveBigIntegerField(
        verbose_name=_("cursor"),
        default=0,
        help_text=_("The id of the last reading the platform accepted."),
    )
    state = models.CharField(
        verbose_name=_("state"), max_length=20, choices=State.choices, default=State.IDLE
    )
    attempts = models.PositiveIntegerField(verbose_name=_("attempts"), default=0)
    not_before = models.DateTimeField(verbose_name=_("next try"), null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(verbose_name=_("last error"), blank=True)
    last_forwarded_at = models.DateTimeField(
        verbose_name=_("last forwarded"), null=True, blank=True
    )
    forwarded_count = models.PositiveBigIntegerField(verbose_name=_("forwarded"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("forwarding")
        verbose_name_plural = _("forwardings")
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
