"""What the Spark sandbox holds: what the real platform would, never the portal's models.

The guide's form keeps meters and resources (with metadata) under their user; the current
form (Volue's spec) keeps locations and resources by the partner's ids. The spec does not
say what deleting a user does to its locations, or deleting a location to its resources:
the current form's rows name their user and location by id (no foreign key), so such a
delete leaves them as they are, and the sandbox invents no cascade.

In the database, not in process memory, because several server processes may serve the
sandbox (runserver, gunicorn workers, the tests' live server). The sandbox serves one
partner, so "unique per partner" is unique here.
"""

import uuid

from django.db import models

from providers.sandbox_kit.models import HashedToken


def new_id() -> str:
    return str(uuid.uuid4())


class User(models.Model):
    # Integer pk keeps the creation order stable for paging; the API shows `user_id`.
    # The guide's form makes it (a UUID); the current form takes the partner's (a string).
    user_id = models.CharField(max_length=200, default=new_id, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return str(self.user_id)


class Meter(models.Model):
    meter_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Deleting a user deletes what is registered to them (see views.user_detail).
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="meters")
    # A metering point is one place on the grid: registered once per partner.
    meter_point_id = models.CharField(max_length=100, unique=True)
    meter_number = models.CharField(max_length=100, blank=True)
    street = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    zip_code = models.CharField(max_length=20)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    location_type = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"meter {self.meter_point_id}"


class Resource(models.Model):
    """A vehicle or another resource; vehicles are resources of type Vehicle (Spark's
    resource docs), so `vehicleId` and `resourceId` share one namespace."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="resources")
    key = models.CharField(max_length=200, unique=True)  # the partner's vehicleId/resourceId
    resource_type = models.CharField(max_length=40)
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.resource_type} {self.key}"

    @property
    def is_vehicle(self) -> bool:
        return self.resource_type == "Vehicle"


class Location(models.Model):
    """A location of the current form: a user's meter point(s), by the partner's id."""

    location_id = models.CharField(max_length=200, unique=True)
    user_id = models.CharField(max_length=200, db_index=True)
    location_type = models.CharField(max_length=20, default="Unknown")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    meter_point_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"location {self.location_id}"


class UserResource(models.Model):
    """A resource of the current form: a vehicle, or one bound to a location."""

    resource_id = models.CharField(max_length=200, unique=True)
    resource_type = models.CharField(max_length=40)
    user_id = models.CharField(max_length=200, db_index=True)
    location_id = models.CharField(max_length=200, blank=True, db_index=True)
    meter_point_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.resource_type} {self.resource_id}"


class Webhook(models.Model):
    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(max_length=2000)
    # Kept as given: the sandbox signs deliveries with it. Never shown by the API or state.
    secret = models.CharField(max_length=500, blank=True)
    name = models.CharField(max_length=200, blank=True)
    notification_types = models.JSONField(default=list)
    event_types = models.JSONField(default=list)
    operations = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # The spec's WebhookStatus: New until a delivery went, then how the last one went.
    status = models.CharField(max_length=20, default="New")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    last_analyzed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"webhook {self.webhook_id} → {self.url}"


class Delivery(models.Model):
    """One notification POSTed to a webhook (with its retries), for trainers and tests."""

    webhook = models.ForeignKey(Webhook, null=True, on_delete=models.SET_NULL)
    url = models.URLField(max_length=2000)
    notification_id = models.UUIDField(default=uuid.uuid4, unique=True)
    notification_type = models.CharField(max_length=60)
    body = models.TextField()
    signature = models.CharField(max_length=100)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    delivered = models.BooleanField(default=False)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.notification_type} → {self.url}: {self.status_code or self.error}"


class Event(models.Model):
    """An event Spark made (the simulation endpoints make them here): delivered to the
    webhooks subscribed to its type and listed by `GET /events`."""

    event_id = models.CharField(max_length=200, default=new_id, unique=True)
    notification_type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]  # the spec: most recent first

    def __str__(self):
        return f"{self.notification_type} {self.event_id}"


class RefusedBody(models.Model):
    """A request body the spec's schema refused (current form): trainers see why, tests
    count them ("zero schema violations")."""

    endpoint = models.CharField(max_length=200)
    errors = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"refused {self.endpoint}"


class Report(models.Model):
    report_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=200, blank=True)
    payloads = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"report {self.name or self.report_id}"


class AccessToken(HashedToken):
    pass
