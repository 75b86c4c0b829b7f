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
from django.db.models import DateTimeField, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import Now

from onboarding.operations import logs, metrics
from providers import registry
from providers.errors import (
    AuthError,
    NotFoundError,
    NotSupported,
    PermanentError,
    ReconnectRequired,
    TransientError,
)

from . import claims, recorder, statements
from .claims import ClaimLost
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


def _with_parent_remote_id(objects, model, parent_field: str, provider: str):
    """The object with its parent, and the parent's remote id on this platform, in one
    query: the push needs all three, and a round trip saved is saved on every push."""
    field = model._meta.get_field(parent_field)
    remote = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(field.related_model),  # cached
        object_id=OuterRef(field.attname),
        provider=provider,
    ).values("remote_id")[:1]
    return objects.select_related(parent_field).annotate(_parent_remote_id=Subquery(remote))


# Remote ids never change once set (a re-created object gets a new row id only through
# a person's Retry, which the TTL bounds), so a worker keeps its parents' for a while:
# most pushes are a building's units or a unit's devices, all under the same parent.
PARENT_ID_TTL_SECONDS = 60.0
_parent_ids: dict[tuple, tuple[str, float]] = {}


def remote_id_of(instance, provider: str, *, fresh: bool = False) -> str:
    key = (provider, type(instance), instance.pk)
    cached = _parent_ids.get(key)
    now = time.monotonic()
    if cached and cached[1] > now and not fresh:
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


def _parent_remote_id(obj, parent, handler, provider: str, *, fresh: bool) -> str | None:
    """The parent's remote id ("" while it has none there; None: no parent). Read with
    the object (always fresh) when the parent is its parent field's; a handler that picks
    its parent otherwise (a Spark resource's location meter) looks it up."""
    if parent is None:
        return None
    # select_related loaded the field's object: the same instance when it is the parent.
    if handler.parent_field and getattr(obj, handler.parent_field, None) is parent:
        if obj._parent_remote_id:
            return obj._parent_remote_id
        # Read with its claim, maybe before an earlier row of the same message made the
        # parent: look once more before waiting for it (a wait costs the sweep's delay).
        return remote_id_of(parent, provider, fresh=True)
    return remote_id_of(parent, provider, fresh=fresh)


def claim(record_id: int, token: uuid.UUID) -> SyncRecord | None:
    """Take the row for this worker, or None when it is not due or someone holds it."""
    return claims.claim(SyncRecord, record_id, token)


@dataclass
class Claimed:
    """A row this worker holds, and its object as read right after the claim."""

    record: SyncRecord
    token: uuid.UUID
    at: float  # time.monotonic() when it was claimed
    handler: object = None
    obj: object = None  # None: deleted meanwhile (its rows went with it), or not read


def claim_rows(record_ids: list[int]) -> list[Claimed]:
    """Claim the rows (one message's, or one) in one statement and read their objects,
    one query per kind of object: what a push acts on is what the rows say while this
    worker holds them. Rows not due or held by someone else are left out."""
    token = uuid.uuid4()
    at = time.monotonic()
    rows = claims.claim_many(SyncRecord, record_ids, token).values()
    held = [Claimed(row, token, at) for row in rows]
    _read_objects([c for c in held if _pushable(c.record)])
    return held


def _pushable(record: SyncRecord) -> bool:
    return record.provider in registry.enabled() and not registry.not_configured(record.provider)


def _read_objects(held: list[Claimed]) -> None:
    kinds: dict[tuple, list[Claimed]] = {}
    for c in held:
        kinds.setdefault((c.record.provider, c.record.content_type_id), []).append(c)
    for (provider, content_type_id), rows in kinds.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()  # cached
        handler = registry.handler(provider, model)
        objects = model._default_manager
        if handler.parent_field:
            objects = _with_parent_remote_id(objects, model, handler.parent_field, provider)
        found = objects.in_bulk([c.record.object_id for c in rows])
        for c in rows:
            c.handler, c.obj = handler, found.get(c.record.object_id)


def run(record_id: int) -> Outcome | None:
    """Push one row if it is due; None when there was nothing to do."""
    logs.bind(outbox_row=record_id, platform=None)
    held = claim_rows([record_id])
    return push(held[0]) if held else None


def push(claimed: Claimed) -> Outcome | None:
    """Push a row this worker holds (claim_rows). A staff save from the claim on makes
    the row pending again, which `finish` notices."""
    record, token, obj, handler = claimed.record, claimed.token, claimed.obj, claimed.handler
    logs.bind(outbox_row=record.pk, platform=record.provider)
    if record.provider not in registry.enabled():
        return _park_disabled(record, token)
    if reason := registry.not_configured(record.provider):
        return _park_disabled(record, token, reason=f"{reason} This waits until it is.")
    if obj is None:  # deleted meanwhile; its rows went with it
        return None

    parent = handler.parent(obj)
    # A row made again (reconcile's Re-create, or a Retry after a 404) reads its parent's
    # remote id afresh: the parent may have been made again too, under a new id.
    again = bool(record.last_synced_at and not record.remote_id)
    parent_id = _parent_remote_id(obj, parent, handler, record.provider, fresh=again)
    if record.operation == Operation.UPSERT:
        if parent is not None and not parent_id:
            return _wait_for(record, parent, token)
    elif _children_still_there(record, handler, obj):
        return _wait_for_children(record, token)

    guard = claims.Guard(SyncRecord, record.pk, token, claimed=claimed.at)
    attempt = _Attempt(record, obj, handler, parent_id, guard)
    with recorder.writing_each_call_for(record), guard.watching_sends():
        attempt.perform()
    outcome = attempt.finish()
    metrics.sync_outcome(record.provider, outcome.state)
    if outcome.state in (State.PENDING, State.FAILED, State.NEEDS_ATTENTION) and attempt.fields:
        log.info("not synced, %s: %s", outcome.state, attempt.fields.get("last_error", ""))
    return outcome


def _release(record: SyncRecord, token: uuid.UUID, **fields) -> None:
    SyncRecord.objects.filter(pk=record.pk, claim_token=token).update(
        claim_token=None, claimed_at=None, **fields
    )


def _park_disabled(record: SyncRecord, token: uuid.UUID, reason: str = "") -> Outcome:
    """A platform removed from PROVIDERS (or enabled in production without a base URL:
    `reason`): its rows wait, saying so, and are not pushed; the sweep leaves them alone
    until the platform is enabled (configured) again."""
    _release(
        record,
        token,
        state=State.PENDING,
        last_error=reason
        or (
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


class CannotMove(NotSupported):
    """The platform cannot move the object to its new parent: a Retry would fail the
    same way, so staff are offered what can be done (re-create it under the new parent,
    or accept it where it is)."""


class _Attempt:
    def __init__(self, record: SyncRecord, obj, handler, parent_id: str | None, guard):
        self.record = record
        self.guard = guard
        self.token = guard.token
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
        self.created_from = record.attempt_payload  # what the platform made it from
        self.wrote = False  # a create or update went out: the platform holds ours now
        self.not_sent = ""  # what of it the platform cannot take (Handler.not_sent)
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
        except CannotMove as exc:
            self._settle(
                State.NEEDS_ATTENTION,
                f"{exc.message} Re-create it under the new parent, or accept it as is.",
                remote_state=SyncRecord.RemoteState.CANNOT_MOVE,
                remote_diff={
                    "parent": {
                        "label": self.handler.parent_field or "parent",
                        "ours": self.parent_id,
                        "theirs": self.record.sent_parent_id,
                    }
                },
            )
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
            self._replace_old_one()
            self._create(payload)
            self._created(digest)
            self.created_from = payload
        else:
            self._move_if_its_parent_changed()
            if digest != self.sent_hash:
                self._update(payload, digest)
        self.not_sent = self.not_sent or self.handler.not_sent(self.obj, self.created_from) or ""
        self._settle(State.SYNCED, "")

    def _update(self, payload: dict, digest: str) -> None:
        try:
            self.handler.update(self.client, self.remote_id, payload, self.parent_id)
        except NotSupported:
            # No API for this change: if the handler can say what did not reach the
            # platform, the object is there, only "not sent" (never called synced);
            # otherwise a person decides (needs attention).
            self.not_sent = self.handler.not_sent(self.obj, self.created_from) or ""
            if not self.not_sent:
                raise
            return
        self.sent_hash = digest
        self.wrote = True

    def _replace_old_one(self) -> None:
        """Re-created under a new parent: the one we made under the old parent goes
        first (it is ours; a platform that cannot move it would refuse a second)."""
        old = self.record.replaces_remote_id
        if old:
            with suppress(NotFoundError):
                self.handler.delete(self.client, old)

    def _move_if_its_parent_changed(self) -> None:
        """A device moved to another unit is moved on the platform (it keeps its id and
        its readings there), not left where it was while we report "synced"."""
        before, now = self.sent_parent_id, self.parent_id or ""
        if before and now and before != now:
            try:
                self.handler.move(self.client, self.remote_id, before, now, obj=self.obj)
            except NotSupported as exc:  # it can never go there: a Retry would not help
                raise CannotMove(exc.message, status=exc.status) from exc
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
            f"Deleted on {label} (it answered 404: {exc.message}). Retry creates it again, "
            "with what hangs under it.",
            remote_state=SyncRecord.RemoteState.MISSING,
        )

    def _adopt_earlier_create(self, payload: dict) -> None:
        """An earlier create got no answer: look for what it sent where it sent it (staff
        may have changed or moved the object since), then for the object as it is now
        where it is now. Found under its old parent, it is moved by the push that
        follows, and the update sends what changed: one object, where it belongs."""
        earlier = self.record.attempt_payload or payload
        went_to = self.record.attempt_parent_id or self.parent_id
        looks: list[tuple[dict, str | None]] = []
        for look in ((earlier, went_to), (payload, went_to), (payload, self.parent_id)):
            if look not in looks:
                looks.append(look)
        for candidate, parent_id in looks:
            with suppress(NotFoundError):  # the old parent is gone there: not in it
                self.remote_id = self._find(candidate, parent_id) or ""
            if self.remote_id:
                # What the platform holds is what that create sent: if the object has
                # changed since, the update below sends the difference.
                self._created(payload_hash(candidate))
                self.created_from = candidate
                self.sent_parent_id = parent_id or ""
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
        self.guard.renew(
            outcome_unknown=True,
            attempt_payload=payload,
            # Where it goes: a device moved before the next attempt is looked for there.
            attempt_parent_id=self.parent_id or "",
        )

    def _created(self, digest: str) -> None:
        self.handler.after_create(self.obj, self.remote_id)
        self.sent_hash = digest
        self.created = True
        self.wrote = True

    def _find(self, payload: dict, parent_id: str | None) -> str | None:
        return self.handler.find_existing(self.client, self.obj, payload, parent_id)

    def _delete(self) -> None:
        # The parent's id is "" when it never reached the platform: then neither did this.
        went_to = self.record.attempt_parent_id or self.parent_id
        if not self.remote_id and self.unknown and went_to != "":
            payload = self.record.attempt_payload or self.handler.payload(self.obj, self.parent_id)
            with suppress(NotFoundError):  # its parent is gone there: so is it
                self.remote_id = self._find(payload, went_to) or ""
                self.parent_id = went_to  # deleted where it was made
        self.unknown = False
        if self.remote_id:
            with suppress(NotFoundError):  # already gone: that is what we wanted
                self.handler.delete_object(self.client, self.remote_id, self.obj, self.parent_id)
        self._settle(State.SYNCED, "")

    # --- what happened ------------------------------------------------------------------
    def _settle(self, state: str, error: str, **extra) -> None:
        self.fields = {"state": state, "last_error": error, **extra}
        if state == State.SYNCED:
            self.fields.update(attempts=0, last_synced_at=Now(), waiting_for_parent=False)
            if self.record.operation == Operation.UPSERT:
                self.fields["not_sent"] = self.not_sent
            if self.wrote:
                # The platform answered a create or update with ours: what the last
                # comparison saw is behind us (the next one checks again).
                self.fields.update(remote_state="", remote_diff=None, replaces_remote_id="")

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
        mine = {"id": self.record.pk, "claim_token": self.token}
        state = self.fields["state"]
        follow_up: list[int] = []
        still_ours = {**mine, "state": State.IN_FLIGHT}
        if statements.update(SyncRecord, still_ours, **learnt, **self.fields):
            if state == State.SYNCED:
                if self.created and self.record.remote_state == SyncRecord.RemoteState.MISSING:
                    self._bring_the_children()
                follow_up = self._ready_dependants()
                if self.record.operation == Operation.DELETE:
                    follow_up += _delete_locally_when_done(self.obj)
            elif state in (State.FAILED, State.NEEDS_ATTENTION) and not self.remote_id:
                self._flag_waiting_dependants()
        elif statements.update(SyncRecord, mine, **learnt):
            # Staff changed the object while we pushed it: it is pending again. Keep
            # what we learnt (the remote id) and go once more with the new data.
            follow_up = [self.record.pk]
            state = State.PENDING
        else:
            log.warning("sync record %s: claim lost to another worker", self.record.pk)
        return Outcome(state, follow_up, self.retry_in)

    def _dependant_rows(self):
        """Its dependants' upsert rows, every kind in one queryset (one query, not one per
        kind of dependant), or None when it has none."""
        kinds = Q()
        for model, pks in self.handler.dependants(self.obj):
            kinds |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=pks)
        if not kinds:
            return None
        return SyncRecord.objects.filter(
            kinds, provider=self.record.provider, operation=Operation.UPSERT
        )

    def _ready_dependants(self) -> list[int]:
        """Its units (devices, …) waited for its remote id: they go now, including those
        flagged because it had failed."""
        rows = self._dependant_rows() if self.created else None
        if rows is None:
            return []
        waiting = Q(state=State.PENDING) | Q(state=State.NEEDS_ATTENTION, waiting_for_parent=True)
        # One statement: the rows it changes are the ones handed over, none twice.
        ids = statements.update_returning_ids(
            rows.filter(waiting),
            state=State.PENDING,
            waiting_for_parent=False,
            not_before=Now(),
            queued_at=Now(),
            last_error="",
        )
        return sorted(ids)  # RETURNING answers in no set order; the rows' is the id's

    def _bring_the_children(self) -> None:
        """Made again after the platform lost it: what hung under it there went with it
        (a space's devices and invites, a user's meters), so those are made again too."""
        from .reconcile.fixes import forget_descendants

        forget_descendants(self.record)

    def _flag_waiting_dependants(self) -> None:
        """It failed before reaching the platform: what waits for it says so at once,
        instead of waiting quietly for ever."""
        message = f"Waiting for {self.obj}, which failed: {self.fields['last_error']}"
        rows = self._dependant_rows()
        if rows is not None:
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
