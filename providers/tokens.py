"""Access tokens with their expiry, and where clients keep them (no Django here).

A client asks its TokenStore for a token and, when it is missing, near expiry or was
just refused with 401, asks the store to refresh it. The store runs the refresh under a
lock and, if another worker already replaced the stale token meanwhile, hands back that
one instead of fetching again. MemoryTokenStore serves one process (and tests of the
bare client); the portal's workers on several hosts share onboarding's database store.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# Refresh this long before expiry, so a token never dies in flight and clocks may drift
# (Home Assistant's CLOCK_OUT_OF_SYNC_MAX_SEC, a bit wider).
EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # epoch seconds
    # OAuth grants that hand out a refresh token (zevvy's device flow) keep it here; the
    # stores persist it encrypted like the access token.
    refresh_token: str = ""
    refresh_expires_at: float | None = None  # epoch seconds; None = no stated expiry

    def __repr__(self):  # never print a credential, not even in a traceback
        return f"Token(expires_at={self.expires_at!r}, refresh={bool(self.refresh_token)})"

    def is_fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.expires_at - EXPIRY_MARGIN_SECONDS


def same_token(a: Token | None, b: Token | None) -> bool:
    """The same credential? Compared by value: a stored expiry loses float precision."""
    return a is not None and b is not None and a.value == b.value


class TokenStore(Protocol):
    def load(self) -> Token | None: ...

    def refresh(self, fetch: Callable[[], Token], stale: Token | None) -> Token: ...

    def forget(self) -> None: ...


class MemoryTokenStore:
    def __init__(self):
        self._token: Token | None = None
        self._lock = threading.Lock()

    def load(self) -> Token | None:
        return self._token

    def refresh(self, fetch: Callable[[], Token], stale: Token | None) -> Token:
        with self._lock:
            current = self._token
            if current is not None and not same_token(current, stale) and current.is_fresh():
                return current
            self._token = fetch()
            return self._token

    def forget(self) -> None:
        self._token = None
