"""Client-credentials tokens: issued by `POST /auth/token`, valid one day (the guide)."""

import secrets
from datetime import timedelta

from django.conf import settings

from providers.sandbox_kit import tokens

from .models import AccessToken

TOKEN_LIFETIME = timedelta(days=1)


def credentials_ok(client_id: str, client_secret: str) -> bool:
    # Both compared in constant time, so neither leaks through timing.
    id_ok = secrets.compare_digest(client_id.encode(), settings.SANDBOX_CLIENT_ID.encode())
    secret_ok = secrets.compare_digest(
        client_secret.encode(), settings.SANDBOX_CLIENT_SECRET.encode()
    )
    return id_ok and secret_ok


def issue_token() -> str:
    return tokens.issue_token(AccessToken, TOKEN_LIFETIME)


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_problem(request) -> str | None:
    """None when the request carries a valid token, else why not (for the 401 body)."""
    token = bearer_token(request)
    if token is None:
        return "Missing bearer token."
    return tokens.token_refusal(
        AccessToken,
        token,
        unknown="The access token is invalid.",
        expired="The access token expired; request a new one at /auth/token.",
    )


def expire_all() -> int:
    return tokens.expire_all(AccessToken)
