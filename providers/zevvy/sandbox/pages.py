"""The sandbox's pages for people: the verification page where the user code is approved
or denied (Keycloak's `{realm}/device`), and the trainer page.

In the real world the person logs in at zevvy to approve; here a trainer stands in for
them, so both pages need a staff login or the sandbox control token. A browser with a
staff session must send Django's CSRF token with its forms; a request carrying the
control token header cannot come from another site's form, so it needs none.
"""

import functools

from django.conf import settings
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from providers.sandbox_kit import faults
from providers.sandbox_kit.control import TOKEN_HEADER, control_access, request_counts

from . import authserver
from .models import Device, DeviceCode, Grant, Measurement
from .views import PLATFORM

REALM = "/auth/realms/zevvy"


def _csrf_unless_control_token(view):
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.headers.get(TOKEN_HEADER):
            return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    return wrapper


@control_access
@_csrf_unless_control_token
@require_http_methods(["GET", "POST"])
def device(request):
    """Enter (or confirm) a user code, then approve or deny the portal's access."""
    if request.method == "GET":
        user_code = authserver.normalize_user_code(request.GET.get("user_code", ""))
        code = DeviceCode.objects.filter(user_code=user_code).first() if user_code else None
        return render(
            request,
            "zevvy_sandbox/device.html",
            {"user_code": user_code, "code": code, "client_id": settings.SANDBOX_CLIENT_ID},
        )
    user_code = request.POST.get("user_code", "")
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "deny"):
        return _answer(request, user_code, "Choose Approve or Deny.", status=400)
    try:
        code = authserver.decide(user_code, approve=decision == "approve")
    except LookupError as problem:
        return _answer(request, user_code, str(problem), status=400)
    if request.POST.get("next") == "index":
        return redirect("zevvy_sandbox:index")
    message = (
        "Access granted. You can close this page: the portal finishes connecting by itself."
        if code.status == DeviceCode.APPROVED
        else "Access denied. The portal will be told."
    )
    return _answer(request, code.user_code, message, done=True)


def _answer(request, user_code: str, message: str, *, status: int = 200, done: bool = False):
    return render(
        request,
        "zevvy_sandbox/device.html",
        {
            "user_code": authserver.normalize_user_code(user_code),
            "message": message,
            "done": done,
            "error": status >= 400,
            "client_id": settings.SANDBOX_CLIENT_ID,
        },
        status=status,
    )


@control_access
@_csrf_unless_control_token
@require_POST
def revoke_grant(request, grant_id: int):
    authserver.revoke_grants(grant_id)
    return redirect("zevvy_sandbox:index")


@control_access
@_csrf_unless_control_token
@require_http_methods(["GET"])
def index(request):
    root = request.build_absolute_uri(reverse("zevvy_sandbox:index")).rstrip("/")
    now = timezone.now()
    return render(
        request,
        "zevvy_sandbox/index.html",
        {
            "api_url": root + "/api",
            "device_authorization_url": root + REALM + "/protocol/openid-connect/auth/device",
            "token_url": root + REALM + "/protocol/openid-connect/token",
            "control_url": root + "/_sandbox",
            "client_id": settings.SANDBOX_CLIENT_ID,
            "flow": authserver.flow_settings(),
            "pending": DeviceCode.objects.filter(status=DeviceCode.PENDING, expires_at__gt=now),
            "recent_codes": DeviceCode.objects.order_by("-pk")[:10],
            "grants": Grant.objects.order_by("-pk")[:20],
            "devices": Device.objects.annotate(
                register_count=Count("registers", distinct=True),
                measurement_count=Count("registers__measurements"),
            ),
            "measurements": Measurement.objects.count(),
            "faults": faults.pending(PLATFORM),
            "requests": request_counts(PLATFORM),
            "latency_ms": faults.current_latency_ms(PLATFORM),
        },
    )
