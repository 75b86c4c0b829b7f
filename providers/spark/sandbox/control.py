"""The sandbox's control side and trainer page.

The fault switches, latency, token expiry, reset and state come from the shared sandbox
kit (staff login or the control token); this module adds Spark's own picture: users with
their meters, vehicles and resources, webhooks and their deliveries, reports.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from providers.sandbox_kit import tokens
from providers.sandbox_kit.control import control_access, control_urls
from providers.sandbox_kit.panel import control_panel

from . import auth, current
from .forms import is_current
from .models import (
    AccessToken,
    Delivery,
    Event,
    Location,
    Meter,
    RefusedBody,
    Report,
    Resource,
    User,
    UserResource,
    Webhook,
)
from .views import PLATFORM, meter_json, resource_json, user_json, webhook_json
from .webhooks import delivery_json

API_PATH = "energy-coordination/v1"
TOKEN_PATH = "identity/connect/token"  # noqa: S105 - a path


def users_with_holdings() -> list[dict]:
    """Each user with what is registered under it, in the form being served."""
    if is_current():
        return _current_holdings()
    users = User.objects.prefetch_related("meters__user", "resources__user")
    return [
        {
            **user_json(user),
            "meters": [meter_json(m) for m in user.meters.all()],
            "vehicles": [resource_json(r) for r in user.resources.all() if r.is_vehicle],
            "resources": [resource_json(r) for r in user.resources.all() if not r.is_vehicle],
        }
        for user in users
    ]


def _current_holdings() -> list[dict]:
    locations, resources = {}, {}
    for location in Location.objects.all():
        locations.setdefault(location.user_id, []).append(current.location_json(location))
    for resource in UserResource.objects.all():
        resources.setdefault(resource.user_id, []).append(current.resource_json(resource))
    return [
        {
            **current.user_json(user),
            "createdAt": user.created_at.isoformat(),
            "locations": locations.get(user.user_id, []),
            "vehicles": [r for r in resources.get(user.user_id, []) if _is_vehicle(r)],
            "resources": [r for r in resources.get(user.user_id, []) if not _is_vehicle(r)],
        }
        for user in User.objects.all()
    ]


def _is_vehicle(resource: dict) -> bool:
    return resource["resourceType"] == "Vehicle"


def _counts() -> dict:
    if is_current():
        holdings = {
            "locations": Location.objects.count(),
            "vehicles": UserResource.objects.filter(resource_type="Vehicle").count(),
            "resources": UserResource.objects.exclude(resource_type="Vehicle").count(),
        }
    else:
        holdings = {
            "meters": Meter.objects.count(),
            "vehicles": Resource.objects.filter(resource_type="Vehicle").count(),
            "resources": Resource.objects.exclude(resource_type="Vehicle").count(),
        }
    return {
        "users": User.objects.count(),
        **holdings,
        "webhooks": Webhook.objects.count(),
        "deliveries": Delivery.objects.count(),
        "events": Event.objects.count(),
        "reports": Report.objects.count(),
        "refused_bodies": RefusedBody.objects.count(),
        "tokens_valid": tokens.valid_count(AccessToken),
    }


def _state(request) -> dict:
    return {
        "api": "current" if is_current() else "guide",
        "counts": _counts(),
        "users": users_with_holdings(),
        "webhooks": [webhook_json(w) for w in Webhook.objects.all()],
        "deliveries": [delivery_json(d) for d in Delivery.objects.select_related("webhook")],
        "reports": [
            {"id": str(r.report_id), "eventId": r.event_id, "name": r.name, "payloads": r.payloads}
            for r in Report.objects.all()
        ],
        "events": [current.event_json(e) for e in Event.objects.all()],
        "refused_bodies": [
            {"endpoint": r.endpoint, "errors": r.errors, "body": r.body}
            for r in RefusedBody.objects.all()
        ],
    }


def _reset() -> None:
    # Users take their (guide-form) meters and resources with them; deliveries outlive
    # their webhook.
    for model in (
        Delivery, Webhook, Report, Event, RefusedBody, UserResource, Location, User, AccessToken,
    ):  # fmt: skip
        model.objects.all().delete()


urls = control_urls(PLATFORM, state=_state, reset=_reset, expire_tokens=auth.expire_all)


@control_access
@require_GET
def index(request):
    """The trainer page: who is registered with what, webhooks and what they were sent."""
    mount = request.build_absolute_uri(request.path).rstrip("/")
    return render(
        request,
        "spark_sandbox/index.html",
        {
            "panel": control_panel(
                PLATFORM, base_url=f"{mount}/{API_PATH}", control_url=f"{mount}/_sandbox"
            ),
            "token_url": f"{mount}/{TOKEN_PATH}",
            "client_id": settings.SANDBOX_CLIENT_ID,
            "token_minutes": int(auth.TOKEN_LIFETIME.total_seconds() // 60),
            "users": users_with_holdings(),
            "webhooks": [webhook_json(w) for w in Webhook.objects.all()],
            "deliveries": [
                delivery_json(d) for d in Delivery.objects.select_related("webhook").reverse()[:50]
            ],
            "reports": Report.objects.reverse()[:50],
            "api": "current" if is_current() else "guide",
            "events": Event.objects.all()[:50],
            "refused": RefusedBody.objects.reverse()[:20],
        },
    )
