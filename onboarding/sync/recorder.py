"""Keeps every call a client makes as an ApiCall row.

During a sync attempt the calls are collected and written in one INSERT together with
the outbox row they served; calls made outside one (check_providers, the shell) are
written at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from providers.http import CallRecord

from .models import ApiCall, SyncRecord

_collected: ContextVar[list[CallRecord] | None] = ContextVar("collected_api_calls", default=None)


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
        calls = _collected.get()
        if calls is not None:
            calls.append(call)
        else:
            save([call], provider)

    return on_call


def save(calls: list[CallRecord], provider: str, record: SyncRecord | None = None) -> None:
    if not calls:
        return
    ApiCall.objects.bulk_create(
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
            content_type_id=record.content_type_id if record else None,
            object_id=record.object_id if record else None,
        )
        for call in calls
    )
