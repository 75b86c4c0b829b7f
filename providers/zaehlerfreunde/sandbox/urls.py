"""Mounted at /sandbox/zaehlerfreunde/ (portal/urls.py).

- partner/...  the partner API, same paths as https://external.prod.zaehlerfreunde.com/partner
- invite/<t>   where an invite link leads
- _sandbox/... control endpoints (faults, tokens, latency, reset, state, e-mails)
- ""           the trainer page
"""

from django.urls import path

from . import control, views

app_name = "zaehlerfreunde_sandbox"

urlpatterns = [
    path("", control.index, name="index"),
    # Partner API
    path("partner/auth/token", views.token, name="token"),
    path("partner/spaces", views.spaces, name="spaces"),
    path("partner/spaces/<str:space_id>", views.space_detail, name="space"),
    path("partner/spaces/<str:space_id>/devices", views.space_devices, name="space-devices"),
    path("partner/spaces/<str:space_id>/invites", views.space_invites, name="space-invites"),
    # Before devices/<id>, or "readings" would be taken for a device id.
    path("partner/devices/readings", views.readings, name="readings"),
    path("partner/devices/<str:device_id>", views.device_detail, name="device"),
    path("invite/<str:token>", views.invite_page, name="invite"),
    # Control
    path("_sandbox/emails", control.emails, name="emails"),
    *control.urls,
]
