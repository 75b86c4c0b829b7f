"""The Climkit sandbox's own state: what the platform holds, never the portal's models.

In the database, not in process memory, because several server processes may serve the
sandbox at once and the rate limit, tokens and a trainer's changes must reach them all.
Time series are not stored: series.py computes them for any range.
"""

from django.db import models

from providers.sandbox_kit.models import HashedToken


class Site(models.Model):
    # The platform's ids are MongoDB ObjectIds: 24 hex digits.
    object_id = models.CharField(max_length=24, unique=True)
    site_ref = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    street_name = models.CharField(max_length=200)
    street_number = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    postal_code = models.PositiveIntegerField()
    creation_date = models.DateTimeField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    timezone = models.CharField(max_length=64, default="Europe/Zurich")

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.object_id})"


class Meter(models.Model):
    TYPES = ["electricity", "heating", "cold_water", "hot_water", "charge_point"]
    MODES = ["consumption", "production", "introduction", "battery"]

    object_id = models.CharField(max_length=24, unique=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="meters")
    type = models.CharField(max_length=20, choices=[(t, t) for t in TYPES])
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=[(m, m) for m in MODES])
    prim_ad = models.PositiveIntegerField(default=0)  # M-Bus primary address
    is_rule_meter = models.BooleanField(default=False)  # virtual: no raw data

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.type}, {self.object_id})"


class Sensor(models.Model):
    object_id = models.CharField(max_length=24, unique=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="sensors")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=40)
    unit = models.CharField(max_length=20)
    model = models.CharField(max_length=100)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.object_id})"


class AccessToken(HashedToken):
    username = models.CharField(max_length=200)  # the JWT's subject


class RateLimit(models.Model):
    """One row (pk=1): the platform's 1 request/s, enforced across server processes."""

    interval = models.FloatField(default=1.0)  # seconds between two admitted requests
    last_admitted = models.FloatField(null=True, blank=True)  # epoch seconds

    def __str__(self):
        return f"one request per {self.interval} s"


class Arrival(models.Model):
    """Each API request as the rate limit saw it, so tests can check the spacing."""

    at = models.FloatField()  # epoch seconds, taken under the rate limit's lock
    endpoint = models.CharField(max_length=100)
    admitted = models.BooleanField()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.at:.3f} {self.endpoint} {'ok' if self.admitted else '429'}"


class AnswerShapes(models.Model):
    """One row (pk=1): how the sandbox answers where public sources disagree (NOTES.md),
    set over `_sandbox/answers`; no row means the guide's shapes."""

    OBJECTS, SITE_ID, IDS = "objects", "site_id", "ids"
    INSTALLATIONS = [
        (OBJECTS, "objects with id (the guide: a list of objects)"),
        (SITE_ID, "objects with site_id (one public client)"),
        (IDS, "id strings (another public client)"),
    ]
    installations = models.CharField(max_length=10, choices=INSTALLATIONS, default=OBJECTS)
    # The guide says `prim_ad: <int>`; "string" answers it as text, as some sites do.
    prim_ad_as_text = models.BooleanField(default=False)

    def __str__(self):
        return f"all_installations as {self.installations}"
