"""The invite e-mail the portal sends itself, in German or English, from templates."""

from django.template.loader import render_to_string
from django.utils import translation

LANGUAGES = ("de", "en")


def render_invite_email(invite, language: str) -> tuple[str, str]:
    """(subject, body) in `language`, with the link Zählerfreunde returned."""
    if language not in LANGUAGES:
        language = "de"
    context = {
        "name": invite.tenant.name if invite.tenant_id else "",
        "unit": invite.space.name,
        "building": invite.space.parent.name if invite.space.parent_id else "",
        "link": invite.invite_link,
    }
    with translation.override(language):
        subject = render_to_string("onboarding/email/invite_subject.txt", context)
        body = render_to_string("onboarding/email/invite_body.txt", context)
    return " ".join(subject.split()), body.strip() + "\n"
