"""Error answers of the zevvy API in the shape it most plausibly gives.

The guide shows no error body. zevvy's API names (`_bulk_create`, `deviceRef/...`) and
its Java-first code examples point to a Spring Boot service, whose default error body is
`{"timestamp", "status", "error", "message", "path"}`; for validation errors we add
`errors: [{"field", "message"}]`, as Spring's `MethodArgumentNotValidException` handlers
commonly do.
"""

import json
from http import HTTPStatus

from django.http import JsonResponse
from django.utils import timezone

from providers.sandbox_kit.endpoint import Answer


def api_error(status: int, message: str, *, errors: list[dict] | None = None) -> JsonResponse:
    body = {
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "status": status,
        "error": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "message": message,
    }
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    if status == 401:
        # Spring Security's resource server says why in the challenge too.
        response["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{message}"'
        )
    return response


def validation_error(errors: list[dict]) -> JsonResponse:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return api_error(400, f"Validation failed: {summary}", errors=errors)


def json_body(request):
    """The request's JSON, or an Answer with the 415/400 Spring would give."""
    content_type = request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Answer(api_error(415, f"Content-Type '{content_type}' is not supported"))
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Answer(api_error(400, f"JSON parse error: {exc}")) from exc
