"""Error answers in the shape the real platform most plausibly gives.

Zählerfreunde's partner API is an ASP.NET Core service (it serves Swagger at
/partner/swagger). ASP.NET Core answers errors with RFC 9457 problem details
(`application/problem+json`): `type`, `title`, `status`, `traceId` and, for validation
errors, `errors` mapping a field to its messages. The guide shows none of this, so the
sandbox copies the framework's defaults, including its `type` links and titles.
"""

import json
import uuid

from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit.endpoint import Answer

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "An error occurred while processing your request.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def problem(status: int, title: str | None = None, *, detail: str | None = None, errors=None):
    body = {
        "type": _TYPES.get(status, "about:blank"),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["traceId"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def validation_problem(errors: dict[str, list[str]]):
    return problem(400, "One or more validation errors occurred.", errors=errors)


def not_found(what: str, ident) -> JsonResponse:
    return problem(404, detail=f"{what} '{ident}' was not found.")


def json_ok(data, status: int = 200) -> JsonResponse:
    # `safe=False`: the readings endpoint and lists may answer with a JSON array.
    return JsonResponse(data, status=status, safe=False)


def empty_ok() -> HttpResponse:
    # ASP.NET Core's `Ok()`: 200 with an empty body and no content type.
    response = HttpResponse(status=200)
    del response["Content-Type"]
    return response


class BadBody(Answer):
    """A body ASP.NET's model binding would refuse, answered at once."""


def parse_json(request):
    """The request's JSON body, or raise BadBody with the 400/415 ASP.NET would give."""
    content_type = request.content_type or ""
    # ASP.NET's [ApiController] only accepts JSON bodies; anything else is a 415. A
    # missing content type is let through, as curl users forget it and it harms nobody.
    if content_type and not (content_type == "application/json" or content_type.endswith("+json")):
        raise BadBody(problem(415))
    if not request.body:
        raise BadBody(validation_problem({"": ["A non-empty request body is required."]}))
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(
            validation_problem({"$": [f"The JSON value could not be parsed: {exc}"]})
        ) from exc
