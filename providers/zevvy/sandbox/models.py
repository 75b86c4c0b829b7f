"""The zevvy sandbox's own state: its authorization server (device codes, grants,
tokens) and what the API holds (devices, registers, measurements). Never the portal's
models. Secrets (device codes, tokens) are stored only as hashes, so neither the state
dump nor the trainer page can leak one."""

import uuid

from django.db import models


class DeviceCode(models.Model):
    """A device authorization in progress (RFC 8628 §3.2), until it is exchanged."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    USED = "used"  # exchanged for tokens; a second exchange is invalid_grant
    STATUSES = [(s, s) for s in (PENDING, APPROVED, DENIED, USED)]

    code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=16, unique=True)
    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    # The gap the client must keep between polls (a poll sooner gets slow_down).
    interval = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    last_polled_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    slow_downs = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.user_code}: {self.status}"


class Grant(models.Model):
    """What a person's approval created: Keycloak's (offline) user session. Revoking it
    ends every refresh token and access token issued under it."""

    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=500)
    user_code = models.CharField(max_length=16)
    # None: no expiry (Keycloak's offline tokens, asked for with `offline_access`).
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"grant {self.pk} ({self.user_code})"


class RefreshToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"refresh token of {self.grant}"


class AccessToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="access_tokens")
    scope = models.CharField(max_length=500)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"access token of {self.grant} until {self.expires_at}"


class Device(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    # The client's own key: unique per tenant, so a repeated create is a 409 and a
    # client can find its device again.
    reference = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.reference or self.uuid})"


class Register(models.Model):
    """One measured quantity of a device (a meter's import register, say)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="registers")
    name = models.CharField(max_length=255)
    reference = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["device", "name"], name="zevvy_register_name"),
            models.UniqueConstraint(
                fields=["device", "reference"], name="zevvy_register_reference"
            ),
        ]

    def __str__(self):
        return f"{self.device.name} / {self.name}"


class Measurement(models.Model):
    register = models.ForeignKey(Register, on_delete=models.CASCADE, related_name="measurements")
    read_at = models.DateTimeField()
    value = models.FloatField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["register", "read_at"], name="zevvy_measurement_once")
        ]

    def __str__(self):
        return f"{self.register_id} {self.read_at}: {self.value}"


class FlowSettings(models.Model):
    """One row (pk=1), set by trainers and tests over `_sandbox/device-flow`; a missing
    row means Keycloak's defaults."""

    # Seconds between polls the server asks for; 0 = leave `interval` out of the answer
    # (the client must then use RFC 8628's 5 s, and the server holds it to that).
    interval = models.PositiveIntegerField(default=5)
    device_code_seconds = models.PositiveIntegerField(default=600)
    access_token_seconds = models.PositiveIntegerField(default=300)

    def __str__(self):
        return f"interval {self.interval} s"


class ApiSettings(models.Model):
    """One row (pk=1), set over `_sandbox/api`; a missing row means the defaults."""

    # The device listing, update and delete appear in no public source (NOTES.md): on
    # (the default) the sandbox offers them as the portal assumes; off, it answers as a
    # zevvy that offers only the published create: `GET /devices` 405 (the path takes
    # POST), `GET`/`PUT`/`DELETE /devices/{id}` Spring's 404 for a path it does not route.
    unpublished_device_calls = models.BooleanField(default=True)

    def __str__(self):
        return "unpublished device calls " + ("on" if self.unpublished_device_calls else "off")
