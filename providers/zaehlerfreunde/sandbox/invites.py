"""Invites: made by `POST /spaces/{id}/invites`, "e-mailed" (stored, never sent), and
accepted by whoever follows the link (the invite page's form, or the control side).

Accepting makes the platform account of the e-mail given (or finds it: one account
per e-mail) and adds it to the invite's space with the invite's access role, so
`GET /spaces/{id}/users` shows it from then on. The guide and spec say nothing about
acceptance; the sandbox's choices, and why:
- the link is the credential: whoever follows it may accept, with the invited e-mail
  or another (what makes invite links worth protecting);
- an invite is used once: a second acceptance is refused, so a forwarded link does
  not hand the data to a second person;
- an invite of a deleted space is gone with it and can no longer be accepted.
"""

import secrets

from django.db import transaction
from django.utils import timezone

from .models import Invite, SentEmail, SpaceUser, User


class AlreadyAccepted(Exception):  # noqa: N818 - a state, not a failure of ours
    pass


def new_user_id() -> str:
    # The User schema's fields (lastLogin, loginCount, picture) are Auth0's profile;
    # Auth0 user ids look like "auth0|<24 hex>", which also tests that a client puts
    # a non-UUID user id into a URL path safely ("|" must be percent-encoded).
    return f"auth0|{secrets.token_hex(12)}"


def send_invite_email(invite: Invite) -> None:
    space = invite.space
    subject = f"Einladung zu Zählerfreunde: {space.name}"
    body = (
        "Hallo,\n\n"
        f"Sie wurden eingeladen, auf den Space „{space.name}“ "
        f"({space.address_line_one}, {space.postcode} {space.city}) "
        "bei Zählerfreunde zuzugreifen.\n\n"
        f"Einladung annehmen: {invite.link}\n\n"
        "Ihr Zählerfreunde-Team (Sandbox)\n"
    )
    # A sandbox never sends real e-mail (it would relay anyone's wording from the
    # utility's address): the "sent" e-mail is kept for the trainer page and /emails.
    SentEmail.objects.create(invite=invite, to=invite.user_email, subject=subject, body=body)


def accept(invite: Invite, *, name: str, email: str) -> User:
    """Accept `invite` as the person `name` <`email`>; raises AlreadyAccepted."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create(user_id=new_user_id(), name=name, email=email)
        else:  # an existing account logs in and accepts
            user.login_count += 1
            user.last_login = now
            user.save(update_fields=["login_count", "last_login"])
        # A conditional update, so two people accepting at once cannot both win.
        taken = Invite.objects.filter(pk=invite.pk, accepted_at__isnull=True).update(
            accepted_at=now, accepted_by=user
        )
        if not taken:  # raising inside the atomic block rolls the new account back
            raise AlreadyAccepted(invite.token)
        SpaceUser.objects.update_or_create(
            space_id=invite.space_id, user=user, defaults={"access_role_id": invite.access_role_id}
        )
    return user
