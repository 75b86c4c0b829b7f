"""The sandbox's control side (`/_sandbox/...`) and the trainer page.

The fault switches, latency, token expiry, reset and state come from the shared sandbox
kit (staff login or the control token); this module adds what only Zählerfreunde has:
its state, the invite e-mails it "sent", 2xx glitches, accepting an invite as a tenant
would, and the trainer page.
"""

from django.conf import settings
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.sandbox_kit import tokens
from providers.sandbox_kit.control import (
    bad,
    control_access,
    control_urls,
    json_body,
)
from providers.sandbox_kit.panel import control_panel

from . import auth, glitches, invites, options, roles, validation
from .api import PLATFORM
from .models import (
    AccessRole,
    AccessToken,
    Device,
    Glitch,
    Invite,
    Options,
    Reading,
    SentEmail,
    Space,
    SpaceDevice,
    SpaceUser,
    User,
)
from .representations import (
    device_state_json,
    email_json,
    invite_json,
    role_json,
    space_state_json,
    user_json,
)


def _state(request) -> dict:
    spaces = list(Space.objects.select_related("parent").prefetch_related("memberships__user"))
    devices = list(Device.objects.prefetch_related("links__space"))
    all_invites = list(Invite.objects.select_related("space", "access_role", "accepted_by"))
    emails = list(SentEmail.objects.select_related("invite"))
    users = list(User.objects.all())
    members = list(SpaceUser.objects.select_related("space", "user", "access_role"))
    return {
        "counts": {
            "spaces": len(spaces),
            "devices": len(devices),
            "invites": len(all_invites),
            "emails": len(emails),
            "readings": Reading.objects.count(),
            "users": len(users),
            "space_users": len(members),
            "tokens_valid": tokens.valid_count(AccessToken),
        },
        "spaces": [space_state_json(s) for s in spaces],
        "devices": [device_state_json(d) for d in devices],
        "invites": [invite_json(i) for i in all_invites],
        "emails": [email_json(e) for e in emails],
        "users": [user_json(u) for u in users],
        "space_users": [
            {
                "spaceId": str(m.space.uuid),
                "userId": m.user.user_id,
                "accessRoleId": str(m.access_role.uuid),
            }
            for m in members
        ],
        "access_roles": [role_json(r) for r in AccessRole.objects.all()],
        "glitches": glitches.pending(),
        "options": options.describe(options.current()),
        "readings_count": Reading.objects.count(),
    }


def _reset() -> None:
    # Children before parents. Units PROTECT their building: cut the tree first.
    for model in (
        SentEmail,
        Reading,
        SpaceUser,
        Invite,
        SpaceDevice,
        Device,
        User,
        Glitch,
        Options,
    ):
        model.objects.all().delete()
    Space.objects.update(parent=None)
    for model in (Space, AccessRole, AccessToken):
        model.objects.all().delete()
    # Roles come back seeded on first use (roles.ensure_seeded).


@control_access
@require_GET
def emails(request):
    return JsonResponse(
        {"emails": [email_json(e) for e in SentEmail.objects.select_related("invite")]}
    )


@control_access
@require_http_methods(["GET", "POST", "DELETE"])
def glitches_view(request):
    if request.method == "GET":
        return JsonResponse({"glitches": glitches.pending()})
    if request.method == "DELETE":
        deleted, _ = Glitch.objects.all().delete()
        return JsonResponse({"deleted": deleted})
    data = json_body(request)
    errors, values = glitches.parse(data if data is not None else [])
    if errors:
        return bad(errors)
    return JsonResponse(glitches.describe(Glitch.objects.create(**values)), status=201)


@control_access
@require_http_methods(["GET", "POST"])
def options_view(request):
    """How the sandbox reads what its sources leave open (options.py)."""
    if request.method == "GET":
        return JsonResponse(options.describe(options.current()))
    data = json_body(request)
    errors, current = options.update(data if data is not None else [])
    if errors:
        return bad(errors)
    return JsonResponse(options.describe(current))


@control_access
@require_POST
def accept_invite(request, token):
    """Accept an invite as a tenant would on the invite page: body {"name", "email"},
    both optional (the invited e-mail by default). For tests and trainers."""
    invite = Invite.objects.select_related("space").filter(token=token).first()
    if invite is None:
        return JsonResponse({"error": "No such invite (or its space was deleted)."}, status=404)
    data = json_body(request)
    errors, who = validation.check_acceptance(data if data is not None else [], invite.user_email)
    if errors:
        return bad(errors)
    try:
        user = invites.accept(invite, name=who["name"], email=who["email"])
    except invites.AlreadyAccepted:
        return JsonResponse({"error": "This invite has already been accepted."}, status=409)
    return JsonResponse({"userId": user.user_id, "spaceId": str(invite.space.uuid), **who})


urls = [
    *control_urls(PLATFORM, state=_state, reset=_reset, expire_tokens=auth.expire_all),
    path("_sandbox/emails", emails, name="emails"),
    path("_sandbox/glitches", glitches_view, name="glitches"),
    path("_sandbox/options", options_view, name="options"),
    path("_sandbox/invites/<str:token>/accept", accept_invite, name="accept-invite"),
]


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
    spaces = list(
        Space.objects.prefetch_related(
            Prefetch("device_links", SpaceDevice.objects.select_related("device")),
            Prefetch("invites", Invite.objects.select_related("accepted_by")),
            Prefetch("memberships", SpaceUser.objects.select_related("user", "access_role")),
        )
    )
    root = request.build_absolute_uri(reverse("zaehlerfreunde_sandbox:index"))
    rows = [{"space": space, "depth": depth, "indent": depth * 2} for space, depth in _tree(spaces)]
    return render(
        request,
        "zaehlerfreunde_sandbox/index.html",
        {
            "rows": rows,
            "unlinked_devices": Device.objects.filter(links__isnull=True),
            "emails": SentEmail.objects.select_related("invite").order_by("-pk"),
            "panel": control_panel(
                PLATFORM,
                base_url=root + "partner",
                control_url=root + "_sandbox",
                extra_controls="glitches, options, emails, invites/<token>/accept",
                spared="/auth/token",
            ),
            "glitches": glitches.pending(),
            "options": options.describe(options.current()),
            "access_roles": roles.ensure_seeded(),
            "client_id": settings.SANDBOX_CLIENT_ID,
            "readings_count": Reading.objects.count(),
        },
    )
