"""The identity server's client credentials and the API's bearer tokens.

Tokens last 30 minutes (the guide). Only their hashes are stored.
"""

import base64
import binascii
import secrets
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings

from providers.sandbox_kit import tokens

from .models import AccessToken

TOKEN_LIFETIME = timedelta(minutes=30)
# The guide's curl sends no scope. A client that asks for one may ask for this one.
SCOPES = {"energy-coordination"}


def credentials_ok(client_id: str, client_secret: str) -> bool:
    # Both compared in constant time, so neither leaks through timing.
    id_ok = secrets.compare_digest(client_id.encode(), settings.SANDBOX_CLIENT_ID.encode())
    secret_ok = secrets.compare_digest(
        client_secret.encode(), settings.SANDBOX_CLIENT_SECRET.encode()
    )
    return id_ok and secret_ok


def basic_credentials(request) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1): form-encoded id and secret in Basic auth."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, client_secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(client_secret)


def issue_token() -> str:
    return tokens.issue_token(AccessToken, TOKEN_LIFETIME)


def token_problem(request) -> str | None:
    """None when the request carries a valid token, else why not (for the 401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "Missing bearer token."
    return tokens.token_refusal(
        AccessToken,
        token.strip(),
        unknown="The access token is invalid.",
        expired="The access token expired; request a new one from the identity server.",
    )


def expire_all() -> int:
    return tokens.expire_all(AccessToken)
