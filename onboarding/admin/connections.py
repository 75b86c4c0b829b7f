"""The platforms' connections, with the panel where a person grants access (zevvy)."""

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy

from providers import registry

from .. import sync_words
from ..models import (
    ProviderConnection,
)
from . import connect_panel
from .base import ReadOnlyAdmin


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(ReadOnlyAdmin):
    # The token is never loaded (deferred), so it is neither decrypted nor rendered.
    # The platform's name, and a message only while it says what is wrong (a message
    # left from an earlier refusal is not shown beside "Connected").
    list_display = ("platform", "status", "current_message", "token_expires_at", "updated_at")
    list_filter = ("status",)
    fields = ("provider", "status", "status_message", "token_expires_at", "updated_at")
    readonly_fields = fields
    exclude = ("access_token", "refresh_token")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("access_token", "refresh_token")

    @admin.display(description=gettext_lazy("platform"), ordering="provider")
    def platform(self, obj):
        return registry.label(obj.provider)

    @admin.display(description=gettext_lazy("message"))
    def current_message(self, obj):
        if obj.status == ProviderConnection.Status.CONNECTED:
            return "—"
        return sync_words.translate(obj.status_message) or "—"

    # The "Connect zevvy" panel (onboarding/connect_panel.py): a person grants access.
    change_list_template = "admin/onboarding/providerconnection/change_list.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "connect/<str:provider>/start/",
                wrap(connect_panel.start_view(self.admin_site)),
                name="onboarding_connect_start",
            ),
            path(
                "connect/<str:provider>/",
                wrap(connect_panel.status_view(self.admin_site)),
                name="onboarding_connect_status",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        panels = []
        if request.user.has_perm(connect_panel.PERMISSION):
            panels += [
                connect_panel.panel_context(request, name)
                for name in registry.PLATFORMS
                if registry.person_connects(name)
            ]
        context = {"connect_panels": panels, "platforms": connect_panel.platform_sentences()}
        return super().changelist_view(request, {**(extra_context or {}), **context})
