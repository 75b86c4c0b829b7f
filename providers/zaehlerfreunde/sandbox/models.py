"""The sandbox's own state: what the remote platform would hold, never the portal's models.

Everything lives in the database (not in process memory) because several server
processes may serve the sandbox at once (runserver, gunicorn workers, the test live
server) and a trainer's switch must reach all of them.

What the public OpenAPI spec says about the shape of this state, and what we chose:
- A space may have a parent space (a unit in a building). The spec promises no cascade
  from a space to its sub-spaces, so the foreign key PROTECTs: a relational platform
  cannot cascade a self-reference (SQL Server refuses such a cascade outright, and EF
  Core then configures it as "no action"), so deleting a space that still has units is
  refused (409) rather than leaving orphans or deleting more than the spec promises.
- A device may be linked to several spaces, or to none: `POST /spaces/{s}/devices/{d}`
  "links an existing device to a space", `DELETE` on it "does not delete the device",
  the Device schema has no spaceId, and the link carries its own `isMainDevice` and
  `excludedFromCost`. So devices and spaces meet in a link table (SpaceDevice).
- Users are platform accounts (the User schema's `lastLogin`, `loginCount`, `picture`
  are Auth0's profile fields, and its user id is a plain string, not a UUID); a user
  sees a space through a membership (SpaceUser) with an access role.
"""

import uuid

from django.db import models

from providers.sandbox_kit.models import HashedToken


class Space(models.Model):
    # Integer pk keeps the creation order stable for paging; the API only shows `uuid`.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=500)
    address_line_one = models.CharField(max_length=500)
    address_line_two = models.CharField(max_length=500, blank=True, null=True)
    postcode = models.CharField(max_length=50)
    city = models.CharField(max_length=200)
    category = models.CharField(max_length=64)
    # No cascade to units (see the module docstring): the view answers 409 first.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
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
    spaces = models.ManyToManyField(Space, through="SpaceDevice", related_name="devices")
    name = models.CharField(max_length=500)
    # Fixed at creation: DeviceDetails has no type or medium.
    device_type = models.CharField(max_length=64)
    medium = models.CharField(max_length=32)
    # Unique per partner; the sandbox has one partner, so unique overall.
    external_device_id = models.CharField(max_length=500, null=True, blank=True, unique=True)
    metering_location_id = models.CharField(max_length=500, null=True, blank=True)
    serial_number = models.CharField(max_length=500, null=True, blank=True)
    conversion_factor = models.FloatField(null=True, blank=True)
    # DeviceDetails' `grid`: does the device measure import/export from the grid?
    grid = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} ({self.uuid})"


class SpaceDevice(models.Model):
    """A device shown in a space, with the flags the link endpoint takes."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="device_links")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="links")
    is_main_device = models.BooleanField(default=False)
    excluded_from_cost = models.BooleanField(default=False)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["space", "device"], name="zf_sandbox_link_once")
        ]

    def __str__(self):
        return f"{self.device_id} in {self.space_id}"


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


class AccessRole(models.Model):
    """What a user may do in a space (`GET /access-roles`); seeded by roles.py."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=1000, blank=True, default="")
    permission_ids = models.JSONField(default=list)
    # NewSpaceInvite: "If not specified, the default access role will be assigned."
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.name


class User(models.Model):
    """A platform account: made when someone accepts an invite; never deleted by the API
    (removing a user from a space "does not delete the user")."""

    user_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=500)
    # One account per e-mail: a tenant invited to a second space keeps their account.
    email = models.EmailField(max_length=320, unique=True)
    phone_number = models.CharField(max_length=50, blank=True, default="")
    picture = models.CharField(max_length=500, blank=True, default="")
    login_count = models.PositiveIntegerField(default=1)
    last_login = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class SpaceUser(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    access_role = models.ForeignKey(AccessRole, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="zf_sandbox_member_once")
        ]

    def __str__(self):
        return f"{self.user_id} in {self.space_id}"


class Invite(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token = models.CharField(max_length=64, unique=True)
    # Deleted with its space (EF Core's default for a required foreign key): the link
    # then leads to "no longer valid" and can never be accepted.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invites")
    user_email = models.EmailField(max_length=320)
    access_role = models.ForeignKey(AccessRole, on_delete=models.PROTECT, related_name="+")
    send_invite_email = models.BooleanField()
    link = models.URLField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    # An invite is used once: the link is a credential, and a second person following
    # a forwarded link must not get the tenant's data too.
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

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


class AccessToken(HashedToken):
    pass


class Options(models.Model):
    """One row (pk=1): how the sandbox reads what its sources leave open, set over
    `_sandbox/options` (options.py); no row means the defaults, the spec's reading."""

    SECONDS, MILLISECONDS = "seconds", "milliseconds"
    TIMESTAMP_UNITS = [
        (SECONDS, "seconds (the spec's example)"),
        (MILLISECONDS, "milliseconds (another page of the platform's)"),
    ]
    # NewReading.timestamp is an int64; the platform reads it in one unit, not both.
    timestamp_unit = models.CharField(max_length=12, choices=TIMESTAMP_UNITS, default=SECONDS)
    # The spec's postcode is any string. On: only four or five digits (a DACH postcode),
    # as a platform that derives a space's country plausibly insists.
    dach_postcodes_only = models.BooleanField(default=False)

    def __str__(self):
        return f"timestamps in {self.timestamp_unit}"


class Glitch(models.Model):
    """A 2xx answer that is not what the spec promises, switched on over HTTP.

    The shared sandbox kit's faults answer 4xx/5xx, 429, late, or with a maintenance
    page (nothing processed); a platform can also process a call and answer 200 with a
    body missing the promised id. Zählerfreunde's own switch, consumed like a fault
    (atomic decrement).
    """

    EMPTY_OBJECT = "empty_object"  # processed, then 200 `{}`
    LIST_BODY = "list_body"  # processed, then 200 `[]`
    MODES = [
        (EMPTY_OBJECT, "processed, answered 200 {}"),
        (LIST_BODY, "processed, answered 200 []"),
    ]

    mode = models.CharField(max_length=32, choices=MODES)
    remaining = models.PositiveIntegerField(default=1)
    path = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.mode} ×{self.remaining} {self.path or '*'}"
