"""The sandbox's control side (`/_sandbox/...`) and the trainer page.

The fault switches, latency, token expiry, reset and state come from the shared sandbox
kit (staff login or the control token); this module adds what only Zählerfreunde has:
its state, the invite e-mails it "sent", and the trainer page.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from providers.sandbox_kit import faults
from providers.sandbox_kit.control import control_access, control_urls, request_counts

from . import auth
from .models import AccessToken, Device, Invite, Reading, SentEmail, Space
from .views import PLATFORM, device_json, space_json


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


def _state(request) -> dict:
    spaces = list(Space.objects.select_related("parent"))
    devices = list(Device.objects.select_related("space"))
    invites = list(Invite.objects.select_related("space"))
    emails = list(SentEmail.objects.select_related("invite"))
    return {
        "counts": {
            "spaces": len(spaces),
            "devices": len(devices),
            "invites": len(invites),
            "emails": len(emails),
            "readings": Reading.objects.count(),
            "tokens_valid": AccessToken.objects.filter(expires_at__gt=timezone.now()).count(),
        },
        "spaces": [space_json(s) for s in spaces],
        "devices": [device_json(d) for d in devices],
        "invites": [invite_json(i) for i in invites],
        "emails": [email_json(e) for e in emails],
        "readings_count": Reading.objects.count(),
    }


def _reset() -> None:
    # Children before parents, spaces last (their tree cascades by itself).
    for model in (SentEmail, Reading, Invite, Device, Space, AccessToken):
        model.objects.all().delete()


urls = control_urls(PLATFORM, state=_state, reset=_reset, expire_tokens=auth.expire_all)


@control_access
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


@control_access
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
            "faults": faults.pending(PLATFORM),
            "requests": request_counts(PLATFORM),
            "latency_ms": faults.current_latency_ms(PLATFORM),
            "base_url": root + "partner",
            "control_url": root + "_sandbox",
            "client_id": settings.SANDBOX_CLIENT_ID,
            "readings_count": Reading.objects.count(),
        },
    )
