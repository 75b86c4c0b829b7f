"""Keeps every call a client makes as an ApiCall row.

During a sync attempt the calls are collected and written in one INSERT together with
the outbox row they served; calls made outside one (check_providers, the shell) are
written at once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.contenttypes.models import ContentType

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
            content_type_id=content_type_id,
            object_id=object_id,
        )
        for call in calls
    )
