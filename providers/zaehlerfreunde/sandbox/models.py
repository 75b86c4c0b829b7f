"""The sandbox's own state: what the remote platform would hold, never the portal's models.

Everything lives in the database (not in process memory) because several server
processes may serve the sandbox at once (runserver, gunicorn workers, the test live
server) and a trainer's switch must reach all of them.
"""

import uuid

from django.db import models


class Space(models.Model):
    # Integer pk keeps the creation order stable for paging; the API only shows `uuid`.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=500)
    address_line_one = models.CharField(max_length=500)
    address_line_two = models.CharField(max_length=500, blank=True, null=True)
    postcode = models.CharField(max_length=50)
    city = models.CharField(max_length=200)
    category = models.CharField(max_length=64)
    # Deleting a building deletes its units (the platform's tree has no orphans).
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    is_participating_in_ltt_project = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.uuid})"


class Device(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=500)
    device_type = models.CharField(max_length=64)
    medium = models.CharField(max_length=32)
    is_main_device = models.BooleanField()
    # Unique per partner; the sandbox has one partner, so unique overall.
    external_device_id = models.CharField(max_length=500, null=True, blank=True, unique=True)
    metering_location_id = models.CharField(max_length=500, null=True, blank=True)
    serial_number = models.CharField(max_length=500, null=True, blank=True)
    conversion_factor = models.FloatField(null=True, blank=True)
    excluded_from_cost = models.BooleanField(null=True, blank=True)
    status = models.CharField(max_length=32, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.uuid})"


class Reading(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    obis_code = models.CharField(max_length=32)
    timestamp = models.DateTimeField()
    value = models.FloatField()
    status = models.CharField(max_length=16, default="REAL")
    metering_interval = models.PositiveIntegerField(default=900)
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "obis_code", "timestamp"], name="zf_sandbox_reading_once"
            )
        ]

    def __str__(self):
        return f"{self.device_id} {self.obis_code} {self.timestamp}: {self.value}"


class Invite(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token = models.CharField(max_length=64, unique=True)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invites")
    user_email = models.EmailField(max_length=320)
    access_role_id = models.CharField(max_length=200, null=True, blank=True)
    send_invite_email = models.BooleanField()
    link = models.URLField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.user_email} → {self.space_id}"


class SentEmail(models.Model):
    """An invite e-mail the platform 'sent'; kept after its space is gone (it was sent)."""

    invite = models.ForeignKey(Invite, null=True, blank=True, on_delete=models.SET_NULL)
    to = models.EmailField(max_length=320)
    subject = models.CharField(max_length=500)
    body = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.to}: {self.subject}"


class AccessToken(models.Model):
    # Only a hash is stored: the state dump and the trainer page must not leak tokens.
    token_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"token {self.token_hash[:8]}… until {self.expires_at}"
