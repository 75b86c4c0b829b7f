"""Who may see a space: invites, the users of a space, access roles; and the invite
page an invite link leads to."""

import secrets

from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import invites, roles, validation
from .api import api_endpoint, find_space, page
from .models import AccessRole, Invite, SpaceUser, User
from .problems import empty_ok, json_ok, not_found, parse_json, problem, validation_problem
from .representations import role_json, user_json


def _role(role_uuid, errors: dict) -> AccessRole | None:
    """The role named in a body, or None with the reason added to `errors`."""
    roles.ensure_seeded()
    role = AccessRole.objects.filter(uuid=role_uuid).first()
    if role is None:
        # A field of the body naming nothing: 400, like an unknown parent space.
        errors.setdefault("AccessRoleId", []).append(f"Access role '{role_uuid}' does not exist.")
    return role


# --- access roles ---------------------------------------------------------------------


@api_endpoint("/access-roles", methods=("GET",))
def access_roles(request):
    # Creating, changing and deleting roles (POST/PUT/DELETE in the spec) is not
    # offered: the portal only picks one of the platform's roles.
    return json_ok({"accessRoles": [role_json(r) for r in roles.ensure_seeded()]})


# --- users of a space -----------------------------------------------------------------


@api_endpoint("/spaces/{spaceId}/users", methods=("GET", "DELETE"))
def space_users(request, space_id):
    space, error = find_space(space_id)
    if error:
        return error
    if request.method == "DELETE":
        # "No one can view the space data anymore. The users themselves are not deleted."
        SpaceUser.objects.filter(space=space).delete()
        return json_ok({"spaceId": str(space.uuid)})
    members = User.objects.filter(memberships__space=space).order_by("memberships__pk")
    return page(members, request.GET, "users", user_json)


@api_endpoint("/spaces/{spaceId}/users/{userId}", methods=("POST", "DELETE"))
def space_user(request, space_id, user_id):
    # userId is a plain string in the spec (no uuid format): no 400 for its shape.
    space, error = find_space(space_id)
    if error:
        return error
    user = User.objects.filter(user_id=user_id).first()
    if user is None:
        return not_found("User", user_id)
    if request.method == "DELETE":
        removed, _ = SpaceUser.objects.filter(space=space, user=user).delete()
        if not removed:  # a client removing access may take this 404 as "already done"
            return problem(404, detail=f"User '{user_id}' is not a user of space '{space_id}'.")
        return empty_ok()
    errors, role_uuid = validation.check_add_user(parse_json(request))
    role = _role(role_uuid, errors) if role_uuid else None
    if errors:
        return validation_problem(errors)
    try:
        with transaction.atomic():
            SpaceUser.objects.update_or_create(
                space=space, user=user, defaults={"access_role": role}
            )
    except IntegrityError:  # added concurrently: set the role on that membership
        SpaceUser.objects.filter(space=space, user=user).update(access_role=role)
    return empty_ok()


# --- invites --------------------------------------------------------------------------


@api_endpoint("/spaces/{spaceId}/invites", methods=("POST",))
def space_invites(request, space_id):
    space, error = find_space(space_id)
    if error:
        return error
    errors, clean = validation.check_invite(parse_json(request))
    role_uuid = clean.pop("access_role_uuid", None)
    role = _role(role_uuid, errors) if role_uuid else roles.default_role()
    if errors:
        return validation_problem(errors)
    token = secrets.token_urlsafe(24)
    link = request.build_absolute_uri(reverse("zaehlerfreunde_sandbox:invite", args=[token]))
    invite = Invite.objects.create(space=space, token=token, link=link, access_role=role, **clean)
    if invite.send_invite_email:
        invites.send_invite_email(invite)
    return json_ok({"inviteLink": link})


@require_http_methods(["GET", "POST"])
def invite_page(request, token):
    """Where an invite link leads: the platform's "accept your invite" page, in small.

    A form (name, e-mail prefilled with the invited one) accepts the invite; see
    invites.py for what acceptance does."""
    invite = Invite.objects.select_related("space", "accepted_by").filter(token=token).first()
    if invite is None:  # never existed, or its space was deleted
        return render(request, "zaehlerfreunde_sandbox/invite_gone.html", status=404)
    context = {"invite": invite, "name": "", "email": invite.user_email, "errors": {}}
    if request.method == "POST" and invite.accepted_at is None:
        data = {"name": request.POST.get("name", ""), "email": request.POST.get("email", "")}
        errors, who = validation.check_acceptance(data, invite.user_email)
        context.update(data, errors=errors)
        if not errors:
            try:
                user = invites.accept(invite, name=who["name"], email=who["email"])
            except invites.AlreadyAccepted:
                invite.refresh_from_db()
            else:
                return render(
                    request,
                    "zaehlerfreunde_sandbox/invite_accepted.html",
                    {"invite": invite, "user": user},
                )
    if invite.accepted_at is not None:
        # Used once already: 410 Gone, and no form.
        return render(request, "zaehlerfreunde_sandbox/invite.html", context, status=410)
    status = 400 if context["errors"] else 200
    return render(request, "zaehlerfreunde_sandbox/invite.html", context, status=status)
