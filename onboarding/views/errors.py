"""The 403 page: in place for a fragment, a whole page otherwise."""

from django.utils.translation import gettext as _

from .rendering import page_or_fragment


def forbidden(request, exception=None):
    reason = str(exception) if exception and str(exception) else ""
    context = {"reason": _(reason) if reason else _("You may not do this.")}
    return page_or_fragment(
        request, "onboarding/forbidden.html", "onboarding/_forbidden.html", context, status=403
    )
