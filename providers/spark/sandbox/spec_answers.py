"""The current form's requests checked and answered as the spec (spec.py) says.

- A body is refused (400) when the operation's request schema refuses it, and the
  refusal is kept (RefusedBody) so trainers see why and tests can count violations.
- An error answer has the content the spec declares for that operation and status: a
  bare JSON string where it says `application/json` with a string schema, problem
  details where it says `application/problem+json`, nothing where it declares no
  content (most 404s, the 409).
"""

import json

from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit.endpoint import Answer

from . import spec
from .models import RefusedBody
from .problems import problem

MAX_PAGE_SIZE = 1000  # the spec: "Maximum pageSize is 1000"
MAX_KEPT_BODY = 4000


def refusal(
    method: str, template: str, status: int, detail: str, errors: dict | None = None
) -> HttpResponse:
    content_type, _ = spec.response_schema(method, template, status)
    if content_type == "application/problem+json":
        return problem(status, detail, errors=errors)
    if content_type == "application/json":
        text = detail
        if errors:
            text += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        return JsonResponse(text, status=status, safe=False)
    return HttpResponse(status=status)


def body_of(request, method: str, template: str):
    """The request's JSON body if the spec's schema takes it; else answer 400 (and keep
    the refusal)."""
    endpoint = f"{method} {template}"
    errors = None
    body = None
    if request.content_type and request.content_type != "application/json":
        errors = {"$": [f"Content type '{request.content_type}' is not JSON."]}
    else:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            errors = {"$": [f"The JSON value could not be parsed: {exc}"]}
    if errors is None:
        schema = spec.request_schema(method, template)
        if body is None and schema is not None:
            errors = {"$": ["A non-empty request body is required."]}
        elif schema is not None:
            errors = spec.errors_of(schema, body) or None
    if errors:
        RefusedBody.objects.create(
            endpoint=endpoint,
            errors=errors,
            body=request.body.decode("utf-8", "replace")[:MAX_KEPT_BODY],
        )
        raise Answer(refusal(method, template, 400, "The request body is invalid.", errors))
    return body


def paging(request, method: str, template: str) -> tuple[int, int]:
    """`page` (from 1) and `pageSize` (1–1000, default 100), or answer 400."""
    values = {}
    for name, default, high in (("page", 1, 1_000_000), ("pageSize", 100, MAX_PAGE_SIZE)):
        raw = request.GET.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= high:
            detail = f"The value '{raw}' is not valid for {name} (1 to {high})."
            raise Answer(refusal(method, template, 400, detail, {name: [detail]}))
        values[name] = value
    return values["page"], values["pageSize"]


def page_of(items, page: int, size: int) -> tuple[list, dict]:
    """One page of a queryset and the spec's ApiPagination for it."""
    total = items.count()
    pages = -(-total // size)
    pagination = {
        "totalRecords": total,
        "pageSize": size,
        "currentPage": page,
        "totalPages": pages,
        "nextPage": page + 1 if page < pages else None,
        "previousPage": page - 1 if page > 1 else None,
    }
    return list(items[(page - 1) * size : page * size]), pagination
