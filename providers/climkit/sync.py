"""Climkit in the portal: a client factory, no push handlers.

The portal only reads Climkit (its catalogue, later its readings), so HANDLERS is empty.
Every client of every process draws from one request budget (providers/ratelimit.py):
Redis when REDIS_URL is set, else a SQLite file under VAR_DIR that every process of this
host shares.
"""

from django.conf import settings

from ..errors import AuthError
from ..ratelimit import BudgetSpec, shared_budget
from .client import ClimkitClient

NAME = "climkit"
HANDLERS: dict = {}


def budget():
    """The deployment's one Climkit budget: 1 request per second, login included."""
    spec = BudgetSpec(
        NAME,
        requests=1,
        per_seconds=1.0,
        margin_ms=settings.CLIMKIT_RATE_MARGIN_MS,
        max_wait=settings.CLIMKIT_MAX_WAIT_SECONDS,
    )
    return shared_budget(
        spec, redis_url=settings.REDIS_URL, sqlite_path=settings.VAR_DIR / "ratelimit.sqlite3"
    )


def credential_settings(connection) -> str:
    """Where the credentials come from, for an operator's one-sentence diagnosis."""
    return "CLIMKIT_USERNAME and CLIMKIT_PASSWORD"


def make_client(connection, *, token_store, on_call) -> ClimkitClient:
    username = connection.options.get("username") or connection.client_id
    password = connection.options.get("password") or connection.client_secret
    if not username or not password:
        raise AuthError(
            "no API user is configured: CLIMKIT_USERNAME and CLIMKIT_PASSWORD are the API "
            "credentials Climkit issued, not a portal login"
        )
    return ClimkitClient(
        connection.base_url,
        username,
        password,
        token_store=token_store,
        acquire=budget().acquire,
        timeout=(settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        on_call=on_call,
    )
