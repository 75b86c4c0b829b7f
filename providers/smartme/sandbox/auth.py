"""The three ways the sandbox lets a caller in, as smart-me does (guide, NOTES.md):

- `Authorization: Basic base64(username:password)`: settings.SANDBOX_CLIENT_ID and
  SANDBOX_CLIENT_SECRET stand for the account's username and password;
- `Authorization: ApiKey <key>`: settings.SANDBOX_SMARTME_API_KEY;
- `Authorization: Bearer <token>`: a client-credentials token from the token endpoint
  (client id and secret as above), valid `expires_in` 3600 s (NOTES.md).
"""

import base64
import binascii
import secrets
from datetime import timedelta

from django.conf import settings

from providers.sandbox_kit import tokens

from .models import AccessToken

TOKEN_LIFETIME = timedelta(seconds=3600)
DENIED = "Authorization has been denied for this request."  # ASP.NET Web API's wording


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def client_ok(client_id: str, client_secret: str) -> bool:
    # Both compared, in constant time, so neither leaks through timing.
    id_ok = _same(client_id, settings.SANDBOX_CLIENT_ID)
    secret_ok = _same(client_secret, settings.SANDBOX_CLIENT_SECRET)
    return id_ok and secret_ok


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def issue_token() -> str:
    return tokens.issue_token(AccessToken, TOKEN_LIFETIME)


def problem(request) -> str | None:
    """None when the request is let in, else why not (for the 401 body)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        credentials = basic_credentials(header)
        return None if credentials and client_ok(*credentials) else DENIED
    if scheme == "apikey":
        return None if value and _same(value, settings.SANDBOX_SMARTME_API_KEY) else DENIED
    if scheme == "bearer":
        return tokens.token_refusal(
            AccessToken, value, unknown=DENIED, expired="The access token expired."
        )
    return DENIED


def expire_all() -> int:
    return tokens.expire_all(AccessToken)
