"""The wrapper every partner-API view runs in: count, faults, auth, latency.

Order matters and mirrors a real deployment: an overloaded gateway answers 500/429
before it looks at the token, so injected `error`/`rate_limit` faults come before the
auth check and leave the request unprocessed; a `timeout` fault lets the request be
processed and committed and only then stalls the answer, the way a platform that is
slow to respond still creates the object.
"""

import functools
import logging
import time

from django.views.decorators.csrf import csrf_exempt

from .auth import token_problem
from .faults import current_latency_ms, refusal, sleep_ms, take_fault
from .models import Fault, RequestCount
from .problems import BadBody, problem

log = logging.getLogger(__name__)


def api_endpoint(template: str, *, methods: tuple[str, ...], authenticated: bool = True):
    """Wrap a view serving `template` (e.g. "/spaces/{spaceId}") for `methods`."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            # Every call counts, also the ones a fault or a bad token turns away: tests
            # assert how often the portal really called the platform.
            RequestCount.hit(f"{request.method} {template}")
            latency = current_latency_ms()
            if request.method not in methods:
                response = problem(405)
                response["Allow"] = ", ".join(methods)
                sleep_ms(latency)
                return response

            fault = take_fault(request.path, is_token_endpoint=not authenticated)
            if fault is not None and fault.mode != Fault.TIMEOUT:
                sleep_ms(latency)
                return refusal(fault)

            why = token_problem(request) if authenticated else None
            if why:
                response = problem(401, detail=why)
                response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            else:
                try:
                    response = view(request, *args, **kwargs)
                except BadBody as exc:
                    response = exc.response
                except Exception:
                    # The platform answers an unexpected failure with a problem body,
                    # not Django's HTML debug page, so clients see the same shape.
                    log.exception("sandbox view %s failed", template)
                    response = problem(500)

            if fault is not None:  # timeout: the work is committed, the answer is late
                time.sleep(fault.delay)
            sleep_ms(latency)
            return response

        return wrapper

    return decorate
