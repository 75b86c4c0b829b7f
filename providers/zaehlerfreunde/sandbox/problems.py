"""Error answers: RFC 9457 problem details, the sandbox's choice.

No source shows the platform's error answers: the guide shows none, the spec declares
only 200s. The sandbox answers as ASP.NET Core does by default (a Swagger UI at
/partner/swagger fits it, though the spec's `x-order` extension is oapi-codegen's, a Go
generator, so the platform may well answer otherwise): `application/problem+json` with
`type`, `title`, `status`, `traceId` and, for validation errors, `errors` mapping a
field to its messages. Our client reads these if present and otherwise shows the
body's first words (client.describe_error), so it depends on none of it.
"""

import uuid

from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit import problems

# ASP.NET Core's `type` link for each status: the status's own subsection.
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


def problem(status: int, title: str | None = None, *, detail: str | None = None, errors=None):
    return problems.problem_details(
        status,
        type=_TYPES.get(status, "about:blank"),
        title=title,
        detail=detail,
        errors=errors,
        trace_id=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    )


def validation_problem(errors: dict[str, list[str]]):
    return problem(400, problems.VALIDATION_TITLE, errors=errors)


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


def parse_json(request):
    """The request's JSON body, or answer at once with the 400/415 ASP.NET would give."""
    return problems.parse_json(request, problem=problem)
