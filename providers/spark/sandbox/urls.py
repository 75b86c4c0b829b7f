"""Mounted at /sandbox/spark/ (portal/urls.py, from the registry).

- identity/connect/token      the identity server (separate from the API, as Spark's is:
                              https://auth.identity.volue.com/connect/token)
- energy-coordination/v1/...  the API, same paths as https://api.voluespark.com/energy-coordination/v1,
                              in the form SPARK_API names (forms.py): the guide's
                              (views.py) or the current spec's (current.py); webhooks and
                              reports are shared
- _sandbox/...                control endpoints (faults, tokens, latency, reset, state)
- ""                          the trainer page
"""

from django.urls import path

from . import control, current, views
from .forms import by_form

app_name = "spark_sandbox"

API = "energy-coordination/v1/"
U = API + "users/<str:user_id>"

urlpatterns = [
    path("", control.index, name="index"),
    path("identity/connect/token", views.token, name="token"),
    path(API + "users", by_form(guide=views.users, current=current.users), name="users"),
    path(U, by_form(guide=views.user_detail, current=current.user_detail), name="user"),
    # The guide's form
    path(U + "/meters", by_form(guide=views.meters), name="meters"),
    path(U + "/meters/<str:meter_id>", by_form(guide=views.meter_detail), name="meter"),
    path(U + "/vehicles", by_form(guide=views.vehicles, current=current.vehicles), name="vehicles"),
    path(U + "/vehicles/<str:vehicle_id>", by_form(guide=views.vehicle_detail), name="vehicle"),
    path(
        U + "/resources",
        by_form(guide=views.resources, current=current.user_resources),
        name="resources",
    ),
    path(U + "/resources/<str:resource_id>", by_form(guide=views.resource_detail), name="resource"),
    # The current form
    path(U + "/locations", by_form(current=current.locations), name="locations"),
    path(
        U + "/locations/<str:location_id>",
        by_form(current=current.location_detail),
        name="location",
    ),
    path(
        U + "/locations/<str:location_id>/resources",
        by_form(current=current.location_resources),
        name="location-resources",
    ),
    path(
        API + "resources/<str:resource_id>",
        by_form(current=current.resource_detail),
        name="resource-by-id",
    ),
    # Both forms
    path(API + "events", current.events, name="events"),
    path(API + "events/<str:event_id>", current.event_detail, name="event"),
    path(
        API + "simulation/events/usereligibility",
        current.simulate_user_eligibility,
        name="simulate-user-eligibility",
    ),
    path(
        API + "simulation/events/pricecurve",
        current.simulate_price_curve,
        name="simulate-price-curve",
    ),
    path(API + "webhooks", views.webhooks_view, name="webhooks"),
    path(API + "webhooks/<str:webhook_id>", views.webhook_detail, name="webhook"),
    path(API + "webhooks/<str:webhook_id>/test", views.webhook_test, name="webhook-test"),
    path(API + "reports", views.reports, name="reports"),
    *control.urls,
]
