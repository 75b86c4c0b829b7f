"""The sandbox's authorization server: what Keycloak does for zevvy's device flow.

RFC 8628 for the device authorization grant, RFC 6749 for refresh tokens and errors,
Keycloak's choices where the RFCs leave one (NOTES.md): `refresh_expires_in` in token
answers (0 for an offline token, which has no fixed expiry), a verification page at
`{realm}/device`, refresh tokens rotated on each use while the earlier ones stay valid
(Keycloak's default, "Revoke Refresh Token" off), error descriptions in Keycloak's words.
Views turn the OAuthProblem raised here into `{"error", "error_description"}`.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import AccessToken, DeviceCode, FlowSettings, Grant, RefreshToken

KNOWN_SCOPES = {"offline_access", "measurement", "register", "device", "openid", "profile", "email"}
RFC_DEFAULT_INTERVAL = 5
# Keycloak's SSO session idle timeout: how long a grant without offline_access lives.
ONLINE_SESSION = timedelta(minutes=30)
# RFC 8628 §6.1: a user code from 20 consonants (no vowels, so no words), 8 of them.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


class OAuthProblem(Exception):  # noqa: N818 - it is an answer, like the RFC calls it
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def flow_settings() -> FlowSettings:
    return FlowSettings.objects.filter(pk=1).first() or FlowSettings(pk=1)


def check_client(client_id: str, client_secret: str) -> None:
    id_ok = secrets.compare_digest(client_id.encode(), settings.SANDBOX_CLIENT_ID.encode())
    secret_ok = secrets.compare_digest(
        client_secret.encode(), settings.SANDBOX_CLIENT_SECRET.encode()
    )
    if not (id_ok and secret_ok):
        raise OAuthProblem(
            "invalid_client", "Invalid client or Invalid client credentials", status=401
        )


def granted_scope(requested: str) -> str:
    scopes = requested.split()
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise OAuthProblem("invalid_scope", f"Invalid scopes: {' '.join(unknown)}")
    return " ".join(dict.fromkeys(scopes))


def normalize_user_code(value: str) -> str:
    """What a person typed, as stored: upper case, `XXXX-XXXX` (RFC 8628 §6.1 says to
    forgive case and punctuation)."""
    letters = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


# --- RFC 8628 §3.1-3.2 ------------------------------------------------------------------


def start_device_authorization(client_id: str, scope: str) -> tuple[DeviceCode, str]:
    """A new device code (returned once, in clear) and its row."""
    config = flow_settings()
    device_code = secrets.token_urlsafe(32)
    for _ in range(10):  # a clash of 20^8 user codes is rare; try again if it happens
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        if not DeviceCode.objects.filter(user_code=user_code).exists():
            break
    row = DeviceCode.objects.create(
        code_hash=digest(device_code),
        user_code=user_code,
        client_id=client_id,
        scope=granted_scope(scope),
        interval=config.interval or RFC_DEFAULT_INTERVAL,
        expires_at=timezone.now() + timedelta(seconds=config.device_code_seconds),
    )
    return row, device_code


def decide(user_code: str, approve: bool) -> DeviceCode:
    """The person's answer on the verification page."""
    code = DeviceCode.objects.filter(user_code=normalize_user_code(user_code)).first()
    if code is None:
        raise LookupError("No device login with this code. Check it and try again.")
    if code.status != DeviceCode.PENDING:
        raise LookupError(f"This code was already {code.status}.")
    if code.expires_at <= timezone.now():
        raise LookupError("This code has expired. Start the connection again.")
    code.status = DeviceCode.APPROVED if approve else DeviceCode.DENIED
    code.decided_at = timezone.now()
    code.save(update_fields=["status", "decided_at"])
    return code


# --- RFC 8628 §3.4-3.5: the token endpoint's device_code grant ----------------------------


def exchange_device_code(client_id: str, device_code: str) -> dict:
    if not device_code:
        raise OAuthProblem("invalid_request", "Missing parameter: device_code")
    now = timezone.now()
    with transaction.atomic():
        code = DeviceCode.objects.select_for_update().filter(code_hash=digest(device_code)).first()
        problem = _device_code_problem(code, client_id, now)
        if problem is None:
            code.status = DeviceCode.USED
            code.save(update_fields=["status", "last_polled_at", "polls"])
            offline = "offline_access" in code.scope.split()
            grant = Grant.objects.create(
                client_id=client_id,
                scope=code.scope,
                user_code=code.user_code,
                expires_at=None if offline else now + ONLINE_SESSION,
            )
            return _tokens_for(grant)
    # Raised after the commit: the poll's time and a raised interval must be kept.
    raise problem


def _device_code_problem(code: DeviceCode | None, client_id: str, now) -> OAuthProblem | None:
    """Why this poll gets no token (recording the poll), or None to issue one."""
    if code is None or code.client_id != client_id:
        return OAuthProblem("invalid_grant", "Device code not valid")
    if code.status == DeviceCode.USED:
        return OAuthProblem("invalid_grant", "Device code already used")
    if code.expires_at <= now:
        return OAuthProblem("expired_token", "Device code is expired")
    if code.status == DeviceCode.DENIED:
        return OAuthProblem("access_denied", "The end user denied the authorization request")
    too_soon = (
        code.last_polled_at is not None
        and (now - code.last_polled_at).total_seconds() < code.interval
    )
    code.last_polled_at = now
    code.polls += 1
    if code.status == DeviceCode.APPROVED:
        return None
    if too_soon:
        # The client adds 5 s to its own interval (RFC 8628 §3.5); the server keeps the
        # interval it announced, as Keycloak does, so a client that complies is never
        # told to slow down again.
        code.slow_downs += 1
        code.save(update_fields=["last_polled_at", "polls", "slow_downs"])
        return OAuthProblem("slow_down", "Slow down")
    code.save(update_fields=["last_polled_at", "polls"])
    return OAuthProblem("authorization_pending", "The authorization request is still pending")


# --- RFC 6749 §6: the refresh_token grant -------------------------------------------------


def refresh(client_id: str, refresh_token: str, scope: str = "") -> dict:
    if not refresh_token:
        raise OAuthProblem("invalid_request", "Missing parameter: refresh_token")
    row = (
        RefreshToken.objects.select_related("grant")
        .filter(token_hash=digest(refresh_token))
        .first()
    )
    if row is None:
        raise OAuthProblem("invalid_grant", "Invalid refresh token")
    grant = row.grant
    if grant.client_id != client_id:
        raise OAuthProblem(
            "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"
        )
    if grant.revoked_at is not None:
        raise OAuthProblem("invalid_grant", "Token is not active")
    if grant.expires_at is not None and grant.expires_at <= timezone.now():
        raise OAuthProblem("invalid_grant", "Session not active")
    if scope and not set(scope.split()) <= set(grant.scope.split()):
        raise OAuthProblem("invalid_scope", "Invalid scopes: " + scope)
    return _tokens_for(grant)


def _tokens_for(grant: Grant) -> dict:
    config = flow_settings()
    now = timezone.now()
    access_token = secrets.token_urlsafe(32)
    refresh_token = secrets.token_urlsafe(48)
    AccessToken.objects.create(
        token_hash=digest(access_token),
        grant=grant,
        scope=grant.scope,
        expires_at=now + timedelta(seconds=config.access_token_seconds),
    )
    RefreshToken.objects.create(token_hash=digest(refresh_token), grant=grant)
    refresh_in = 0 if grant.expires_at is None else int((grant.expires_at - now).total_seconds())
    return {
        "access_token": access_token,
        "expires_in": config.access_token_seconds,
        "refresh_expires_in": refresh_in,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": str(uuid.uuid5(uuid.NAMESPACE_OID, f"zevvy-grant-{grant.pk}")),
        "scope": grant.scope,
    }


# --- the API's side -----------------------------------------------------------------------


def bearer(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def access_token_problem(request) -> str | None:
    """None when the request carries a live access token (kept on the request for the
    scope check), else why not."""
    token = bearer(request)
    if token is None:
        return "Full authentication is required to access this resource"
    row = (
        AccessToken.objects.select_related("grant")
        .filter(token_hash=digest(token))
        .only("expires_at", "scope", "grant__revoked_at")
        .first()
    )
    if row is None:
        return "Invalid token"
    if row.grant.revoked_at is not None:
        return "Token is not active (the grant was revoked)"
    if row.expires_at <= timezone.now():
        return f"Jwt expired at {row.expires_at.isoformat()}"
    request.zevvy_scopes = set(row.scope.split())
    return None


def revoke_grants(grant_id: int | None = None) -> int:
    active = Grant.objects.filter(revoked_at__isnull=True)
    if grant_id is not None:
        active = active.filter(pk=grant_id)
    return active.update(revoked_at=timezone.now())


def expire_access_tokens() -> int:
    now = timezone.now()
    return AccessToken.objects.filter(expires_at__gt=now).update(expires_at=now)


def expire_device_codes() -> int:
    now = timezone.now()
    live = DeviceCode.objects.filter(
        status__in=[DeviceCode.PENDING, DeviceCode.APPROVED], expires_at__gt=now
    )
    return live.update(expires_at=now)
