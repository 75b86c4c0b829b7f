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
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.functions import Now

from providers import registry
from providers.errors import (
    AuthError,
    NotFoundError,
    NotSupported,
    PermanentError,
    ReconnectRequired,
    TransientError,
)

from . import claims, recorder
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


def db_now_plus(seconds: float):
    """The database's clock plus `seconds`: every host compares due and claim times to
    the same clock, so a skewed host neither drops messages nor steals live claims."""
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def claimable() -> Q:
    """Rows a worker may take: due and unclaimed, or claimed by a worker presumed lost."""
    stale = db_now_plus(-settings.SYNC_CLAIM_TIMEOUT_SECONDS)
    return Q(state=State.PENDING, not_before__lte=Now(), claim_token__isnull=True) | Q(
        state__in=[State.PENDING, State.IN_FLIGHT], claimed_at__lt=stale
    )


# Remote ids never change once set (a re-created object gets a new row id only through
# a person's Retry, which the TTL bounds), so a worker keeps its parents' for a while:
# most pushes are a building's units or a unit's devices, all under the same parent.
PARENT_ID_TTL_SECONDS = 60.0
_parent_ids: dict[tuple, tuple[str, float]] = {}


def remote_id_of(instance, provider: str) -> str:
    key = (provider, type(instance), instance.pk)
    cached = _parent_ids.get(key)
    now = time.monotonic()
    if cached and cached[1] > now:
        return cached[0]
    remote_id = (
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(type(instance)),  # cached
            object_id=instance.pk,
            provider=provider,
        )
        .values_list("remote_id", flat=True)
        .first()
        or ""
    )
    if remote_id:
        if len(_parent_ids) > 10_000:
            _parent_ids.clear()
        _parent_ids[key] = (remote_id, now + PARENT_ID_TTL_SECONDS)
    return remote_id


def claim(record_id: int, token: uuid.UUID) -> SyncRecord | None:
    """Take the row for this worker, or None when it is not due or someone holds it."""
    return claims.claim(SyncRecord, record_id, token)


def run(record_id: int) -> Outcome | None:
    """Push one row if it is due; None when there was nothing to do.

    The row is claimed first and read in the same statement, so what this worker acts
    on is what the row says while it holds the claim; a staff save from then on makes
    the row pending again, which `finish` notices.
    """
    token = uuid.uuid4()
    record = claim(record_id, token)
    if record is None:
        return None
    if record.provider not in registry.enabled():
        return _park_disabled(record, token)
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
    if record.operation == Operation.UPSERT:
        if parent is not None and not parent_id:
            return _wait_for(record, parent, token)
    elif _children_still_there(record, handler, obj):
        return _wait_for_children(record, token)

    attempt = _Attempt(record, obj, handler, parent_id, token)
    with recorder.collecting() as calls:
        attempt.perform()
    # No transaction around these two: if we die between them the row stays in flight
    # and is reconciled like any lost worker's, and PostgreSQL saves two round trips.
    recorder.save(calls, record.provider, record)
    return attempt.finish()


def _release(record: SyncRecord, token: uuid.UUID, **fields) -> None:
    SyncRecord.objects.filter(pk=record.pk, claim_token=token).update(
        claim_token=None, claimed_at=None, **fields
    )


def _park_disabled(record: SyncRecord, token: uuid.UUID) -> Outcome:
    """A platform removed from PROVIDERS: its rows wait, saying so, and are not pushed;
    the sweep leaves them alone until the platform is enabled again."""
    _release(
        record,
        token,
        state=State.PENDING,
        last_error=(
            f"{registry.label(record.provider)} is not enabled (PROVIDERS); "
            "this waits until it is enabled again."
        ),
    )
    return Outcome(State.PENDING)


def _wait_for(record: SyncRecord, parent, token: uuid.UUID) -> Outcome:
    """A unit waits for its building: no attempt counted; its building's sync hands it
    over, the sweep is the safety net. If the building itself failed, the unit says so
    (needs attention) and still goes on by itself once the building syncs."""
    label = registry.label(record.provider)
    parent_row = (
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(type(parent)),
            object_id=parent.pk,
            provider=record.provider,
        )
        .values("state", "last_error")
        .first()
    )
    wait = settings.SYNC_DEPENDENCY_WAIT_SECONDS
    if parent_row and parent_row["state"] in (State.FAILED, State.NEEDS_ATTENTION):
        _release(
            record,
            token,
            state=State.NEEDS_ATTENTION,
            waiting_for_parent=True,
            last_error=f"Waiting for {parent}, which failed: {parent_row['last_error']}",
        )
        return Outcome(State.NEEDS_ATTENTION)
    _release(
        record,
        token,
        state=State.PENDING,
        not_before=db_now_plus(wait),
        last_error=f"Waiting for {parent} to reach {label}.",
    )
    return Outcome(State.PENDING)


def _children_still_there(record: SyncRecord, handler, obj) -> bool:
    """A delete goes bottom-up: a building waits until its units (and theirs) are gone
    from the platform, each removed by its own outbox row."""
    for model, pks in handler.dependants(obj):
        pending = SyncRecord.objects.filter(
            provider=record.provider,
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=pks,
            operation=Operation.DELETE,
        ).exclude(state=State.SYNCED)
        if pending.exists():
            return True
    return False


def _wait_for_children(record: SyncRecord, token: uuid.UUID) -> Outcome:
    wait = settings.SYNC_DEPENDENCY_WAIT_SECONDS
    _release(
        record,
        token,
        state=State.PENDING,
        not_before=db_now_plus(wait),
        last_error="Waiting for what it holds to be deleted first.",
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
        self.sent_parent_id = record.sent_parent_id
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
        except NotFoundError as exc:
            self._gone_remotely(exc, label)
        except PermanentError as exc:
            self._settle(State.FAILED, f"{label} refused it: {exc.message}")
        except Exception as exc:
            # A handler or client bug, or an answer nobody foresaw: never leave the row
            # in flight. It counts as an attempt and backs off like any transient error;
            # the calls made so far are recorded by the caller.
            log.exception("sync record %s: unexpected error", self.record.pk)
            self._transient(TransientError(f"unexpected {type(exc).__name__}: {exc}"[:500]))

    # --- what is sent -------------------------------------------------------------------
    def _upsert(self) -> None:
        payload = self.handler.payload(self.obj, self.parent_id)
        digest = payload_hash(payload)
        if not self.remote_id and self.unknown:
            self._adopt_earlier_create(payload)
        if not self.remote_id:
            self._create(payload)
            self._created(digest)
        else:
            self._move_if_its_parent_changed()
            if digest != self.sent_hash:
                self.handler.update(self.client, self.remote_id, payload, self.parent_id)
                self.sent_hash = digest
        self._settle(State.SYNCED, "")

    def _move_if_its_parent_changed(self) -> None:
        """A device moved to another unit is moved on the platform (it keeps its id and
        its readings there), not left where it was while we report "synced"."""
        before, now = self.sent_parent_id, self.parent_id or ""
        if before and now and before != now:
            self.handler.move(self.client, self.remote_id, before, now, obj=self.obj)
        self.sent_parent_id = now

    def _gone_remotely(self, exc: NotFoundError, label: str) -> None:
        """404 on an update or move: someone deleted it on the platform. A person decides
        whether it should exist again; their Retry looks it up first, then creates."""
        if self.record.operation != Operation.UPSERT or not self.remote_id:
            self._settle(State.FAILED, f"{label} refused it: {exc.message}")
            return
        self.remote_id = ""
        self.unknown = True  # Retry: look before creating (it may have come back)
        self.sent_hash = ""
        self._settle(
            State.NEEDS_ATTENTION,
            f"Deleted on {label} (it answered 404: {exc.message}). Retry creates it again.",
        )

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
        # Authenticate first: a token call that fails means the create was never sent,
        # so it must not leave the row "outcome unknown".
        self.handler.prepare(self.client)
        self._write_ahead(payload)
        try:
            self.remote_id = self.handler.create(self.client, self.obj, payload, self.parent_id)
        except TransientError as exc:
            self.unknown = exc.request_may_have_arrived
            raise
        except (PermanentError, AuthError):
            self.unknown = False  # the platform answered: nothing was created
            raise
        except Exception:
            self.unknown = True  # the request may have left: look before repeating it
            raise
        self.unknown = False
        self.sent_parent_id = self.parent_id or ""

    def _write_ahead(self, payload: dict) -> None:
        """Before a create leaves: note it (if this worker dies in the call, the next one
        looks before creating again) and renew the claim, or stop if it was taken over."""
        renewed = SyncRecord.objects.filter(pk=self.record.pk, claim_token=self.token).update(
            outcome_unknown=True, attempt_payload=payload, claimed_at=Now()
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
            self.fields.update(attempts=0, last_synced_at=Now(), waiting_for_parent=False)

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
        soon = delay <= COUNTDOWN_LIMIT_SECONDS
        self._settle(
            State.PENDING,
            f"Attempt {attempts} failed, retrying: {exc.message}",
            attempts=attempts,
            not_before=db_now_plus(delay),
            # A countdown message is in the broker; a long wait is left to the sweep.
            queued_at=Now() if soon else None,
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
        self._settle(
            State.PENDING,
            message,
            not_before=db_now_plus(AUTH_PAUSE.total_seconds()),
            queued_at=None,
        )

    def finish(self) -> Outcome:
        learnt = {
            "remote_id": self.remote_id,
            "outcome_unknown": self.unknown,
            "payload_hash": self.sent_hash,
            "sent_parent_id": self.sent_parent_id,
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
                    follow_up += _delete_locally_when_done(self.obj)
            elif state in (State.FAILED, State.NEEDS_ATTENTION) and not self.remote_id:
                self._flag_waiting_dependants()
        elif mine.update(**learnt):
            # Staff changed the object while we pushed it: it is pending again. Keep
            # what we learnt (the remote id) and go once more with the new data.
            follow_up = [self.record.pk]
            state = State.PENDING
        else:
            log.warning("sync record %s: claim lost to another worker", self.record.pk)
        return Outcome(state, follow_up, self.retry_in)

    def _dependant_rows(self):
        for model, pks in self.handler.dependants(self.obj):
            yield SyncRecord.objects.filter(
                provider=self.record.provider,
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=pks,
                operation=Operation.UPSERT,
            )

    def _ready_dependants(self) -> list[int]:
        """Its units (devices, …) waited for its remote id: they go now, including those
        flagged because it had failed."""
        if not self.created:
            return []
        ids: list[int] = []
        for rows in self._dependant_rows():
            ids += rows.filter(
                Q(state=State.PENDING) | Q(state=State.NEEDS_ATTENTION, waiting_for_parent=True)
            ).values_list("pk", flat=True)
        if ids:
            SyncRecord.objects.filter(pk__in=ids).update(
                state=State.PENDING,
                waiting_for_parent=False,
                not_before=Now(),
                queued_at=Now(),
                last_error="",
            )
        return ids

    def _flag_waiting_dependants(self) -> None:
        """It failed before reaching the platform: what waits for it says so at once,
        instead of waiting quietly for ever."""
        message = f"Waiting for {self.obj}, which failed: {self.fields['last_error']}"
        for rows in self._dependant_rows():
            rows.filter(state=State.PENDING, remote_id="", claim_token__isnull=True).update(
                state=State.NEEDS_ATTENTION, waiting_for_parent=True, last_error=message[:2000]
            )


def _outstanding(obj) -> bool:
    """Does any platform still hold this object (a row not yet deleted there)?"""
    return obj.sync_records.exclude(operation=Operation.DELETE, state=State.SYNCED).exists()


def _delete_locally_when_done(obj) -> list[int]:
    """Once every platform has let go of it and of all that goes with it, the object
    itself goes; then its parent, if it was waiting for that. Returns the parents'
    delete rows that may go now."""
    from onboarding.deletion import cascade, pending_parents

    if _outstanding(obj) or any(_outstanding(o) for o in cascade(obj)):
        return []
    parents = pending_parents(obj)
    obj.delete()
    ready: list[int] = []
    for parent in parents:
        waiting = parent.sync_records.filter(operation=Operation.DELETE, state=State.PENDING)
        ids = list(waiting.values_list("pk", flat=True))
        waiting.update(not_before=Now(), queued_at=Now())
        ready += ids
        if not ids:  # it has no row of its own left: only its children held it back
            ready += _delete_locally_when_done(parent)
    return ready
