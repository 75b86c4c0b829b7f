"""The API's rate limit: a fixed window of requests shared by all server processes,
refused with 429 and `Retry-After` in seconds (NOTES.md: "A 429 carries Retry-After in
seconds"). The guide names no figure; the default is generous (DEFAULT_REQUESTS per
DEFAULT_SECONDS) and `_sandbox/rate_limit` sets another, so tests can meet the limit.
A refused request does not use up the window. The token endpoints are limited too.
"""

import functools
import math
import time

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt

from .models import RateLimit

DEFAULT_REQUESTS, DEFAULT_SECONDS = 600, 60.0


def _row() -> RateLimit:
    RateLimit.objects.get_or_create(
        pk=1, defaults={"requests": DEFAULT_REQUESTS, "per_seconds": DEFAULT_SECONDS}
    )
    return RateLimit.objects.select_for_update().get(pk=1)


def admit(now: float) -> float | None:
    """None when admitted, else the seconds until the window opens again."""
    with transaction.atomic():
        limit = _row()
        if not limit.requests:
            return None
        if limit.window_start is None or now - limit.window_start >= limit.per_seconds:
            limit.window_start, limit.used = now, 0
        if limit.used < limit.requests:
            limit.used += 1
            limit.save(update_fields=["window_start", "used"])
            return None
        limit.refused += 1
        limit.save(update_fields=["window_start", "used", "refused"])
        return limit.window_start + limit.per_seconds - now


def rate_limited(error):
    """Wrap a view (outside the sandbox kit's wrapper: the gateway limits first)."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            wait = admit(time.time())
            if wait is None:
                return view(request, *args, **kwargs)
            response = error(429, "API calls quota exceeded.")
            # Whole seconds, rounded up so that honouring it always suffices.
            response["Retry-After"] = str(max(1, math.ceil(wait)))
            return response

        return wrapper

    return decorate


def settings_json() -> dict:
    limit = RateLimit.objects.filter(pk=1).first()
    if limit is None:
        return {"requests": DEFAULT_REQUESTS, "per_seconds": DEFAULT_SECONDS, "refused": 0}
    return {"requests": limit.requests, "per_seconds": limit.per_seconds,
            "refused": limit.refused}  # fmt: skip


def configure(requests: int, per_seconds: float) -> None:
    RateLimit.objects.update_or_create(
        pk=1,
        defaults={"requests": requests, "per_seconds": per_seconds, "window_start": None,
                  "used": 0, "refused": 0},
    )  # fmt: skip
