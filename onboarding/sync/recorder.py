"""Keeps every call a client makes as an ApiCall row.

During an outbox attempt each call is written the moment it returns, tied to the row it
served, in a statement of its own (autocommit): a worker killed mid-attempt still leaves
the calls that reached the platform, for support to see. Readings forwarding and
reconcile collect their calls and write them together; calls made outside any of these
(check_providers, the shell) are written at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.contenttypes.models import ContentType

from providers.http import CallRecord

from . import statements
from .models import ApiCall, SyncRecord

_collected: ContextVar[list[CallRecord] | None] = ContextVar("collected_api_calls", default=None)
_attempt_row: ContextVar[SyncRecord | None] = ContextVar("attempt_row", default=None)


@contextmanager
def writing_each_call_for(record: SyncRecord) -> Iterator[None]:
    token = _attempt_row.set(record)
    try:
        yield
    finally:
        _attempt_row.reset(token)


@contextmanager
def collecting() -> Iterator[list[CallRecord]]:
    calls: list[CallRecord] = []
    token = _collected.set(calls)
    try:
        yield calls
    finally:
        _collected.reset(token)


def hook_for(provider: str):
    def on_call(call: CallRecord) -> None:
        row = _attempt_row.get()
        if row is not None:
            save([call], provider, row)
            return
        calls = _collected.get()
        if calls is not None:
            calls.append(call)
        else:
            save([call], provider)

    return on_call


def save(
    calls: list[CallRecord], provider: str, record: SyncRecord | None = None, *, served=None
) -> None:
    """Keep the calls, tied to the outbox row they served, or else to the object
    `served` (readings forwarding, which has no outbox row)."""
    if not calls:
        return
    if record is not None:
        content_type_id, object_id = record.content_type_id, record.object_id
    elif served is not None:
        content_type_id = ContentType.objects.get_for_model(type(served)).pk
        object_id = served.pk
    else:
        content_type_id = object_id = None
    rows = [
        ApiCall(
            started_at=call.started_at,
            provider=provider,
            method=call.method,
            path=call.path[:500],
            status=call.status,
            duration_ms=call.duration_ms,
            error=call.error[:200],
            request_body=call.request_body,
            response_body=call.response_body,
            sync_record=record,
            content_type_id=content_type_id,
            object_id=object_id,
        )
        for call in calls
    ]
    if len(rows) == 1:
        # One INSERT, without the transaction bulk_create wraps around it (BEGIN and
        # COMMIT are two more round trips, on most pushes, which make one call).
        statements.insert(rows[0])
    else:
        ApiCall.objects.bulk_create(rows)
