"""Answers in the shapes the two Spark servers give.

- The Energy Coordination API is an ASP.NET Core service: its reference spec declares
  errors as `HttpValidationProblemDetails` (`application/problem+json` with `type`,
  `title`, `status`, `detail` and, for validation, `errors` mapping a field to its
  messages). The guide shows no error body, so the sandbox copies the framework.
- The identity server (`/connect/token`, IdentityServer's path) answers errors as
  RFC 6749 §5.2 JSON: `{"error": "invalid_client", "error_description": "..."}`.
"""

from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit import problems


def problem(status: int, detail: str | None = None, *, title: str | None = None, errors=None):
    # Spark's `type` links the status's section of RFC 9110 (client or server errors).
    section = f"https://tools.ietf.org/html/rfc9110#section-15.{5 if status < 500 else 6}"
    return problems.problem_details(status, type=section, title=title, detail=detail, errors=errors)


def api_error(status: int, detail: str) -> HttpResponse:
    """The renderer the sandbox kit uses for the API's faults, 401s and 405s."""
    return problem(status, detail)


def validation_problem(errors: dict[str, list[str]]):
    return problem(400, title=problems.VALIDATION_TITLE, errors=errors)


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
    return problems.parse_json(
        request,
        problem=problem,
        unsupported_detail="Content type '{content_type}' is not supported; send JSON.",
        required=required,
    )
