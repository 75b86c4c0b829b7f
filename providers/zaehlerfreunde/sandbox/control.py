"""The sandbox's control side (`/_sandbox/...`) and the trainer page.

No auth: this is a loopback training and test tool, served next to the partner API the
way `make run` serves it. Nothing here is counted, delayed or subject to faults, so tests
and trainers can always look at and repair the sandbox while it misbehaves.
"""

import json

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import auth, faults
from .models import (
    AccessToken,
    Device,
    Fault,
    Invite,
    Reading,
    RequestCount,
    SandboxConfig,
    SentEmail,
    Space,
)
from .views import device_json, space_json


def _body(request):
    """The JSON object sent, {} for an empty body, or None when it is not JSON."""
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _bad(errors) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


def invite_json(invite: Invite) -> dict:
    return {
        "id": str(invite.uuid),
        "spaceId": str(invite.space.uuid),
        "userEmail": invite.user_email,
        "accessRoleId": invite.access_role_id,
        "sendInviteEmail": invite.send_invite_email,
        "inviteLink": invite.link,
        "createdAt": invite.created_at.isoformat(),
    }


def email_json(email: SentEmail) -> dict:
    return {
        "id": email.pk,
        "to": email.to,
        "subject": email.subject,
        "body": email.body,
        "inviteLink": email.invite.link if email.invite_id else None,
        "sent_at": email.sent_at.isoformat(),
    }


# --- control endpoints ----------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults_view(request):
    if request.method == "GET":
        return JsonResponse({"faults": [faults.describe(f) for f in Fault.objects.all()]})
    if request.method == "DELETE":
        deleted, _ = Fault.objects.all().delete()
        return JsonResponse({"deleted": deleted})
    data = _body(request)
    errors, values = faults.parse_fault(data if data is not None else [])
    if errors:
        return _bad(errors)
    fault = Fault.objects.create(**values)
    return JsonResponse(faults.describe(fault), status=201)


@csrf_exempt
@require_POST
def expire_tokens(request):
    return JsonResponse({"expired": auth.expire_all()})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def latency(request):
    if request.method == "POST":
        data = _body(request)
        ms = data.get("ms") if isinstance(data, dict) else "invalid"
        # null sets it back to the settings default (SANDBOX_LATENCY_MS).
        if ms is not None and (
            not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 600_000
        ):
            return _bad({"ms": ["ms must be an integer between 0 and 600000, or null."]})
        faults.set_latency_ms(ms)
    return JsonResponse({"ms": faults.current_latency_ms()})


@csrf_exempt
@require_POST
def reset(request):
    with transaction.atomic():
        # Children before parents, spaces last (their tree cascades by itself).
        for model in (
            SentEmail,
            Reading,
            Invite,
            Device,
            Space,
            AccessToken,
            Fault,
            RequestCount,
            SandboxConfig,
        ):
            model.objects.all().delete()
    return JsonResponse({"reset": True})


@require_GET
def state(request):
    spaces = list(Space.objects.select_related("parent"))
    devices = list(Device.objects.select_related("space"))
    invites = list(Invite.objects.select_related("space"))
    emails = list(SentEmail.objects.select_related("invite"))
    now = timezone.now()
    return JsonResponse(
        {
            "counts": {
                "spaces": len(spaces),
                "devices": len(devices),
                "invites": len(invites),
                "emails": len(emails),
                "readings": Reading.objects.count(),
                "tokens_valid": AccessToken.objects.filter(expires_at__gt=now).count(),
            },
            "spaces": [space_json(s) for s in spaces],
            "devices": [device_json(d) for d in devices],
            "invites": [invite_json(i) for i in invites],
            "emails": [email_json(e) for e in emails],
            "readings_count": Reading.objects.count(),
            "requests": {r.endpoint: r.count for r in RequestCount.objects.all()},
            "faults": [faults.describe(f) for f in Fault.objects.filter(remaining__gt=0)],
            "latency_ms": faults.current_latency_ms(),
        }
    )


@require_GET
def emails(request):
    return JsonResponse(
        {"emails": [email_json(e) for e in SentEmail.objects.select_related("invite")]}
    )


# --- trainer page ---------------------------------------------------------------------


def _tree(spaces: list[Space]) -> list[tuple[Space, int]]:
    """Spaces in tree order with their depth (buildings, then their units, indented)."""
    children: dict[int | None, list[Space]] = {}
    for space in spaces:
        children.setdefault(space.parent_id, []).append(space)
    ordered: list[tuple[Space, int]] = []

    def walk(parent_id, depth):
        for space in children.get(parent_id, []):
            ordered.append((space, depth))
            walk(space.pk, depth + 1)

    walk(None, 0)
    return ordered


@require_GET
def index(request):
    spaces = list(Space.objects.prefetch_related("devices", "invites"))
    root = request.build_absolute_uri(reverse("zaehlerfreunde_sandbox:index"))
    rows = [{"space": space, "depth": depth, "indent": depth * 2} for space, depth in _tree(spaces)]
    return render(
        request,
        "zaehlerfreunde_sandbox/index.html",
        {
            "rows": rows,
            "emails": SentEmail.objects.select_related("invite").order_by("-pk"),
            "faults": [faults.describe(f) for f in Fault.objects.filter(remaining__gt=0)],
            "requests": RequestCount.objects.all(),
            "latency_ms": faults.current_latency_ms(),
            "base_url": root + "partner",
            "control_url": root + "_sandbox",
            "client_id": settings.SANDBOX_CLIENT_ID,
            "readings_count": Reading.objects.count(),
        },
    )
