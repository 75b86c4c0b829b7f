"""The sandbox's own state: the smart-me account the portal reads, never the portal's
models. In the database, because several server processes may serve the sandbox."""

from django.db import models

from providers.sandbox_kit.models import HashedToken


class Device(models.Model):
    """A device of the account, an M-Bus gateway, or a meter behind one."""

    uuid = models.UUIDField(unique=True)
    name = models.CharField(max_length=200)
    serial = models.BigIntegerField(null=True, blank=True)
    energy_type = models.PositiveSmallIntegerField()  # DeviceEnergyType (values.py)
    family_type = models.PositiveSmallIntegerField(default=0)
    # The measured values under their API names (ActivePower, CounterReading, …); a value
    # that is absent is omitted from the JSON, as the platform omits nulls.
    readings = models.JSONField(default=dict, blank=True)
    value_date = models.DateTimeField(null=True, blank=True)
    # M-Bus: a meter's gateway, its secondary address and readout state …
    gateway = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="meters"
    )
    secondary_address = models.CharField(max_length=32, blank=True)
    mbus_state = models.PositiveSmallIntegerField(default=0)
    # … and a gateway's own.
    readout_interval = models.PositiveSmallIntegerField(null=True, blank=True)
    gateway_state = models.PositiveSmallIntegerField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.uuid})"


class AccessToken(HashedToken):
    """An OAuth access token the sandbox issued; only its hash is kept."""

    # smart-me's table was made without an issue time; dropping the inherited field
    # keeps it as it is (no migration).
    issued_at = None

    def __str__(self):
        return f"token until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class Seeded(models.Model):
    """One row once the demo account is in place (seed.py), so it is seeded once, also
    after a test run flushed the tables."""

    seeded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"seeded at {self.seeded_at:%Y-%m-%d %H:%M:%S}"


class RateLimit(models.Model):
    """One row (pk=1): the API's request budget, a fixed window shared by every server
    process; a missing row means the default (throttle.py)."""

    requests = models.PositiveIntegerField()  # per window; 0 = no limit
    per_seconds = models.FloatField()
    window_start = models.FloatField(null=True, blank=True)  # epoch seconds
    used = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.requests} per {self.per_seconds} s"
