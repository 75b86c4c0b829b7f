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

from . import auth
from .models import AccessToken, Delivery, Meter, Report, Resource, User, Webhook
from .views import PLATFORM, meter_json, resource_json, user_json, webhook_json
from .webhooks import delivery_json

API_PATH = "energy-coordination/v1"
TOKEN_PATH = "identity/connect/token"  # noqa: S105 - a path


def users_with_holdings() -> list[dict]:
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


def _state(request) -> dict:
    users = users_with_holdings()
    return {
        "counts": {
            "users": len(users),
            "meters": Meter.objects.count(),
            "vehicles": Resource.objects.filter(resource_type="Vehicle").count(),
            "resources": Resource.objects.exclude(resource_type="Vehicle").count(),
            "webhooks": Webhook.objects.count(),
            "deliveries": Delivery.objects.count(),
            "reports": Report.objects.count(),
            "tokens_valid": tokens.valid_count(AccessToken),
        },
        "users": users,
        "webhooks": [webhook_json(w) for w in Webhook.objects.all()],
        "deliveries": [delivery_json(d) for d in Delivery.objects.select_related("webhook")],
        "reports": [
            {"id": str(r.report_id), "eventId": r.event_id, "name": r.name, "payloads": r.payloads}
            for r in Report.objects.all()
        ],
    }


def _reset() -> None:
    # Users take their meters and resources with them; deliveries outlive their webhook.
    for model in (Delivery, Webhook, Report, User, AccessToken):
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
        },
    )
