"""The sign-in throttle (django-axes) on the portal's form (/login/) and the admin's
(/admin/login/): after AXES_FAILURE_LIMIT failures an account is locked, and so is the
address they came from, each on its own (settings.AXES_LOCKOUT_PARAMETERS), until
SIGNIN_COOLOFF_MINUTES after the last failure. The right password does not open a
locked account; the admin's "Access attempts" unlock it. What is ours here: the
client's address behind our proxies, and the page that says when to try again.
"""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the
    address the outermost of them saw (X-Forwarded-For, counted from the right: what a
    client writes on the left itself is never trusted)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def locked_out(request, original_response=None, credentials=None):
    """Axes' answer to a locked-out sign-in, on either form: when to try again."""
    minutes = settings.SIGNIN_COOLOFF_MINUTES
    retry_at = timezone.localtime() + settings.AXES_COOLOFF_TIME
    return render(
        request,
        "onboarding/auth/locked_out.html",
        {"minutes": minutes, "retry_at": retry_at, "admin": request.path.startswith("/admin/")},
        status=429,
    )
