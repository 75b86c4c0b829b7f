"""Mounted at /sandbox/smartme/ (portal/urls.py); the sandbox's base URL stands for
https://api.smart-me.com.

- Devices, Devices/<id>, DevicesByEnergy, gateway/mbus/<id>   the REST API (views.py)
- api/oauth/token/ and oauth/token                            OAuth 2 client credentials
- _sandbox/...   control: faults, latency, tokens/expire, reset, state, devices
- ""             the trainer page
"""

from django.urls import path, re_path

from . import control, views

app_name = "smartme_sandbox"

urlpatterns = [
    path("", control.index, name="index"),
    # The guide's sample calls "https://api.smart-me.com/Devices/": with and without slash.
    re_path(r"^Devices/?$", views.devices, name="devices"),
    re_path(r"^Devices/(?P<device_id>[^/]+)/?$", views.device_detail, name="device"),
    re_path(r"^DevicesByEnergy/?$", views.devices_by_energy, name="devices-by-energy"),
    re_path(r"^gateway/mbus/(?P<gateway_id>[^/]+)/?$", views.mbus_gateway, name="mbus-gateway"),
    path("api/oauth/token/", views.token_guide, name="token"),
    path("oauth/token", views.token_sample, name="token-sample"),
    *control.device_urls,
    *control.urls,
]
