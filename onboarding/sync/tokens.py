"""A TokenStore shared by every worker on every host: the platform's row in
ProviderConnection, token encrypted at rest, refreshed under a shared lock."""

from datetime import UTC, datetime

from providers.tokens import Token
from providers.tokens import same_token as _same

from .locks import shared_lock
from .models import ProviderConnection


class DatabaseTokenStore:
    def __init__(self, provider: str):
        self.provider = provider
        self._memo: Token | None = None  # saves a query per call while the token is fresh

    def load(self) -> Token | None:
        if self._memo is not None and self._memo.is_fresh():
            return self._memo
        row = ProviderConnection.objects.filter(provider=self.provider).first()
        self._memo = _token_of(row)
        return self._memo

    def refresh(self, fetch, stale: Token | None) -> Token:
        with shared_lock(f"token:{self.provider}"):
            row, _ = ProviderConnection.objects.get_or_create(provider=self.provider)
            current = _token_of(row)
            if current is not None and not _same(current, stale) and current.is_fresh():
                self._memo = current  # another worker refreshed it meanwhile
                return current
            token = fetch()
            row.access_token = token.value
            row.token_expires_at = datetime.fromtimestamp(token.expires_at, UTC)
            row.refresh_token = token.refresh_token
            row.refresh_expires_at = _when(token.refresh_expires_at)
            row.status = ProviderConnection.Status.CONNECTED
            row.status_message = ""
            row.save()
        self._memo = token
        return token

    def forget(self) -> None:
        self._memo = None


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _token_of(row: ProviderConnection | None) -> Token | None:
    if row is None or row.token_expires_at is None:
        return None
    if not row.access_token and not row.refresh_token:
        return None
    return Token(
        row.access_token,
        row.token_expires_at.timestamp(),
        refresh_token=row.refresh_token,
        refresh_expires_at=row.refresh_expires_at.timestamp() if row.refresh_expires_at else None,
    )
