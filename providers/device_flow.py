"""The OAuth 2.0 device authorization grant's answers (RFC 8628), whichever platform a
person connects this way (zevvy today): what the portal's connect flow (onboarding/
connect.py) handles without knowing the platform. No Django.
"""

import ipaddress
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import AuthError, PermanentError, TransientError

# RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
DEFAULT_POLL_INTERVAL_SECONDS = 5.0
# `expires_in` is REQUIRED in a device authorization answer; should a server omit it we
# assume Keycloak's default lifetime of a device code (10 minutes).
DEFAULT_DEVICE_CODE_SECONDS = 600.0


class DeviceFlowEnded(AuthError):
    """The device code will never yield a token: denied, expired or refused."""

    def __init__(self, message: str, *, error: str):
        super().__init__(message)
        self.error = error


class AuthorizationPending(Exception):
    """Not yet: ask again after `interval` seconds (longer after a slow_down)."""

    def __init__(self, interval: float, *, slow_down: bool = False):
        super().__init__("slow_down" if slow_down else "authorization_pending")
        self.interval = interval
        self.slow_down = slow_down


@dataclass(frozen=True)
class DeviceAuthorization:
    """A device authorization answer (RFC 8628 §3.2), with absolute times.

    The device code is the secret half: it stays out of repr() and every log.
    """

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float  # epoch seconds
    interval: float

    @classmethod
    def from_response(
        cls, body: dict, now: float | None = None, *, allow_http_loopback: bool = False
    ) -> "DeviceAuthorization":
        """`allow_http_loopback`: an embedded sandbox's http://127.0.0.1 links are fine."""
        now = time.time() if now is None else now
        missing = [k for k in ("device_code", "user_code") if not body.get(k)]
        # Some servers (Google's) still send the draft's `verification_url`.
        uri = body.get("verification_uri") or body.get("verification_url")
        if not uri:
            missing.append("verification_uri")
        if missing:
            raise TransientError("The device authorization answer lacks " + ", ".join(missing))
        for key in ("verification_uri", "verification_uri_complete"):
            value = str(uri if key == "verification_uri" else body.get(key) or "")
            if value and not is_safe_link(value, allow_http_loopback=allow_http_loopback):
                raise PermanentError(
                    f"The device authorization answer's {key} is not an https link "
                    f"({urlsplit(value).scheme or 'no'} scheme): refused, it is shown to "
                    "staff as a link to follow."
                )
        return cls(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(uri),
            verification_uri_complete=str(body.get("verification_uri_complete") or ""),
            expires_at=now + seconds_or(body.get("expires_in"), DEFAULT_DEVICE_CODE_SECONDS),
            interval=seconds_or(body.get("interval"), DEFAULT_POLL_INTERVAL_SECONDS),
        )

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


def is_safe_link(url: str, *, allow_http_loopback: bool = False) -> bool:
    """Whether a link from an authorization server may be rendered for staff to follow:
    https with a host, or http on loopback when allowed. Never `javascript:`, `data:`…"""
    parts = urlsplit(url.strip())
    if not parts.hostname or any(c in url for c in "\r\n\t<>\"'` "):
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not allow_http_loopback:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def seconds_or(value, default: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 else default
