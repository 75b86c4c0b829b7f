"""Keycloak's two endpoints for the device flow, under the realm's OpenID Connect path:
`.../protocol/openid-connect/auth/device` and `.../protocol/openid-connect/token`.

Both take form-encoded bodies and authenticate the client by `client_id` and
`client_secret` in the body or HTTP Basic (Keycloak accepts either for a confidential
client), and answer errors as `{"error", "error_description"}` (RFC 6749 §5.2).
"""

import base64
import binascii
from urllib.parse import unquote_plus

from django.http import JsonResponse
from django.urls import reverse

from providers.sandbox_kit.endpoint import Answer, api_endpoint

from . import authserver
from .authserver import OAuthProblem

PLATFORM = "zevvy"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# What Keycloak puts in `error` for an answer that is not an OAuth decision.
_ERRORS_BY_STATUS = {
    401: "invalid_client",
    405: "invalid_request",
    429: "temporarily_unavailable",
}


def oauth_error(status: int, detail: str) -> JsonResponse:
    error = _ERRORS_BY_STATUS.get(status) or (
        "server_error" if status >= 500 else "invalid_request"
    )
    return _no_store(JsonResponse({"error": error, "error_description": detail}, status=status))


def _problem(problem: OAuthProblem) -> JsonResponse:
    response = JsonResponse(
        {"error": problem.error, "error_description": problem.description}, status=problem.status
    )
    if problem.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="zevvy"'
    return _no_store(response)


def _no_store(response):
    # RFC 6749 §5.1: token answers must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _form(request) -> dict:
    if request.content_type != "application/x-www-form-urlencoded":
        raise Answer(oauth_error(400, "Content-Type must be application/x-www-form-urlencoded"))
    return request.POST


def _client(request, form) -> str:
    """The authenticated client's id (client_secret_post or client_secret_basic)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthProblem("invalid_client", "Invalid client credentials", 401) from None
        client_id, _, client_secret = decoded.partition(":")
        client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
    else:
        client_id = form.get("client_id", "")
        client_secret = form.get("client_secret", "")
    if not client_id:
        raise OAuthProblem("invalid_client", "Missing parameter: client_id", 401)
    authserver.check_client(client_id, client_secret)
    return client_id


@api_endpoint(
    PLATFORM,
    "/auth/realms/zevvy/protocol/openid-connect/auth/device",
    methods=("POST",),
    error=oauth_error,
    is_token_endpoint=True,
)
def device_authorization(request):
    form = _form(request)
    try:
        client_id = _client(request, form)
        code, device_code = authserver.start_device_authorization(client_id, form.get("scope", ""))
    except OAuthProblem as problem:
        return _problem(problem)
    page = request.build_absolute_uri(reverse("zevvy_sandbox:device"))
    body = {
        "device_code": device_code,
        "user_code": code.user_code,
        "verification_uri": page,
        "verification_uri_complete": f"{page}?user_code={code.user_code}",
        "expires_in": round((code.expires_at - code.created_at).total_seconds()),
    }
    if authserver.flow_settings().interval:
        body["interval"] = code.interval
    # else: left out on purpose; the client must fall back to RFC 8628's 5 s.
    return _no_store(JsonResponse(body))


@api_endpoint(
    PLATFORM,
    "/auth/realms/zevvy/protocol/openid-connect/token",
    methods=("POST",),
    error=oauth_error,
    is_token_endpoint=True,
)
def token(request):
    form = _form(request)
    try:
        client_id = _client(request, form)
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise OAuthProblem("invalid_request", "Missing form parameter: grant_type")
        if grant_type == DEVICE_CODE_GRANT:
            body = authserver.exchange_device_code(client_id, form.get("device_code", ""))
        elif grant_type == "refresh_token":
            body = authserver.refresh(
                client_id, form.get("refresh_token", ""), form.get("scope", "")
            )
        else:
            raise OAuthProblem("unsupported_grant_type", f"Unsupported grant_type {grant_type}")
    except OAuthProblem as problem:
        return _problem(problem)
    return _no_store(JsonResponse(body))
