"""Mounted at /sandbox/spark/ (portal/urls.py, from the registry).

- identity/connect/token      the identity server (separate from the API, as Spark's is:
                              https://auth.identity.volue.com/connect/token)
- energy-coordination/v1/...  the API, same paths as https://api.voluespark.com/energy-coordination/v1
- _sandbox/...                control endpoints (faults, tokens, latency, reset, state)
- ""                          the trainer page
"""

from django.urls import path

from . import control, views

app_name = "spark_sandbox"

API = "energy-coordination/v1/"

urlpatterns = [
    path("", control.index, name="index"),
    path("identity/connect/token", views.token, name="token"),
    path(API + "users", views.users, name="users"),
    path(API + "users/<str:user_id>", views.user_detail, name="user"),
    path(API + "users/<str:user_id>/meters", views.meters, name="meters"),
    path(API + "users/<str:user_id>/meters/<str:meter_id>", views.meter_detail, name="meter"),
    path(API + "users/<str:user_id>/vehicles", views.vehicles, name="vehicles"),
    path(
        API + "users/<str:user_id>/vehicles/<str:vehicle_id>",
        views.vehicle_detail,
        name="vehicle",
    ),
    path(API + "users/<str:user_id>/resources", views.resources, name="resources"),
    path(
        API + "users/<str:user_id>/resources/<str:resource_id>",
        views.resource_detail,
        name="resource",
    ),
    path(API + "webhooks", views.webhooks_view, name="webhooks"),
    path(API + "webhooks/<str:webhook_id>", views.webhook_detail, name="webhook"),
    path(API + "webhooks/<str:webhook_id>/test", views.webhook_test, name="webhook-test"),
    path(API + "reports", views.reports, name="reports"),
    *control.urls,
]
