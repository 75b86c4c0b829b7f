"""A sandbox's control side (`/_sandbox/...`): fault switches, latency, token expiry,
reset and state, for trainers and tests.

Never open to the world: a request needs a staff session or the header
`X-Sandbox-Token: <SANDBOX_CONTROL_TOKEN>`. Nothing here is counted, delayed or subject to
faults, so tests and trainers can always look at and repair a sandbox while it misbehaves.
"""

import functools
import json
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import faults
from .models import Fault, Latency, RequestCount

TOKEN_HEADER = "X-Sandbox-Token"  # noqa: S105 - a header name, not a secret


def allowed(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    expected = settings.SANDBOX_CONTROL_TOKEN
    given = request.headers.get(TOKEN_HEADER, "")
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def control_access(view):
    """Staff or the control token; a browser without either is sent to the login page."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if allowed(request):
            return view(request, *args, **kwargs)
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            return redirect_to_login(request.get_full_path())
        return JsonResponse(
            {"error": f"Sandbox control needs a staff login or the {TOKEN_HEADER} header."},
            status=403,
        )

    return wrapper


def json_body(request):
    """The JSON object sent, {} for an empty body, or None when it is not JSON."""
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def bad(errors) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


def request_counts(platform: str) -> dict[str, int]:
    return dict(RequestCount.objects.filter(platform=platform).values_list("endpoint", "count"))


def control_urls(
    platform: str,
    *,
    state: Callable,
    reset: Callable[[], None],
    expire_tokens: Callable[[], int],
) -> list:
    """The control endpoints of one sandbox; `state(request)` returns its own picture,
    to which the fault switches, latency and request counts are added."""

    @control_access
    @require_http_methods(["GET", "POST", "DELETE"])
    def faults_view(request):
        mine = Fault.objects.filter(platform=platform)
        if request.method == "GET":
            return JsonResponse({"faults": [faults.describe(f) for f in mine]})
        if request.method == "DELETE":
            deleted, _ = mine.delete()
            return JsonResponse({"deleted": deleted})
        data = json_body(request)
        errors, values = faults.parse_fault(data if data is not None else [])
        if errors:
            return bad(errors)
        fault = Fault.objects.create(platform=platform, **values)
        return JsonResponse(faults.describe(fault), status=201)

    @control_access
    @require_POST
    def expire_view(request):
        return JsonResponse({"expired": expire_tokens()})

    @control_access
    @require_http_methods(["GET", "POST"])
    def latency_view(request):
        if request.method == "POST":
            data = json_body(request)
            ms = data.get("ms") if isinstance(data, dict) else "invalid"
            # null sets it back to the settings default (SANDBOX_LATENCY_MS).
            if ms is not None and (
                not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 600_000
            ):
                return bad({"ms": ["ms must be an integer between 0 and 600000, or null."]})
            faults.set_latency_ms(platform, ms)
        return JsonResponse({"ms": faults.current_latency_ms(platform)})

    @control_access
    @require_POST
    def reset_view(request):
        with transaction.atomic():
            reset()
            for model in (Fault, RequestCount, Latency):
                model.objects.filter(platform=platform).delete()
        return JsonResponse({"reset": True})

    @control_access
    @require_GET
    def state_view(request):
        return JsonResponse(
            {
                **state(request),
                "requests": request_counts(platform),
                "faults": faults.pending(platform),
                "latency_ms": faults.current_latency_ms(platform),
            }
        )

    return [
        path("_sandbox/faults", faults_view, name="faults"),
        path("_sandbox/tokens/expire", expire_view, name="expire-tokens"),
        path("_sandbox/latency", latency_view, name="latency"),
        path("_sandbox/reset", reset_view, name="reset"),
        path("_sandbox/state", state_view, name="state"),
    ]
