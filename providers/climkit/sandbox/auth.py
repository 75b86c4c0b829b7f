"""`POST /auth`: username and password → a JWT valid 15 minutes (the guide).

The tokens are real JWTs (HS256, signed with a key derived from SECRET_KEY), as the
platform's are; the sandbox also keeps each token's hash and expiry, so a trainer or a
test can expire every token at once (`_sandbox/tokens/expire`).
Error texts are flask-jwt-extended's, which the platform most plausibly runs.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

from providers.sandbox_kit import tokens

from .models import AccessToken

TOKEN_LIFETIME = timedelta(minutes=15)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key() -> bytes:
    return hashlib.sha256(f"climkit-sandbox:{settings.SECRET_KEY}".encode()).digest()


def credentials_ok(username: str, password: str) -> bool:
    # Both compared in constant time, so neither leaks through timing.
    user_ok = secrets.compare_digest(username.encode(), settings.SANDBOX_CLIENT_ID.encode())
    password_ok = secrets.compare_digest(password.encode(), settings.SANDBOX_CLIENT_SECRET.encode())
    return user_ok and password_ok


def issue_token(username: str) -> tuple[str, datetime]:
    now = int(time.time())
    expires_at = datetime.fromtimestamp(now, UTC) + TOKEN_LIFETIME
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "sub": username,
        "iat": now,
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_hex(8),
        "type": "access",
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(_key(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(signature)}"
    tokens.store_token(AccessToken, token, expires_at, username=username)
    return token, expires_at


def token_problem(request) -> str | None:
    """None when the request carries a valid token, else why not (for the 401 body)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return "Missing Authorization Header"
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token.strip():
        return "Missing 'Bearer' type in 'Authorization' header. Expected 'Bearer <JWT>'"
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        return "Not enough segments"
    expected = _b64(hmac.new(_key(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not secrets.compare_digest(expected.encode(), parts[2].encode()):
        return "Signature verification failed"
    return tokens.token_refusal(
        AccessToken, token, unknown="Token has been revoked", expired="Token has expired"
    )


def expire_all() -> int:
    return tokens.expire_all(AccessToken)
