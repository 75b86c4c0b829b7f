"""Claiming a row with one `UPDATE … RETURNING`, on the database's clock.

Shared by the outbox (SyncRecord) and readings forwarding (Forwarding): both have
`state`, `not_before`, `claim_token`, `claimed_at` and `queued_at`. A row is taken when it
is pending, due and unclaimed, or when its claim is older than SYNC_CLAIM_TIMEOUT_SECONDS
(its worker presumed lost). The claim and the read are one round trip, and every host
compares times on the same clock (PostgreSQL and SQLite ≥ 3.35 both speak RETURNING).
"""

import time
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from providers import http


def _sql(model, condition: str) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)
    if connection.vendor == "sqlite":
        now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
        stale = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s)"
    else:
        now = "CURRENT_TIMESTAMP"
        stale = "(CURRENT_TIMESTAMP - %s * INTERVAL '1 second')"
    extra = f"{condition} AND " if condition else ""
    # Table and column names come from the model; every value is a parameter.
    return (
        f"UPDATE {table} SET state = 'in_flight', claim_token = %s, claimed_at = {now}, "  # noqa: S608
        f"queued_at = NULL WHERE id = %s AND {extra}("
        f"(state = 'pending' AND not_before <= {now} AND claim_token IS NULL) OR "
        f"(state IN ('pending', 'in_flight') AND claimed_at < {stale})"
        f") RETURNING {columns}"
    )


def claim(model, pk: int, token: uuid.UUID, *, condition: str = ""):
    """The row, now claimed by `token`, or None when it is not due or someone holds it.
    `condition` is a fixed SQL condition of the caller's (e.g. "enabled")."""
    timeout = settings.SYNC_CLAIM_TIMEOUT_SECONDS
    stale = f"-{timeout} seconds" if connection.vendor == "sqlite" else timeout
    # The UUID as the backend stores it: PostgreSQL's uuid type, SQLite's 32 hex digits.
    token_value = token if connection.vendor == "postgresql" else token.hex
    rows = list(model.objects.raw(_sql(model, condition), [token_value, pk, stale]))
    return rows[0] if rows else None


class ClaimLost(Exception):
    """Another worker took the row over (ours was presumed dead): stop, send nothing."""


class Guard:
    """Keeps a claim alive across the waits of an attempt.

    A call may first wait: for the token lock while another worker refreshes the token,
    for a turn in a shared rate budget. Waits are bounded (checks.py, E020), but a
    claim presumed lost meanwhile would let a second worker push the row too. So before
    anything is sent, a claim older than a quarter of the timeout is renewed, and one
    taken over stops the attempt (ClaimLost). Most calls renew nothing: a clock read.
    """

    def __init__(self, model, pk: int, token: uuid.UUID):
        self.model, self.pk, self.token = model, pk, token
        self.renewed = time.monotonic()

    def renew(self, **fields) -> None:
        """Renew now, writing `fields` with it (a create's write-ahead), or raise
        ClaimLost."""
        if not self.model.objects.filter(pk=self.pk, claim_token=self.token).update(
            claimed_at=Now(), **fields
        ):
            raise ClaimLost
        self.renewed = time.monotonic()

    def before_send(self) -> None:
        if time.monotonic() - self.renewed > settings.SYNC_CLAIM_TIMEOUT_SECONDS / 4:
            self.renew()

    @contextmanager
    def watching_sends(self):
        """Every request a client sends from here on asks `before_send` first."""
        reset = http.before_send.set(self.before_send)
        try:
            yield self
        finally:
            http.before_send.reset(reset)
