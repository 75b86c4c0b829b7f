"""Mounted at /sandbox/zaehlerfreunde/ (portal/urls.py).

- partner/...  the partner API, same paths as https://external.prod.zaehlerfreunde.com/partner
- invite/<t>   where an invite link leads (accept it there)
- _sandbox/... control endpoints (faults, glitches, tokens, latency, reset, state, e-mails,
               accepting an invite)
- ""           the trainer page
"""

from django.urls import path

from . import control, device_views, user_views, views

app_name = "zaehlerfreunde_sandbox"

urlpatterns = [
    path("", control.index, name="index"),
    # Partner API
    path("partner/auth/token", views.token, name="token"),
    path("partner/spaces", views.spaces, name="spaces"),
    path("partner/spaces/<str:space_id>", views.space_detail, name="space"),
    path("partner/spaces/<str:space_id>/devices", device_views.space_devices, name="space-devices"),
    path(
        "partner/spaces/<str:space_id>/devices/<str:device_id>",
        device_views.space_device,
        name="space-device",
    ),
    path(
        "partner/spaces/<str:space_id>/devices/<str:device_id>/details",
        device_views.device_details,
        name="device-details",
    ),
    path("partner/spaces/<str:space_id>/users", user_views.space_users, name="space-users"),
    path(
        "partner/spaces/<str:space_id>/users/<str:user_id>",
        user_views.space_user,
        name="space-user",
    ),
    path("partner/spaces/<str:space_id>/invites", user_views.space_invites, name="space-invites"),
    path("partner/access-roles", user_views.access_roles, name="access-roles"),
    # Before devices/<id>, or "readings" would be taken for a device id.
    path("partner/devices/readings", views.readings, name="readings"),
    path("partner/devices/<str:device_id>", device_views.device_detail, name="device"),
    path("invite/<str:token>", user_views.invite_page, name="invite"),
    # Control
    *control.urls,
]
