"""Tenants, their invites and their Spark parts (meters, vehicles, resources)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ..forms import SyncedForm
from ..models import (
    Invite,
    Meter,
    Resource,
    TenantUser,
    Vehicle,
)
from .base import SyncedAdmin


@admin.register(TenantUser)
class TenantUserAdmin(SyncedAdmin):
    list_display = ("name", "sync_summary", "email", "phone", "unit", "deletion_state")
    search_fields = ("name", "email", "phone", "unit__name", "unit__parent__name")
    list_select_related = ("unit", "unit__parent")
    autocomplete_fields = ("unit",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "spark_user_id")


class InviteForm(SyncedForm):
    """The e-mail comes from the chosen tenant when left empty (the page's script fills
    it in as soon as a tenant is chosen)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "email" in self.fields:
            self.fields["email"].required = False
            if not self.fields["email"].help_text:  # "Fixed: …" comes first
                self.fields["email"].help_text = _("Left empty: the chosen tenant's e-mail.")

    def clean_email(self):
        email = self.cleaned_data.get("email")
        tenant = self.cleaned_data.get("tenant")  # cleaned first: it comes first
        if not email and tenant is not None:
            return tenant.email
        if not email:
            raise forms.ValidationError(_("Enter the e-mail, or choose a tenant to use theirs."))
        return email


def tenant_elsewhere(invite: Invite) -> str:
    """A warning when the invite's tenant lives in another unit than the invite's."""
    tenant = invite.tenant
    if tenant is None or invite.space_id is None or tenant.unit_id == invite.space_id:
        return ""
    return _(
        "%(tenant)s lives in %(home)s, not in %(space)s: this invite gives them access to "
        "%(space)s. Check that this is the unit you meant."
    ) % {"tenant": tenant.name, "home": tenant.unit, "space": invite.space}


@admin.register(Invite)
class InviteAdmin(SyncedAdmin):
    form = InviteForm
    list_display = (
        "email",
        "sync_summary",
        "space",
        "tenant",
        "status",
        "send_invite_email",
        "deletion_state",
    )
    list_filter = ("status", "send_invite_email")
    search_fields = ("email", "space__name", "space__parent__name", "tenant__name")
    list_select_related = ("space", "space__parent", "tenant")
    autocomplete_fields = ("space", "tenant")
    extra_readonly = (*SyncedAdmin.extra_readonly, "status", "invite_link")

    class Media:
        js = ("onboarding/invite_form.js",)

    def get_urls(self):
        return [
            path(
                "tenant/<int:pk>/",
                self.admin_site.admin_view(self.tenant_view),
                name="onboarding_invite_tenant",
            ),
            *super().get_urls(),
        ]

    def tenant_view(self, request, pk):
        """The chosen tenant's e-mail and unit, for the invite form's script."""
        if not self.admin_site._registry[TenantUser].has_view_permission(request):
            raise PermissionDenied
        tenant = get_object_or_404(TenantUser.objects.select_related("unit__parent"), pk=pk)
        return JsonResponse(
            {"email": tenant.email, "unit_id": tenant.unit_id, "unit": str(tenant.unit)}
        )

    def render_change_form(self, request, context, *args, **kwargs):
        context["tenant_url"] = reverse("admin:onboarding_invite_tenant", args=[0])
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        warning = tenant_elsewhere(obj)
        if warning:
            self.message_user(request, warning, messages.WARNING)


@admin.register(Meter)
class MeterAdmin(SyncedAdmin):
    list_display = (
        "meter_point_id",
        "sync_summary",
        "meter_number",
        "tenant",
        "location_type",
        "deletion_state",
    )
    list_filter = ("location_type",)
    search_fields = ("meter_point_id", "meter_number", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "spark_location_id")


@admin.register(Vehicle)
class VehicleAdmin(SyncedAdmin):
    list_display = (
        "brand",
        "model",
        "sync_summary",
        "year",
        "vin",
        "tenant",
        "deletion_state",
    )
    search_fields = ("brand", "model", "vin", "vehicle_id", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant",)
    extra_readonly = (*SyncedAdmin.extra_readonly, "vehicle_id")


@admin.register(Resource)
class ResourceAdmin(SyncedAdmin):
    list_display = (
        "kind",
        "brand",
        "model",
        "capacity",
        "heating_elements",
        "tenant",
        "sync_summary",
        "deletion_state",
    )
    list_filter = ("kind",)
    search_fields = ("brand", "model", "resource_id", "tenant__name", "tenant__email")
    list_select_related = ("tenant",)
    autocomplete_fields = ("tenant", "meter")
    extra_readonly = (*SyncedAdmin.extra_readonly, "resource_id")
