"""A sandbox's control side (`/_sandbox/...`): fault switches, latency, token expiry,
reset and state, for trainers and tests.

Never open to the world: a request needs a staff session with the trainer permission
(`sandbox_kit.control_sandbox`, group "Trainers") or the header
`X-Sandbox-Token: <SANDBOX_CONTROL_TOKEN>`. A session's changes need Django's CSRF token,
as every form of the portal; the header is for scripts and tests, and no other site's
page can send it, so it needs none. Nothing here is counted, delayed or subject to
faults, so tests and trainers can always look at and repair a sandbox while it misbehaves.
"""

import functools
import json
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import faults
from .models import Fault, Latency, RequestCount

TOKEN_HEADER = "X-Sandbox-Token"  # noqa: S105 - a header name, not a secret
PERMISSION = "sandbox_kit.control_sandbox"


def has_control_token(request) -> bool:
    expected = settings.SANDBOX_CONTROL_TOKEN
    given = request.headers.get(TOKEN_HEADER, "")
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def is_trainer(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(PERMISSION))


def allowed(request) -> bool:
    return has_control_token(request) or is_trainer(getattr(request, "user", None))


def _csrf_refusal(request):
    """Django's own CSRF check, for a session's request (None when it passes)."""
    return CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {})


def control_access(view):
    """The control token, or a trainer's session with its CSRF token; a browser without
    either is sent to the login page."""

    @csrf_exempt  # checked here instead: the token header needs none, a session does
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if has_control_token(request):
            return view(request, *args, **kwargs)
        if is_trainer(getattr(request, "user", None)):
            return _csrf_refusal(request) or view(request, *args, **kwargs)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        wants_page = "text/html" in request.headers.get("Accept", "")
        if request.method == "GET" and wants_page and not signed_in:
            return redirect_to_login(request.get_full_path())
        return JsonResponse(
            {
                "error": "Sandbox control needs the trainer permission (group Trainers) "
                f"or the {TOKEN_HEADER} header."
            },
            status=403,
        )

    return wrapper


def json_body(request):
    """The JSON object sent, {} for an empty body, or None when it is not JSON."""
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def bad(errors) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


# The trainer page's "fail the next N calls with" choices: (mode, its option).
FAILURES = {
    "500": ("error", {"status": 500}),
    "503": ("error", {"status": 503}),
    "429": ("rate_limit", {"retry_after": 2}),
    "timeout": ("timeout", {}),
    "maintenance": ("maintenance", {}),
}


def switch_fault(form) -> dict:
    """A fault switch's JSON body from the trainer page's form fields."""
    mode, options = FAILURES.get(form.get("fail", ""), ("", {}))
    count = form.get("count", "1").strip()
    body = {"mode": mode, "count": int(count) if count.isdigit() else count, **options}
    if mode == "timeout":  # longer than the portal waits, so its call times out
        body["delay"] = min(600, settings.PROVIDER_TIMEOUT_SECONDS + 1)
    if form.get("path", "").strip():
        body["path"] = form["path"].strip()
    return body


def trainer_page(request) -> str:
    """Every sandbox's trainer page is its mount point (/sandbox/<name>/)."""
    return request.path.rsplit("/_sandbox/", 1)[0] + "/"


def form_refusal(request, errors: dict) -> HttpResponse:
    lines = "".join(f"<li>{escape(f)}: {escape(' '.join(m))}</li>" for f, m in errors.items())
    back = escape(trainer_page(request))
    return HttpResponse(
        f"<!doctype html><title>Not switched</title><h1>Not switched</h1><ul>{lines}</ul>"
        f'<p><a href="{back}">Back to the trainer page</a></p>',
        status=400,
    )


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

    def reset_all() -> None:
        with transaction.atomic():
            reset()
            for model in (Fault, RequestCount, Latency):
                model.objects.filter(platform=platform).delete()

    @control_access
    @require_POST
    def reset_view(request):
        reset_all()
        return JsonResponse({"reset": True})

    @control_access
    @require_POST
    def switch_view(request):
        """The trainer page's buttons (forms, sandbox_kit/_switches.html): the same
        switches as the JSON endpoints, then back to the page, which shows the result."""
        action = request.POST.get("action")
        if action == "fault":
            errors, values = faults.parse_fault(switch_fault(request.POST))
            if errors:
                return form_refusal(request, errors)
            Fault.objects.create(platform=platform, **values)
        elif action == "clear-faults":
            Fault.objects.filter(platform=platform).delete()
        elif action == "latency":
            ms = request.POST.get("ms", "").strip()
            if ms and not (ms.isdigit() and int(ms) <= 600_000):
                return form_refusal(request, {"ms": ["A whole number of ms up to 600000."]})
            faults.set_latency_ms(platform, int(ms) if ms else None)
        elif action == "expire-tokens":
            expire_tokens()
        elif action == "reset":
            reset_all()
        else:
            return form_refusal(request, {"action": ["Unknown switch."]})
        return redirect(trainer_page(request))

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
        path("_sandbox/switch", switch_view, name="switch"),
        path("_sandbox/state", state_view, name="state"),
    ]
