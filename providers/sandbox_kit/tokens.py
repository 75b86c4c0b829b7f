"""The access tokens a sandbox issues, of which it keeps only a hash and an expiry.

Every function takes the sandbox's own token model (a HashedToken), so each sandbox
keeps its own table and the words of its own refusals.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from .models import HashedToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def store_token(model: type[HashedToken], token: str, expires_at: datetime, **fields) -> None:
    """Remember a token made elsewhere (e.g. a signed JWT) by its hash."""
    model.objects.create(token_hash=hash_token(token), expires_at=expires_at, **fields)


def issue_token(model: type[HashedToken], lifetime: timedelta) -> str:
    """A new opaque bearer token, valid `lifetime` from now."""
    token = secrets.token_urlsafe(32)
    store_token(model, token, timezone.now() + lifetime)
    return token


def token_refusal(
    model: type[HashedToken], token: str, *, unknown: str, expired: str
) -> str | None:
    """None when `token` was issued and has not expired, else the platform's reason."""
    row = model.objects.filter(token_hash=hash_token(token)).only("expires_at").first()
    if row is None:
        return unknown
    if row.expires_at <= timezone.now():
        return expired
    return None


def valid_count(model: type[HashedToken]) -> int:
    return model.objects.filter(expires_at__gt=timezone.now()).count()


def expire_all(model: type[HashedToken]) -> int:
    """Expire every valid token now (the `_sandbox/tokens/expire` switch); how many."""
    now = timezone.now()
    return model.objects.filter(expires_at__gt=now).update(expires_at=now)
