"""Where a sandbox may send requests of its own (the Spark sandbox's webhook deliveries).

Anyone holding a sandbox token could subscribe a URL and have the sandbox POST to it: to
loopback or a private range, the answer's status code would scan this network. So,
unless SANDBOX_WEBHOOK_PRIVATE_TARGETS allows them (embedded mode, where the receiver
is on the laptop), a target is a public http(s) address or this portal's own receiver
(/webhooks/… at SANDBOX_BASE_URL). Checked at subscription and again before each
delivery (a name may resolve elsewhere by then); redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_own_receiver(url: str) -> bool:
    return _origin(url) == _origin(settings.SANDBOX_BASE_URL) and urlsplit(url).path.startswith(
        "/webhooks/"
    )


def refusal(url: str) -> str:
    """Why the sandbox will not send to `url`, or ""."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only absolute http or https URLs are delivered to"
    if settings.SANDBOX_WEBHOOK_PRIVATE_TARGETS or is_own_receiver(url):
        return ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except (OSError, UnicodeError):
        return f"{parts.hostname} does not resolve"
    private = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global)
    if private:
        return (
            f"{parts.hostname} is not a public address ({', '.join(private)}): a sandbox "
            "delivers only to public http(s) targets or to this portal's /webhooks/"
        )
    return ""
