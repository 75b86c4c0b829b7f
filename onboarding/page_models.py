"""What the portal's pages keep for themselves: a wizard's progress, and every invite
e-mail the portal sent. Neither is synced to a platform."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import ONBOARDING_STAFF, VIEWERS  # noqa: F401 (the roles, for importers)


class Wizard(models.Model):
    """One tenant's onboarding, step by step; left and resumed at the same step."""

    class Step(models.IntegerChoices):
        SPACE = 1, _("Space")
        DEVICES = 2, _("Devices")
        TENANT = 3, _("Tenant")
        INVITE = 4, _("Invite")
        DONE = 5, _("Done")

    # The start form's token: a double click or a second tab opens the same wizard.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.SPACE)
    reached = models.PositiveSmallIntegerField(
        choices=Step.choices, default=Step.SPACE, help_text=_("The furthest step saved so far.")
    )
    building = models.ForeignKey(
        "onboarding.Space", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # True when this wizard created the building (its fields may then still change here).
    building_is_new = models.BooleanField(default=False)
    # False for a change of tenant: the unit (and its devices) were there before this
    # wizard and stay when it is discarded.
    unit_is_new = models.BooleanField(default=True)
    # A change of tenant: the day the new tenant moves in (their tenancy's start).
    moves_in_on = models.DateField(null=True, blank=True)
    unit = models.ForeignKey(
        "onboarding.Space", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tenant = models.ForeignKey(
        "onboarding.TenantUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invite = models.ForeignKey(
        "onboarding.Invite", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Input of a step left with "Back" before it was saved, shown again on return.
    drafts = models.JSONField(default=dict, blank=True)
    # Form tokens already acted on: a form sent twice (double click, two tabs) acts once.
    handled_tokens = models.JSONField(default=list, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("onboarding")
        verbose_name_plural = _("onboardings")
        ordering = ["-updated_at"]

    def __str__(self):
        return str(self.unit or self.building or _("New onboarding"))


class InviteEmail(models.Model):
    """One invite e-mail the portal sent itself (with the link the platform returned)."""

    invite = models.ForeignKey("onboarding.Invite", on_delete=models.CASCADE, related_name="emails")
    # The send form's token: a double click sends one e-mail.
    token = models.UUIDField(unique=True)
    to = models.EmailField()
    language = models.CharField(max_length=5)
    subject = models.CharField(max_length=200)
    sent_by = models.CharField(max_length=150, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    # Empty when the e-mail backend took it; else why it did not.
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("invite e-mail")
        verbose_name_plural = _("invite e-mails")
        ordering = ["-sent_at"]

    def __str__(self):
        return f"{self.subject} → {self.to}"


class ImportPreview(models.Model):
    """An uploaded building file checked and waiting for staff to confirm it: kept here,
    not on a web host's disk, so any host can confirm it, and deleted when confirmed or
    once it has expired (it holds tenants' names and e-mails)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    filename = models.CharField(max_length=255)
    data = models.BinaryField()
    uploaded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("import preview")
        verbose_name_plural = _("import previews")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename
