"""The wrapper every sandbox's partner-API view runs in: count, faults, auth, latency.

Order matters and mirrors a real deployment: an overloaded gateway answers 500/429
before it looks at the token, so injected `error`/`rate_limit` faults come before the
auth check and leave the request unprocessed; a `timeout` fault lets the request be
processed and committed and only then stalls the answer, the way a platform that is
slow to respond still creates the object.
"""

import functools
import logging
import time
from collections.abc import Callable

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .faults import current_latency_ms, sleep_ms, take_fault
from .models import Fault, RequestCount

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[int, str], HttpResponse]
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    "<body><h1>We'll be back soon</h1><p>Scheduled maintenance (sandbox fault switch).</p>"
    "</body></html>"
)


class Answer(Exception):  # noqa: N818 - it is an answer, not an error
    """Raised by a view to answer at once (e.g. a body that does not parse)."""

    def __init__(self, response: HttpResponse):
        super().__init__(response.status_code)
        self.response = response


def api_endpoint(
    platform: str,
    template: str,
    *,
    methods: tuple[str, ...],
    error: ErrorRenderer,
    authenticate: Callable | None = None,
    is_token_endpoint: bool = False,
):
    """Wrap a view serving `template` (e.g. "/spaces/{spaceId}") for `methods`.

    `authenticate(request)` returns None when the request may proceed, else the reason
    for a 401; `error(status, detail)` renders an error in the platform's own shape.
    """

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            # Every call counts, also the ones a fault or a bad token turns away: tests
            # assert how often the portal really called the platform.
            RequestCount.hit(platform, f"{request.method} {template}")
            latency = current_latency_ms(platform)
            if request.method not in methods:
                response = error(405, f"{request.method} is not allowed here.")
                response["Allow"] = ", ".join(methods)
                sleep_ms(latency)
                return response

            fault = take_fault(platform, request.path, is_token_endpoint=is_token_endpoint)
            if fault is not None and fault.mode != Fault.TIMEOUT:
                sleep_ms(latency)
                return _refusal(fault, error)

            why = authenticate(request) if authenticate else None
            if why:
                response = error(401, why)
                response.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
            else:
                try:
                    response = view(request, *args, **kwargs)
                except Answer as answer:
                    response = answer.response
                except Exception:
                    # The platform answers an unexpected failure in its own error shape,
                    # not with Django's HTML debug page, so clients see the same shape.
                    log.exception("%s sandbox view %s failed", platform, template)
                    response = error(500, "Internal error.")

            if fault is not None:  # timeout: the work is committed, the answer is late
                time.sleep(fault.delay)
            sleep_ms(latency)
            return response

        return wrapper

    return decorate


def _refusal(fault: Fault, error: ErrorRenderer) -> HttpResponse:
    """The answer of an `error` or `rate_limit` fault; the request is not processed."""
    if fault.mode == Fault.MAINTENANCE:
        return HttpResponse(MAINTENANCE_PAGE, content_type="text/html; charset=utf-8")
    if fault.mode == Fault.RATE_LIMIT:
        response = error(429, "Rate limit exceeded (sandbox fault switch).")
        response["Retry-After"] = str(fault.retry_after)
        return response
    return error(fault.status, "Injected failure (sandbox fault switch).")
