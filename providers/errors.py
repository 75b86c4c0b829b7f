"""The typed errors every provider client raises; the outbox decides what each means.

- TransientError: try again later (timeout, connection reset, 5xx, 429).
- PermanentError: the platform says our data is wrong (4xx); retrying the same data is
  pointless, staff must fix it first.
- AuthError: credentials refused even after a fresh token; staff must reconnect.

A message is masked (providers/redaction.py) whoever builds it: it is shown to viewers
(`SyncRecord.last_error`) and printed by `check_providers`, so it never carries a token.
"""

from .redaction import mask_secrets


class ProviderError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        message = mask_secrets(message)
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_may_have_arrived: bool = True,
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after
        # False only when we know the platform never saw the request (connect refused,
        # 429): then a create can simply be repeated without looking for it first.
        self.request_may_have_arrived = request_may_have_arrived


class PermanentError(ProviderError):
    pass


class NotFoundError(PermanentError):
    """The remote object does not exist (404): a delete of it is already done."""


class AuthError(ProviderError):
    pass


class ReconnectRequired(AuthError):
    """Only a person can restore access: an OAuth grant was revoked, expired or never
    made (zevvy's device flow). The message says how to connect again."""


class NotConfigured(TransientError):
    """The platform is enabled but not configured for production (no base URL): nothing
    is sent; what waits for it goes once it is configured (providers/registry.py)."""

    def __init__(self, message: str):
        super().__init__(message, request_may_have_arrived=False)


class NotSupported(ProviderError):
    """The platform has no API for this operation (e.g. updating a device)."""
