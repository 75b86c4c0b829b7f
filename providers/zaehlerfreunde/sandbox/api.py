"""What every partner-API view shares: the endpoint wrapper, paging, route ids, lookups.

Where the guide and spec are silent the sandbox does what an ASP.NET Core service does
by default (a guess: no source names the platform's stack; problems.py), and says so
next to the code:
- a successful create answers 200 with the new id (`return Ok(new { spaceId })`), not
  201: the spec declares 200 for every operation;
- operations the spec gives no response body answer 200 with an empty body (`Ok()`);
- a route id that is not a GUID is a 400 (model binding fails), an unknown one a 404;
- an unknown JSON property is ignored (System.Text.Json skips unmapped members).
"""

import math

from providers.sandbox_kit.endpoint import api_endpoint as kit_endpoint

from . import glitches, validation
from .auth import token_problem
from .models import Device, Space
from .problems import json_ok, not_found, problem, validation_problem

PLATFORM = "zaehlerfreunde"


def _error(status: int, detail: str):
    return problem(status, detail=detail)


def api_endpoint(template: str, *, methods: tuple[str, ...], authenticated: bool = True):
    """The shared sandbox wrapper (faults, latency, counts) with this platform's auth,
    its problem-details error shape and its 2xx glitches."""
    kit = kit_endpoint(
        PLATFORM,
        template,
        methods=methods,
        error=_error,
        authenticate=token_problem if authenticated else None,
        is_token_endpoint=not authenticated,
    )
    return lambda view: kit(glitches.glitched(view, is_token_endpoint=not authenticated))


def page(queryset, query, key: str, to_json):
    """One page of `queryset` as {key: [...], "totalNumPages": n}, or the 400."""
    errors, number, size = validation.check_paging(query)
    if errors:
        return validation_problem(errors)
    total = queryset.count()
    items = queryset[number * size : (number + 1) * size]
    return json_ok({key: [to_json(i) for i in items], "totalNumPages": math.ceil(total / size)})


def route_uuid(value: str, name: str):
    """(the GUID in the route, None) or (None, the 400 ASP.NET's model binding gives)."""
    parsed = validation.parse_uuid(value)
    if parsed is None:
        return None, validation_problem({name: [f"The value '{value}' is not valid."]})
    return parsed, None


def find_space(space_id: str, queryset=None):
    """(space, None) or (None, error response)."""
    parsed, error = route_uuid(space_id, "spaceId")
    if error:
        return None, error
    if queryset is None:
        queryset = Space.objects.select_related("parent")
    space = queryset.filter(uuid=parsed).first()
    if space is None:
        return None, not_found("Space", space_id)
    return space, None


def find_device(device_id: str):
    """(device, None) or (None, error response)."""
    parsed, error = route_uuid(device_id, "deviceId")
    if error:
        return None, error
    device = Device.objects.filter(uuid=parsed).first()
    if device is None:
        return None, not_found("Device", device_id)
    return device, None
