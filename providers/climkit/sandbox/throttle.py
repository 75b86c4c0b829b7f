"""The platform's limit: 1 request per second (the guide, "Anfragelimite: 1/Sekunde").

The guide names the limit on every data endpoint; INDEX.md says "every endpoint". The
sandbox applies it to every API request, `/auth` included, as one budget for its one API
user: two requests less than the interval apart → 429 with `Retry-After`. A refused
request does not use up the budget (as flask-limiter counts only admitted hits).

A request's time is taken the moment it reaches the view, before it waits for anything
of ours: the spacing judged is the spacing of arrivals, not of our database's locks
(a real gateway's limiter is in memory and does not add such waits). The decision is
made inside a transaction that holds the single RateLimit row (BEGIN IMMEDIATE on
SQLite, SELECT … FOR UPDATE elsewhere), so concurrent requests in several server
processes are judged one at a time. Should two be judged out of order, the later-judged
one compares an earlier arrival with a later admission and is refused: never two
admitted less than the interval apart. Each request's time and outcome is kept
(Arrival) so a test can assert the spacing the platform saw.
"""

import functools
import math
import time

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt

from .models import Arrival, RateLimit

KEEP_ARRIVALS = 2000


def admit(endpoint: str, now: float) -> float | None:
    """Judge a request that arrived at `now`; None when admitted, else seconds to wait."""
    # Created outside the transaction: get_or_create survives two first requests at once.
    RateLimit.objects.get_or_create(pk=1)
    with transaction.atomic():
        limit = RateLimit.objects.select_for_update().get(pk=1)
        wait = 0.0
        if limit.interval > 0 and limit.last_admitted is not None:
            wait = limit.last_admitted + limit.interval - now
        admitted = wait <= 0
        if admitted:
            RateLimit.objects.filter(pk=1).update(last_admitted=now)
        arrival = Arrival.objects.create(at=now, endpoint=endpoint, admitted=admitted)
        if arrival.pk % 200 == 0:
            Arrival.objects.filter(pk__lte=arrival.pk - KEEP_ARRIVALS).delete()
    return None if admitted else wait


def rate_limited(endpoint: str, error):
    """Wrap a view (outside the sandbox kit's wrapper: the gateway limits first)."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            arrived = time.time()
            wait = admit(f"{request.method} {endpoint}", arrived)
            if wait is None:
                return view(request, *args, **kwargs)
            response = error(429, "Rate limit exceeded: 1 per 1 second")
            # Whole seconds (RFC 9110), rounded up so that honouring it always suffices.
            response["Retry-After"] = str(max(1, math.ceil(wait)))
            return response

        return wrapper

    return decorate


def interval() -> float:
    value = RateLimit.objects.filter(pk=1).values_list("interval", flat=True).first()
    return 1.0 if value is None else value


def set_interval(seconds: float) -> None:
    RateLimit.objects.update_or_create(pk=1, defaults={"interval": seconds})


def arrivals(limit: int = 500) -> list[dict]:
    rows = list(Arrival.objects.order_by("-pk")[:limit])
    rows.reverse()
    return [{"at": a.at, "endpoint": a.endpoint, "admitted": a.admitted} for a in rows]
