"""The identity server's client credentials and the API's bearer tokens.

Tokens last 30 minutes (the guide). Only their hashes are stored.
"""

import base64
import binascii
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.utils import timezone

from .models import AccessToken

TOKEN_LIFETIME = timedelta(minutes=30)
# The guide's curl sends no scope. A client that asks for one may ask for this one.
SCOPES = {"energy-coordination"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    token = secrets.token_urlsafe(32)
    AccessToken.objects.create(token_hash=_hash(token), expires_at=timezone.now() + TOKEN_LIFETIME)
    return token


def token_problem(request) -> str | None:
    """None when the request carries a valid token, else why not (for the 401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "Missing bearer token."
    row = AccessToken.objects.filter(token_hash=_hash(token.strip())).only("expires_at").first()
    if row is None:
        return "The access token is invalid."
    if row.expires_at <= timezone.now():
        return "The access token expired; request a new one from the identity server."
    return None


def expire_all() -> int:
    now = timezone.now()
    return AccessToken.objects.filter(expires_at__gt=now).update(expires_at=now)
