"""The outbox: one SyncRecord per (local object, platform), the calls made for it, and
each platform's connection (its cached token, encrypted)."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField


class RemoteState(models.TextChoices):
    SAME = "", _("As we hold it")
    MISSING = "missing", _("Missing there")
    DIFFERS = "differs", _("Differs there")
    NOT_SENT = "not_sent", _("Differs in what it cannot take")
    CANNOT_MOVE = "cannot_move", _("Cannot be moved there")


class SyncRecord(models.Model):
    RemoteState = RemoteState

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_FLIGHT = "in_flight", _("In flight")
        SYNCED = "synced", _("Synced")
        FAILED = "failed", _("Failed (fix the data)")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")

    class Operation(models.TextChoices):
        UPSERT = "upsert", _("Create or update")
        DELETE = "delete", _("Delete")

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("content type"), on_delete=models.CASCADE
    )
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    provider = models.CharField(verbose_name=_("platform"), max_length=30)
    # Order in which rows can go out: a building (0) before its units (1) before their
    # devices and invites (2).
    rank = models.PositiveSmallIntegerField(default=0)

    operation = models.CharField(
        verbose_name=_("operation"),
        max_length=10,
        choices=Operation.choices,
        default=Operation.UPSERT,
    )
    state = models.CharField(
        verbose_name=_("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    remote_id = models.CharField(verbose_name=_("remote id"), max_length=500, blank=True)
    attempts = models.PositiveIntegerField(verbose_name=_("attempts"), default=0)
    not_before = models.DateTimeField(help_text=_("Not to be tried before this time."))
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # Set when a create left us without an answer (timeout, 5xx, a worker killed
    # mid-call): before creating again, look for the object on the platform.
    outcome_unknown = models.BooleanField(verbose_name=_("outcome unknown"), default=False)
    # What the last create sent, so a lookup after an unknown outcome searches for the
    # object as it was sent, not as staff may have changed it since.
    attempt_payload = models.JSONField(null=True, blank=True)
    # The parent's remote id that create went under (a device's space): an object moved
    # before the next attempt is looked for where that create went, then moved.
    attempt_parent_id = models.CharField(max_length=500, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    # The parent's remote id the object was last sent under (a device's space): when the
    # parent changes, the platform is told to move it.
    sent_parent_id = models.CharField(max_length=500, blank=True)
    # Needs attention only because its parent (building, space, tenant) failed: goes on
    # by itself once the parent syncs.
    waiting_for_parent = models.BooleanField(default=False)
    last_error = models.TextField(verbose_name=_("last error"), blank=True)
    last_synced_at = models.DateTimeField(verbose_name=_("last synced"), null=True, blank=True)
    # Staff accepted a row that needed attention as it is ("accepted as is"): who, when.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.CharField(max_length=150, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    # What the platform really holds, as the last comparison (reconcile) or push found
    # it: the badge says "synced" only while both agree (onboarding/sync/reconcile/).
    remote_state = models.CharField(max_length=12, choices=RemoteState.choices, blank=True)
    # {payload key: {"label", "ours", "theirs", "why"?}} of the last comparison.
    remote_diff = models.JSONField(null=True, blank=True)
    compared_at = models.DateTimeField(null=True, blank=True)
    # Why the platform does not hold the object as we have it though the push was
    # answered (Handler.not_sent): shown as "not sent: <why>", never as synced.
    not_sent = models.TextField(blank=True)
    # "Re-create under the new parent": the remote object to delete before creating it
    # again under its new parent (a platform that cannot move it).
    replaces_remote_id = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync record")
        verbose_name_plural = _("sync records")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "provider"], name="one_record_per_provider"
            )
        ]
        indexes = [
            models.Index(fields=["state", "not_before"], name="syncrecord_due"),
            models.Index(
                fields=["claimed_at"],
                condition=Q(state__in=["pending", "in_flight"]),
                name="syncrecord_claimed",
            ),
            # What the dashboard reads on every page: rows in trouble (needs attention,
            # failed, differs, not sent) and the rows in progress counted per platform,
            # without reading the synced rows, which are most of them.
            models.Index(
                fields=["state", "remote_state", "provider"], name="syncrecord_state_remote"
            ),
            # Few rows have a "not sent" reason: a partial index finds them at once.
            models.Index(fields=["state"], condition=~Q(not_sent=""), name="syncrecord_not_sent"),
        ]

    def __str__(self):
        return f"{self.object_repr or self.object_id} → {self.provider}: {self.state}"

    @property
    def platform_may_hold(self) -> bool:
        """The platform has the object, or may have it (a create without an answer, or
        one under way)."""
        return bool(self.remote_id or self.outcome_unknown or self.state == self.State.IN_FLIGHT)


class ApiCall(models.Model):
    """One HTTP call to a platform, for support staff: "what did we send?"."""

    started_at = models.DateTimeField(db_index=True)
    provider = models.CharField(verbose_name=_("platform"), max_length=30)
    method = models.CharField(verbose_name=_("method"), max_length=10)
    path = models.CharField(verbose_name=_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(verbose_name=_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(
        verbose_name=_("duration (ms)"),
    )
    error = models.CharField(verbose_name=_("error"), max_length=200, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    sync_record = models.ForeignKey(
        SyncRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    # The object served, kept after the object and its outbox row are gone.
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="apicall_object")]

    def __str__(self):
        return f"{self.provider} {self.method} {self.path} → {self.status or self.error}"


class ProviderConnection(models.Model):
    """A platform's connection: its cached access token and whether it is usable."""

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        DISCONNECTED = "disconnected", _("Disconnected: credentials refused")

    provider = models.CharField(verbose_name=_("platform"), max_length=30, unique=True)
    status = models.CharField(
        verbose_name=_("status"), max_length=20, choices=Status.choices, default=Status.CONNECTED
    )
    status_message = models.TextField(verbose_name=_("message"), blank=True)
    access_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(
        verbose_name=_("token expires at"), null=True, blank=True
    )
    # A grant's refresh token (zevvy), encrypted like the access token.
    refresh_token = EncryptedTextField(blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("provider connection")
        verbose_name_plural = _("provider connections")

    def __str__(self):
        return f"{self.provider}: {self.status}"


class DeviceAuthorization(models.Model):
    """A device login (OAuth device flow, zevvy) a person started and has not finished,
    or how the last one ended. The device code is the secret half: encrypted at rest,
    shown nowhere, cleared once the login is settled."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        CONNECTED = "connected", _("Connected")
        FAILED = "failed", _("Failed")

    provider = models.CharField(max_length=30, unique=True)
    device_code = EncryptedTextField(blank=True)
    user_code = models.CharField(max_length=32)
    verification_uri = models.URLField(max_length=500)
    verification_uri_complete = models.URLField(max_length=1000, blank=True)
    interval = models.FloatField(help_text=_("Seconds between polls, as the server asks."))
    expires_at = models.DateTimeField()
    next_poll_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("device login")
        verbose_name_plural = _("device logins")

    def __str__(self):
        return f"{self.provider} device login: {self.outcome}"
