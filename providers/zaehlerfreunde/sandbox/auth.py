"""Client-credentials tokens: issued by `POST /auth/token`, valid one day (the guide)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AccessToken

TOKEN_LIFETIME = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credentials_ok(client_id: str, client_secret: str) -> bool:
    # Both compared in constant time, so neither leaks through timing.
    id_ok = secrets.compare_digest(client_id.encode(), settings.SANDBOX_CLIENT_ID.encode())
    secret_ok = secrets.compare_digest(
        client_secret.encode(), settings.SANDBOX_CLIENT_SECRET.encode()
    )
    return id_ok and secret_ok


def issue_token() -> str:
    token = secrets.token_urlsafe(32)
    AccessToken.objects.create(token_hash=_hash(token), expires_at=timezone.now() + TOKEN_LIFETIME)
    return token


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
    row = AccessToken.objects.filter(token_hash=_hash(token)).only("expires_at").first()
    if row is None:
        return "The access token is invalid."
    if row.expires_at <= timezone.now():
        return "The access token expired; request a new one at /auth/token."
    return None


def expire_all() -> int:
    return AccessToken.objects.filter(expires_at__gt=timezone.now()).update(
        expires_at=timezone.now()
    )
