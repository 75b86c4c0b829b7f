"""Fault switches, latency and request counts of every sandbox, each row keyed by the
platform it belongs to. They live in the database because several server processes may
serve a sandbox; none of this is the portal's own data."""

from django.db import IntegrityError, models, transaction
from django.db.models import F


class Fault(models.Model):
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    # 200 with an HTML maintenance page, as a proxy in front of a platform in trouble
    # answers: the request is not processed.
    MAINTENANCE = "maintenance"
    MODES = [
        (ERROR, "error"),
        (RATE_LIMIT, "rate limit"),
        (TIMEOUT, "timeout"),
        (MAINTENANCE, "maintenance page"),
    ]

    platform = models.CharField(max_length=30)
    mode = models.CharField(max_length=16, choices=MODES)
    remaining = models.PositiveIntegerField()
    status = models.PositiveSmallIntegerField(default=500)
    retry_after = models.PositiveIntegerField(default=1)
    delay = models.FloatField(default=5.0)
    path = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["platform", "remaining"], name="fault_pending")]
        # The trainer permission (group "Trainers", onboarding/roles.py): every sandbox's
        # control side, its switches, resets, e-mails, invites and approvals.
        permissions = [("control_sandbox", "Can control the sandboxes (trainer)")]

    def __str__(self):
        return f"{self.platform}: {self.mode} ×{self.remaining} {self.path or '*'}"


class Latency(models.Model):
    """A platform's delay per answer; no row means the SANDBOX_LATENCY_MS default."""

    platform = models.CharField(max_length=30, unique=True)
    ms = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.platform}: {self.ms} ms"


class RequestCount(models.Model):
    """How often each endpoint was called, e.g. ("zaehlerfreunde", "POST /spaces"): 4."""

    platform = models.CharField(max_length=30)
    endpoint = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["platform", "endpoint"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "endpoint"], name="one_count_per_endpoint")
        ]

    def __str__(self):
        return f"{self.platform} {self.endpoint}: {self.count}"

    @classmethod
    def hit(cls, platform: str, endpoint: str) -> None:
        # A conditional UPDATE is atomic in the database, so concurrent requests from
        # several processes never lose a count; the first call creates the row.
        rows = cls.objects.filter(platform=platform, endpoint=endpoint)
        if rows.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                cls.objects.create(platform=platform, endpoint=endpoint, count=1)
        except IntegrityError:  # another process created it just now
            rows.update(count=F("count") + 1)


class HashedToken(models.Model):
    """An access token a sandbox issued. Only its hash is kept: the state dump and the
    trainer page must not leak tokens. Each sandbox has its own concrete table."""

    token_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self):
        return f"token {self.token_hash[:8]}… until {self.expires_at}"
