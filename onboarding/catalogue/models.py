"""The catalogue: one row per object a read-only platform holds. Pulled, never pushed:
push (the outbox) and pull never share a table."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogueEntry(models.Model):
    class Kind(models.TextChoices):
        DEVICE = "device", _("Device")  # smart-me
        SITE = "site", _("Site")  # Climkit
        METER = "meter", _("Meter")  # Climkit
        SENSOR = "sensor", _("Sensor")  # Climkit

    platform = models.CharField(verbose_name=_("platform"), max_length=30)
    kind = models.CharField(verbose_name=_("kind"), max_length=20, choices=Kind.choices)
    remote_id = models.CharField(max_length=200)
    name = models.CharField(verbose_name=_("name"), max_length=300, blank=True)
    serial = models.CharField(verbose_name=_("serial number"), max_length=100, blank=True)
    medium = models.CharField(
        verbose_name=_("medium"),
        max_length=40,
        blank=True,
        help_text=_("What it measures, in the platform's words."),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    last_value = models.FloatField(null=True, blank=True)
    last_value_unit = models.CharField(max_length=30, blank=True)
    last_value_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    gone_since = models.DateTimeField(
        verbose_name=_("gone since"),
        null=True,
        blank=True,
        help_text=_("Set when a refresh no longer saw it on the platform."),
    )

    class Meta:
        verbose_name = _("catalogue entry")
        verbose_name_plural = _("catalogue")
        ordering = ["platform", "kind", "name"]
        # A refresh spends the platforms' budgets (Climkit: 1 request/s for everyone).
        permissions = [("refresh_catalogue", _("Can refresh the catalogue from the platforms"))]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "kind", "remote_id"], name="unique_catalogue_entry"
            )
        ]
        indexes = [
            models.Index(fields=["platform", "kind", "name"], name="catalogue_browse"),
            models.Index(fields=["serial"], name="catalogue_serial"),
        ]

    def __str__(self):
        parts = [self.name or self.remote_id]
        if self.serial:
            parts.append(f"#{self.serial}")
        if self.medium:
            parts.append(self.medium)
        label = " · ".join(parts)
        linked = self.linked_to()
        if linked is not None:
            label += f" — linked to {linked}"
        if self.gone_since:
            label += " — gone from the platform"
        return label

    def linked_to(self):
        """The Device or Space tied to this entry, or None."""
        for accessor in ("linked_smartme_device", "linked_climkit_device", "linked_space"):
            try:
                return getattr(self, accessor)
            except models.ObjectDoesNotExist:
                continue
        return None


class CatalogueRefresh(models.Model):
    """One refresh of one platform's catalogue and how it went, for staff to see."""

    platform = models.CharField(verbose_name=_("platform"), max_length=30)
    started_at = models.DateTimeField(
        verbose_name=_("started at"),
    )
    finished_at = models.DateTimeField()
    ok = models.BooleanField(
        verbose_name=_("ok"),
    )
    message = models.TextField(verbose_name=_("message"), blank=True)
    total = models.PositiveIntegerField(verbose_name=_("total"), default=0)
    new = models.PositiveIntegerField(verbose_name=_("new"), default=0)
    changed = models.PositiveIntegerField(verbose_name=_("changed"), default=0)
    gone = models.PositiveIntegerField(verbose_name=_("gone"), default=0)
    back = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("catalogue refresh")
        verbose_name_plural = _("catalogue refreshes")
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self):
        return f"{self.platform} {self.started_at:%Y-%m-%d %H:%M:%S}: {self.message}"


class CatalogueRefreshQueued(models.Model):
    """A refresh asked for (by staff, a picker or the start-up) and not finished yet:
    what the admin and the pickers show as "being refreshed" until its result is in
    CatalogueRefresh. Deleted by the task when it ends, however it ends."""

    platform = models.CharField(max_length=30, unique=True)
    queued_at = models.DateTimeField()
    queued_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("catalogue refresh under way")
        verbose_name_plural = _("catalogue refreshes under way")

    def __str__(self):
        return f"{self.platform} since {self.queued_at:%H:%M:%S}"
