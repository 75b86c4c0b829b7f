"""Answers in the shapes the two Spark servers give.

- The Energy Coordination API is an ASP.NET Core service: its reference spec declares
  errors as `HttpValidationProblemDetails` (`application/problem+json` with `type`,
  `title`, `status`, `detail` and, for validation, `errors` mapping a field to its
  messages). The guide shows no error body, so the sandbox copies the framework.
- The identity server (`/connect/token`, IdentityServer's path) answers errors as
  RFC 6749 §5.2 JSON: `{"error": "invalid_client", "error_description": "..."}`.
"""

import json

from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit.endpoint import Answer

PROBLEM_CONTENT_TYPE = "application/problem+json"

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


def problem(status: int, detail: str | None = None, *, title: str | None = None, errors=None):
    body = {
        "type": f"https://tools.ietf.org/html/rfc9110#section-15.{5 if status < 500 else 6}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def api_error(status: int, detail: str) -> HttpResponse:
    """The renderer the sandbox kit uses for the API's faults, 401s and 405s."""
    return problem(status, detail)


def validation_problem(errors: dict[str, list[str]]):
    return problem(400, title="One or more validation errors occurred.", errors=errors)


def not_found(what: str, ident) -> JsonResponse:
    return problem(404, f"{what} '{ident}' was not found.")


def conflict(detail: str, field: str) -> JsonResponse:
    return problem(409, detail, errors={field: [detail]})


def created(data) -> JsonResponse:
    return JsonResponse(data, status=201)


def ok(data) -> JsonResponse:
    return JsonResponse(data, status=200, safe=False)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def oauth_error(status: int, detail: str) -> HttpResponse:
    """The identity server's error: RFC 6749 codes, by status for the kit's faults."""
    code = {
        401: "invalid_client",
        405: "invalid_request",
        429: "temporarily_unavailable",
    }.get(status, "server_error" if status >= 500 else "invalid_request")
    return oauth_refusal(code, detail, status=status)


def oauth_refusal(code: str, description: str, *, status: int = 400) -> HttpResponse:
    response = JsonResponse({"error": code, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def parse_json(request, *, required: bool = True):
    """The request's JSON body, or answer at once with the 400/415 ASP.NET would give."""
    content_type = request.content_type or ""
    if content_type and not (content_type == "application/json" or content_type.endswith("+json")):
        raise Answer(problem(415, f"Content type '{content_type}' is not supported; send JSON."))
    if not request.body:
        if not required:
            return {}
        raise Answer(validation_problem({"": ["A non-empty request body is required."]}))
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Answer(
            validation_problem({"$": [f"The JSON value could not be parsed: {exc}"]})
        ) from exc
