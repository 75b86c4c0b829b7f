"""Answers that are 2xx but not what the spec promises, for tests and trainers.

`POST _sandbox/glitches {"mode": "empty_object" | "list_body", "count": 1, "path":
"/spaces"}` makes the next `count` partner-API calls (whose path contains `path`;
without one, every call except `/auth/token`) be processed (a create creates) and then
answered 200 `{}` / `[]`, as a platform whose contract changed would answer.
A glitch applies after the kit's faults and the token check, and only to calls the API
would have answered with a 2xx (a refused call keeps its refusal). A 200 maintenance
page, where nothing is processed, is the shared kit's `maintenance` fault.
"""

import functools

from django.db.models import F
from django.http import JsonResponse

from .models import Glitch


def take(path: str, *, is_token_endpoint: bool) -> Glitch | None:
    """Consume one pending glitch matching this path (oldest first), if any."""
    for glitch in Glitch.objects.filter(remaining__gt=0):
        matches = glitch.path in path if glitch.path else not is_token_endpoint
        if not matches:
            continue
        if Glitch.objects.filter(pk=glitch.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        ):
            return glitch
    return None


def glitched(view, *, is_token_endpoint: bool = False):
    """Wrap an API view (inside the kit's wrapper) so a pending glitch changes its answer."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        glitch = take(request.path, is_token_endpoint=is_token_endpoint)
        if glitch is None:
            return view(request, *args, **kwargs)
        response = view(request, *args, **kwargs)
        if not 200 <= response.status_code < 300:
            return response
        body = {} if glitch.mode == Glitch.EMPTY_OBJECT else []
        return JsonResponse(body, status=200, safe=False)

    return wrapper


def describe(glitch: Glitch) -> dict:
    return {
        "id": glitch.pk,
        "mode": glitch.mode,
        "remaining": glitch.remaining,
        "path": glitch.path or None,
    }


def pending() -> list[dict]:
    return [describe(g) for g in Glitch.objects.filter(remaining__gt=0)]


def parse(data) -> tuple[dict, dict]:
    """Check a `POST _sandbox/glitches` body: (errors, Glitch field values)."""
    if not isinstance(data, dict):
        return {"$": ["Expected a JSON object."]}, {}
    errors = {}
    modes = [mode for mode, _ in Glitch.MODES]
    if data.get("mode") not in modes:
        errors["mode"] = [f"mode must be one of {', '.join(modes)}."]
    count = data.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
        errors["count"] = ["count must be an integer between 1 and 10000."]
    path = data.get("path") or ""
    if not isinstance(path, str):
        errors["path"] = ["path must be a string."]
    return errors, {"mode": data.get("mode"), "remaining": count, "path": path}
