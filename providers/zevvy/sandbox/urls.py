"""Mounted at /sandbox/zevvy/ (portal/urls.py through the registry).

- auth/realms/zevvy/...  the authorization server, at Keycloak's paths:
  protocol/openid-connect/auth/device, protocol/openid-connect/token, and the
  verification page `device`
- api/...                the API (devices, measurements)
- _sandbox/...           control endpoints (faults, latency, tokens/expire, reset, state,
                         grants/revoke, device-codes/expire, device-flow)
- ""                     the trainer page
"""

from django.urls import path

from . import control, oauth_views, pages, views

app_name = "zevvy_sandbox"

REALM = "auth/realms/zevvy"

urlpatterns = [
    path("", pages.index, name="index"),
    path("grants/<int:grant_id>/revoke", pages.revoke_grant, name="revoke-grant"),
    # Authorization server
    path(
        f"{REALM}/protocol/openid-connect/auth/device",
        oauth_views.device_authorization,
        name="device-authorization",
    ),
    path(f"{REALM}/protocol/openid-connect/token", oauth_views.token, name="token"),
    path(f"{REALM}/device", pages.device, name="device"),
    # API
    path("api/devices", views.devices, name="devices"),
    path("api/devices/<str:device_id>", views.device_detail, name="device-detail"),
    path("api/measurements/_bulk_create", views.bulk_create_by_name, name="bulk-by-name"),
    path(
        "api/deviceRef/<str:device_ref>/registerRef/<str:register_ref>/measurements/_bulk_create",
        views.bulk_create_by_ref,
        name="bulk-by-ref",
    ),
    *control.urls,
]
