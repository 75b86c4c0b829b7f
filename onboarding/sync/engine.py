"""Pushes one outbox row to its platform: claim, call, record the outcome.

The row, not the broker, holds the truth. A row is claimed with one conditional UPDATE
so two workers never push it at once; the outcome is written only while the claim is
still ours; a create whose answer never came back leaves `outcome_unknown` set, and the
next attempt looks for the object on the platform before creating it again.
"""

import hashlib
import json
import logging
import random
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from providers import registry
from providers.errors import (
    AuthError,
    NotFoundError,
    NotSupported,
    PermanentError,
    ReconnectRequired,
    TransientError,
)

from . import recorder
from .models import ProviderConnection, SyncRecord

log = logging.getLogger(__name__)
State = SyncRecord.State
Operation = SyncRecord.Operation

# A retry sooner than this goes back to the broker with a countdown; a later one is
# parked in the database and found by the beat sweep (pretix's webhooks do the same).
COUNTDOWN_LIMIT_SECONDS = 60.0
AUTH_PAUSE = timedelta(hours=1)


@dataclass
class Outcome:
    state: str
    follow_up: list[int] = field(default_factory=list)  # rows that may go now
    retry_in: float | None = None


def payload_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter, capped, never sooner than Retry-After."""
    ceiling = min(
        settings.SYNC_BACKOFF_CAP_SECONDS, settings.SYNC_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)
    )
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def claimable(now) -> Q:
    """Rows a worker may take: due and unclaimed, or claimed by a worker presumed lost."""
    stale = now - timedelta(seconds=settings.SYNC_CLAIM_TIMEOUT_SECONDS)
    return Q(state=State.PENDING, not_before__lte=now, claim_token__isnull=True) | Q(
        state__in=[State.PENDING, State.IN_FLIGHT], claimed_at__lt=stale
    )


def remote_id_of(instance, provider: str) -> str:
    return (
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(type(instance)),  # cached
            object_id=instance.pk,
            provider=provider,
        )
        .values_list("remote_id", flat=True)
        .first()
        or ""
    )


def run(record_id: int) -> Outcome | None:
    """Push one row if it is due; None when there was nothing to do.

    The row is claimed first and read after, so what this worker acts on is what the
    row says while it holds the claim; a staff save from then on makes the row pending
    again, which `finish` notices.
    """
    now = timezone.now()
    token = uuid.uuid4()
    claimed = SyncRecord.objects.filter(claimable(now), pk=record_id).update(
        state=State.IN_FLIGHT,
        claim_token=token,
        claimed_at=now,
        queued_at=None,  # its message is consumed: if we die here, the sweep re-enqueues
    )
    if not claimed:
        return None
    record = SyncRecord.objects.get(pk=record_id)
    model = ContentType.objects.get_for_id(record.content_type_id).model_class()
    handler = registry.handler(record.provider, model)
    objects = model._default_manager
    if handler.parent_field:
        objects = objects.select_related(handler.parent_field)
    obj = objects.filter(pk=record.object_id).first()
    if obj is None:  # deleted meanwhile; its rows went with it
        return None

    parent = handler.parent(obj)
    parent_id = remote_id_of(parent, record.provider) if parent is not None else None
    if parent is not None and not parent_id and record.operation == Operation.UPSERT:
        return _wait_for(record, parent, token)

    attempt = _Attempt(record, obj, handler, parent_id, token)
    with recorder.collecting() as calls:
        attempt.perform()
    # No transaction around these two: if we die between them the row stays in flight
    # and is reconciled like any lost worker's, and PostgreSQL saves two round trips.
    recorder.save(calls, record.provider, record)
    return attempt.finish()


def _wait_for(record: SyncRecord, parent, token: uuid.UUID) -> Outcome:
    """A unit waits for its building: no attempt counted; its building's sync hands it
    over, the sweep is the safety net."""
    wait = timedelta(seconds=settings.SYNC_DEPENDENCY_WAIT_SECONDS)
    SyncRecord.objects.filter(pk=record.pk, claim_token=token).update(
        state=State.PENDING,
        claim_token=None,
        claimed_at=None,
        not_before=timezone.now() + wait,
        last_error=f"Waiting for {parent} to reach {registry.label(record.provider)}.",
    )
    return Outcome(State.PENDING)


class ClaimLost(Exception):
    """Another worker took the row over (ours was presumed dead): stop, send nothing."""


class _Attempt:
    def __init__(self, record: SyncRecord, obj, handler, parent_id: str | None, token):
        self.record = record
        self.token = token
        self.obj = obj
        self.handler = handler
        self.parent_id = parent_id
        self.client = registry.client(record.provider)
        self.remote_id = record.remote_id
        self.unknown = record.outcome_unknown
        self.sent_hash = record.payload_hash
        self.fields: dict = {}
        self.created = False  # by this attempt (or adopted): its dependants may go now
        self.retry_in: float | None = None

    def perform(self) -> None:
        label = registry.label(self.record.provider)
        try:
            if self.record.operation == Operation.DELETE:
                self._delete()
            else:
                self._upsert()
        except ClaimLost:
            self.fields = {}
        except TransientError as exc:
            self._transient(exc)
        except AuthError as exc:
            self._auth_refused(exc, label)
        except NotSupported as exc:
            self._settle(State.NEEDS_ATTENTION, exc.message)
        except PermanentError as exc:
            self._settle(State.FAILED, f"{label} refused it: {exc.message}")

    # --- what is sent -------------------------------------------------------------------
    def _upsert(self) -> None:
        payload = self.handler.payload(self.obj, self.parent_id)
        digest = payload_hash(payload)
        if not self.remote_id and self.unknown:
            self._adopt_earlier_create(payload)
        if not self.remote_id:
            self._create(payload)
            self._created(digest)
        elif digest != self.sent_hash:
            self.handler.update(self.client, self.remote_id, payload, self.parent_id)
            self.sent_hash = digest
        self._settle(State.SYNCED, "")

    def _adopt_earlier_create(self, payload: dict) -> None:
        """An earlier create got no answer: look for what it sent (staff may have changed
        the object since), then for the object as it is now."""
        earlier = self.record.attempt_payload or payload
        for candidate in (earlier, payload) if earlier != payload else (payload,):
            self.remote_id = self._find(candidate) or ""
            if self.remote_id:
                # What the platform holds is what that create sent: if the object has
                # changed since, the update below sends the difference.
                self._created(payload_hash(candidate))
                break
        self.unknown = False  # looked: adopted, or it is not there

    def _create(self, payload: dict) -> None:
        self._write_ahead(payload)
        try:
            self.remote_id = self.handler.create(self.client, self.obj, payload, self.parent_id)
        except TransientError as exc:
            self.unknown = exc.request_may_have_arrived
            raise
        except (PermanentError, AuthError):
            self.unknown = False  # the platform answered: nothing was created
            raise
        self.unknown = False

    def _write_ahead(self, payload: dict) -> None:
        """Before a create leaves: note it (if this worker dies in the call, the next one
        looks before creating again) and renew the claim, or stop if it was taken over."""
        renewed = SyncRecord.objects.filter(pk=self.record.pk, claim_token=self.token).update(
            outcome_unknown=True, attempt_payload=payload, claimed_at=timezone.now()
        )
        if not renewed:
            raise ClaimLost

    def _created(self, digest: str) -> None:
        self.handler.after_create(self.obj, self.remote_id)
        self.sent_hash = digest
        self.created = True

    def _find(self, payload: dict) -> str | None:
        return self.handler.find_existing(self.client, self.obj, payload, self.parent_id)

    def _delete(self) -> None:
        # parent_id is "" when the parent never reached the platform: then neither did this.
        if not self.remote_id and self.unknown and self.parent_id != "":
            payload = self.record.attempt_payload or self.handler.payload(self.obj, self.parent_id)
            with suppress(NotFoundError):  # its parent is gone there: so is it
                self.remote_id = self._find(payload) or ""
        self.unknown = False
        if self.remote_id:
            with suppress(NotFoundError):  # already gone: that is what we wanted
                self.handler.delete(self.client, self.remote_id)
        self._settle(State.SYNCED, "")

    # --- what happened ------------------------------------------------------------------
    def _settle(self, state: str, error: str, **extra) -> None:
        self.fields = {"state": state, "last_error": error, **extra}
        if state == State.SYNCED:
            self.fields.update(attempts=0, last_synced_at=timezone.now())

    def _transient(self, exc: TransientError) -> None:
        attempts = self.record.attempts + 1
        label = registry.label(self.record.provider)
        if attempts >= settings.SYNC_MAX_ATTEMPTS:
            self._settle(
                State.NEEDS_ATTENTION,
                f"{label} still failing after {attempts} attempts: {exc.message}",
                attempts=attempts,
            )
            return
        delay = backoff_seconds(attempts, exc.retry_after)
        now = timezone.now()
        soon = delay <= COUNTDOWN_LIMIT_SECONDS
        self._settle(
            State.PENDING,
            f"Attempt {attempts} failed, retrying: {exc.message}",
            attempts=attempts,
            not_before=now + timedelta(seconds=delay),
            # A countdown message is in the broker; a long wait is left to the sweep.
            queued_at=now if soon else None,
        )
        self.retry_in = delay if soon else None

    def _auth_refused(self, exc: AuthError, label: str) -> None:
        message = (
            f"{label} refused our credentials ({exc.message}). Check its client id and "
            "secret, then run `manage.py check_providers` to reconnect; syncing resumes."
        )
        if isinstance(exc, ReconnectRequired):  # a person must authorize us again
            message = exc.message[:1].upper() + exc.message[1:] + "; syncing resumes then."
        ProviderConnection.objects.update_or_create(
            provider=self.record.provider,
            defaults={
                "status": ProviderConnection.Status.DISCONNECTED,
                "status_message": message,
                "access_token": "",
            },
        )
        self.client.tokens.forget()
        self._settle(State.PENDING, message, not_before=timezone.now() + AUTH_PAUSE, queued_at=None)

    def finish(self) -> Outcome:
        learnt = {
            "remote_id": self.remote_id,
            "outcome_unknown": self.unknown,
            "payload_hash": self.sent_hash,
            "claim_token": None,
            "claimed_at": None,
        }
        if not self.fields:
            log.warning("sync record %s: claim lost to another worker", self.record.pk)
            return Outcome(State.IN_FLIGHT)
        mine = SyncRecord.objects.filter(pk=self.record.pk, claim_token=self.token)
        state = self.fields["state"]
        follow_up: list[int] = []
        if mine.filter(state=State.IN_FLIGHT).update(**learnt, **self.fields):
            if state == State.SYNCED:
                follow_up = self._ready_dependants()
                if self.record.operation == Operation.DELETE:
                    _delete_locally_when_done(self.obj)
        elif mine.update(**learnt):
            # Staff changed the object while we pushed it: it is pending again. Keep
            # what we learnt (the remote id) and go once more with the new data.
            follow_up = [self.record.pk]
            state = State.PENDING
        else:
            log.warning("sync record %s: claim lost to another worker", self.record.pk)
        return Outcome(state, follow_up, self.retry_in)

    def _ready_dependants(self) -> list[int]:
        if not self.created:
            return []
        ids: list[int] = []
        for model, pks in self.handler.dependants(self.obj):
            ids += SyncRecord.objects.filter(
                provider=self.record.provider,
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=pks,
                state=State.PENDING,
            ).values_list("pk", flat=True)
        if ids:
            SyncRecord.objects.filter(pk__in=ids).update(
                not_before=timezone.now(), queued_at=timezone.now(), last_error=""
            )
        return ids


def _delete_locally_when_done(obj) -> None:
    """Once every platform has let go of it, the object itself goes."""
    outstanding = obj.sync_records.exclude(operation=Operation.DELETE, state=State.SYNCED)
    if not outstanding.exists():
        obj.delete()
