"""Claiming rows with one `UPDATE … RETURNING`, on the database's clock.

Shared by the outbox (SyncRecord) and readings forwarding (Forwarding): both have
`state`, `not_before`, `claim_token`, `claimed_at` and `queued_at`. A row is taken when it
is pending, due and unclaimed, or when its claim is older than SYNC_CLAIM_TIMEOUT_SECONDS
(its worker presumed lost). The claim and the read are one round trip, also for the
several rows of one message, and every host compares times on the same clock
(PostgreSQL and SQLite ≥ 3.35 both speak RETURNING).
"""

import time
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from providers import http

from . import statements


def _sql(model, condition: str, rows: int) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)
    if connection.vendor == "sqlite":
        now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
        stale = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s)"
    else:
        now = "CURRENT_TIMESTAMP"
        stale = "(CURRENT_TIMESTAMP - %s * INTERVAL '1 second')"
    extra = f"{condition} AND " if condition else ""
    ids = ", ".join(["%s"] * rows)
    # Table and column names come from the model; every value is a parameter.
    return (
        f"UPDATE {table} SET state = 'in_flight', claim_token = %s, claimed_at = {now}, "  # noqa: S608
        f"queued_at = NULL WHERE id IN ({ids}) AND {extra}("
        f"(state = 'pending' AND not_before <= {now} AND claim_token IS NULL) OR "
        f"(state IN ('pending', 'in_flight') AND claimed_at < {stale})"
        f") RETURNING {columns}"
    )


def claim(model, pk: int, token: uuid.UUID, *, condition: str = ""):
    """The row, now claimed by `token`, or None when it is not due or someone holds it.
    `condition` is a fixed SQL condition of the caller's (e.g. "enabled")."""
    return claim_many(model, [pk], token, condition=condition).get(pk)


def claim_many(model, pks: list[int], token: uuid.UUID, *, condition: str = "") -> dict:
    """Those of the rows that were due and free, now claimed by `token`, by id, in the
    order asked (the others are someone else's, or not due)."""
    if not pks:
        return {}
    timeout = settings.SYNC_CLAIM_TIMEOUT_SECONDS
    stale = f"-{timeout} seconds" if connection.vendor == "sqlite" else timeout
    # The UUID as the backend stores it: PostgreSQL's uuid type, SQLite's 32 hex digits.
    token_value = token if connection.vendor == "postgresql" else token.hex
    sql = _sql(model, condition, len(pks))
    claimed = {row.pk: row for row in model.objects.raw(sql, [token_value, *pks, stale])}
    return {pk: claimed[pk] for pk in pks if pk in claimed}


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

    def __init__(self, model, pk: int, token: uuid.UUID, *, claimed: float | None = None):
        self.model, self.pk, self.token = model, pk, token
        # When the claim was taken (time.monotonic()): a row claimed with the others of
        # its message may have waited for them before its own attempt began.
        self.renewed = time.monotonic() if claimed is None else claimed

    def renew(self, **fields) -> None:
        """Renew now, writing `fields` with it (a create's write-ahead), or raise
        ClaimLost."""
        where = {"id": self.pk, "claim_token": self.token}
        if not statements.update(self.model, where, claimed_at=Now(), **fields):
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
