"""What the comparisons found: one Comparison per platform and run, one Drift per thing
that differs, kept with who fixed it and how (the drift page's history)."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import SyncRecord


class Comparison(models.Model):
    """One reading of a platform, compared with what we hold."""

    class Outcome(models.TextChoices):
        SAME = "same", _("Holds what we hold")
        DIFFERS = "differs", _("Differs")
        UNREADABLE = "unreadable", _("Could not be read")

    provider = models.CharField(max_length=30)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error = models.TextField(blank=True)
    started_by = models.CharField(max_length=150, blank=True)  # "beat", a command, a login
    missing = models.PositiveIntegerField(default=0)
    extra = models.PositiveIntegerField(default=0)
    different = models.PositiveIntegerField(default=0)
    same = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    # Kinds of object the platform cannot list, with why ("Zählerfreunde cannot list
    # invites …"): not compared, said so.
    not_listed = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("comparison")
        verbose_name_plural = _("comparisons")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["provider", "-started_at"], name="comparison_latest")]

    def __str__(self):
        return f"{self.provider} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"


class Drift(models.Model):
    """One thing a platform holds otherwise than we do, from when a comparison first saw
    it until one no longer does (resolved), with the fix staff (or --fix) chose."""

    class Kind(models.TextChoices):
        MISSING = "missing", _("Missing there")
        EXTRA = "extra", _("Extra there")
        DIFFERENT = "different", _("Different")

    class Fix(models.TextChoices):
        RECREATE = "recreate", _("Re-created")
        RECREATE_UNDER_PARENT = "recreate_parent", _("Re-created under its new parent")
        PUSH = "push", _("Sent ours again")
        ADOPT = "adopt", _("Adopted as ours")
        LEAVE = "leave", _("Left alone (not ours)")
        ACCEPT = "accept", _("Accepted as is")

    # Fixes after which the drift no longer counts as open trouble, though the platform
    # still holds it so: a person decided.
    SETTLED_BY_PERSON = (Fix.LEAVE, Fix.ACCEPT)

    provider = models.CharField(max_length=30)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    sync_record = models.ForeignKey(
        SyncRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="drifts"
    )
    object_repr = models.CharField(max_length=300, blank=True)
    remote_id = models.CharField(max_length=500, blank=True)
    # For a difference: {key: {"label", "ours", "theirs", "why"?}}; for an extra: what
    # the platform holds ({key: value}); for a missing object: {"reason": …}.
    details = models.JSONField(default=dict, blank=True)
    # An extra that carries our key for one of our objects whose row has no remote id
    # (or a missing one): adopting it gives the row this remote id.
    adoptable = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    fix = models.CharField(max_length=16, choices=Fix.choices, blank=True)
    fixed_by = models.CharField(max_length=150, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("drift")
        verbose_name_plural = _("drifts")
        ordering = ["provider", "kind", "object_repr"]
        indexes = [
            models.Index(
                fields=["provider", "kind"], condition=Q(resolved_at=None), name="drift_open"
            )
        ]

    def __str__(self):
        return f"{self.provider}: {self.get_kind_display()} {self.object_repr or self.remote_id}"

    @property
    def settled_by_person(self) -> bool:
        return self.fix in self.SETTLED_BY_PERSON
