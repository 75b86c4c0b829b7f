"""ASP.NET Core's problem details (RFC 9457), for the sandboxes of platforms that run it.

ASP.NET Core answers errors as `application/problem+json` with `type`, `title`, `status`,
optionally `detail` and, for validation, `errors` mapping a field to its messages. The
platforms' guides show none of this, so their sandboxes copy the framework; what differs
between them (the `type` links, a `traceId`, a 415's detail) is a parameter here.
"""

import json
from collections.abc import Callable

from django.http import HttpResponse, JsonResponse

from .endpoint import Answer

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_TITLE = "One or more validation errors occurred."

# The framework's default titles by status.
TITLES = {
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


def problem_details(
    status: int,
    *,
    type: str,  # noqa: A002 - the field's name in RFC 9457
    title: str | None = None,
    detail: str | None = None,
    errors=None,
    trace_id: str | None = None,
) -> JsonResponse:
    """The problem body, its keys in the order ASP.NET Core writes them."""
    body = {"type": type, "title": title or TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if trace_id:
        body["traceId"] = trace_id
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def parse_json(
    request,
    *,
    problem: Callable[..., HttpResponse],
    unsupported_detail: str | None = None,
    required: bool = True,
    refusal: type[Answer] = Answer,
):
    """The request's JSON body, or raise `refusal` with the 400/415 ASP.NET would give.

    `problem(status, detail=..., title=..., errors=...)` renders the platform's problem.
    `unsupported_detail` is the 415's detail, formatted with `content_type`.
    """
    content_type = request.content_type or ""
    # ASP.NET's [ApiController] only accepts JSON bodies; anything else is a 415. A
    # missing content type is let through, as curl users forget it and it harms nobody.
    if content_type and not (content_type == "application/json" or content_type.endswith("+json")):
        detail = (
            unsupported_detail.format(content_type=content_type) if unsupported_detail else None
        )
        raise refusal(problem(415, detail=detail))
    if not request.body:
        if not required:
            return {}
        raise refusal(_validation(problem, {"": ["A non-empty request body is required."]}))
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refusal(
            _validation(problem, {"$": [f"The JSON value could not be parsed: {exc}"]})
        ) from exc


def _validation(problem, errors) -> HttpResponse:
    return problem(400, title=VALIDATION_TITLE, errors=errors)
