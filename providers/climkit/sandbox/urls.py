"""Mounted at /sandbox/climkit/ (portal/urls.py, from the registry).

- api/v1/...   the developer API, same paths as https://api.climkit.io/api/v1
- _sandbox/... control endpoints (faults, tokens, latency, reset, state, meters, rate limit,
               answers: the shapes public sources disagree on)
- ""           the trainer page
"""

from django.urls import path

from . import control, views

app_name = "climkit_sandbox"

api = "api/v1/"
urlpatterns = [
    path("", control.index, name="index"),
    path(api + "auth", views.auth, name="auth"),
    path(api + "all_installations", views.all_installations, name="all-installations"),
    path(api + "installation_infos/<str:site_id>", views.installation_infos, name="site"),
    path(api + "meter_info/<str:site_id>", views.meter_info, name="meters"),
    path(api + "site_data/<str:site_id>/<str:meter_type>", views.site_data, name="site-data"),
    path(api + "meter_data/<str:site_id>/<str:meter_id>", views.meter_data, name="meter-data"),
    path(api + "meter_data_raw/<str:site_id>/<str:meter_id>", views.meter_data_raw, name="raw"),
    path(api + "<str:site_id>/sensors_list", views.sensors_list, name="sensors"),
    path(api + "<str:site_id>/sensor_data/<str:sensor_id>", views.sensor_data, name="sensor-data"),
    # Control
    path("_sandbox/meters", control.meters, name="control-meters"),
    path("_sandbox/meters/<str:meter_id>", control.meter_detail, name="control-meter"),
    path("_sandbox/rate_limit", control.rate_limit, name="rate-limit"),
    path("_sandbox/answers", control.answers, name="answers"),
    *control.urls,
]
