"""Forwards one device's readings to one platform: claim, send batches, move the cursor.

The outbox's rules (onboarding/sync/engine.py), applied to a stream instead of an
object: the Forwarding row holds the truth, a worker claims it with one conditional
UPDATE so two never send the same device's readings at once, and the cursor (the id of
the last reading the platform accepted) moves only after the platform answered 2xx for
the whole batch, and only while the claim is still ours. A transient failure is retried
with the outbox's backoff (countdown in the broker if short, the sweep if long) and,
after SYNC_MAX_ATTEMPTS in a row, needs attention; a permanent refusal (the platform
says the data is wrong) flags the forwarding as failed, with the platform's reason,
until staff retry it. Nothing is skipped: a failed batch is the next one sent.
"""

import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Now

from onboarding.models import Device, ProviderConnection
from onboarding.sync import claims, recorder
from onboarding.sync.engine import backoff_seconds, db_now_plus
from providers import registry
from providers.errors import AuthError, PermanentError, TransientError

from .destinations import destination as destination_for
from .destinations import outbox_state
from .locks import lock_devices
from .models import Forwarding, Reading

log = logging.getLogger(__name__)
State = Forwarding.State
COUNTDOWN_LIMIT_SECONDS = 60.0
AUTH_PAUSE_SECONDS = 3600.0


@dataclass
class Outcome:
    state: str
    sent: int = 0  # readings the platform accepted in this run
    retry_in: float | None = None  # back to the broker with this countdown
    again: bool = False  # more to send: enqueue once more (other devices went first)


def claim(forwarding_id: int, token: uuid.UUID) -> Forwarding | None:
    return claims.claim(Forwarding, forwarding_id, token, condition="enabled")


def run(forwarding_id: int) -> Outcome | None:
    """Send what the forwarding has waiting; None when it was not ours to run."""
    token = uuid.uuid4()
    forwarding = claim(forwarding_id, token)
    if forwarding is None:
        return None
    return _Run(forwarding, token).perform()


class _Run:
    def __init__(self, forwarding: Forwarding, token: uuid.UUID):
        self.forwarding = forwarding
        self.token = token
        self.label = registry.label(forwarding.destination)
        self.mine = Forwarding.objects.filter(pk=forwarding.pk, claim_token=token)
        self.sent = 0

    def release(self, **fields) -> bool:
        return bool(self.mine.update(claim_token=None, claimed_at=None, **fields))

    def perform(self) -> Outcome:
        forwarding = self.forwarding
        destination = destination_for(forwarding.destination)
        if destination is None or forwarding.destination not in registry.enabled():
            # Waits, saying so; the sweep leaves it alone until the platform is enabled.
            self.release(
                state=State.PENDING,
                queued_at=None,
                last_error=f"{self.label} is not enabled (PROVIDERS); readings wait here.",
            )
            return Outcome(State.PENDING)
        if ProviderConnection.objects.filter(
            provider=forwarding.destination, status=ProviderConnection.Status.DISCONNECTED
        ).exists():
            self.release(
                state=State.PENDING,
                queued_at=None,
                not_before=db_now_plus(AUTH_PAUSE_SECONDS),
                last_error=f"{self.label} is disconnected; readings wait until it is back.",
            )
            return Outcome(State.PENDING)
        device = (
            Device.objects.select_related("space", "space__parent")
            .filter(pk=forwarding.device_id)
            .first()
        )
        if device is None:
            return Outcome(State.IDLE)  # deleted meanwhile; this row went with it
        outbox = outbox_state(device, forwarding.destination)
        wait = destination.waiting_for(forwarding, device, outbox)
        if wait:
            # The device's own sync hands nothing over to us: a short wait goes back to
            # the broker with a countdown, a long one is the sweep's.
            seconds = wait.seconds or settings.SYNC_DEPENDENCY_WAIT_SECONDS
            soon = seconds <= COUNTDOWN_LIMIT_SECONDS
            self.release(
                state=State.PENDING,
                queued_at=Now() if soon else None,
                not_before=db_now_plus(seconds),
                last_error=wait.reason,
            )
            return Outcome(State.PENDING, retry_in=seconds if soon else None)
        return self._send_all(destination, device, outbox)

    def _send_all(self, destination, device: Device, outbox) -> Outcome:
        client = registry.client(self.forwarding.destination)
        cursor = self.forwarding.cursor
        deadline = time.monotonic() + settings.READINGS_FORWARD_RUN_SECONDS
        size = settings.READINGS_FORWARD_BATCH
        while True:
            batch = list(
                Reading.objects.filter(device_id=device.pk, id__gt=cursor).order_by("id")[:size]
            )
            if not batch:
                if self._go_idle(cursor):
                    return Outcome(State.IDLE, self.sent)
                if not self.mine.exists():
                    log.warning("forwarding %s: claim lost to another worker", self.forwarding.pk)
                    return Outcome(State.IN_FLIGHT, self.sent)
                continue  # readings arrived since the read: another lap
            with recorder.collecting() as calls:
                try:
                    destination.send(client, self.forwarding, device, batch, outbox)
                    failure = None
                except Exception as exc:  # typed below; none may leave the row in flight
                    failure = exc
            recorder.save(calls, self.forwarding.destination, served=device)
            if failure is not None:
                return self._failed(failure)
            cursor = batch[-1].id
            if not self._advance(cursor, len(batch)):
                log.warning("forwarding %s: claim lost to another worker", self.forwarding.pk)
                return Outcome(State.IN_FLIGHT, self.sent)
            if time.monotonic() > deadline:
                # Fair to other devices: due again at once, behind the messages queued.
                self.release(state=State.PENDING, not_before=Now(), queued_at=Now())
                return Outcome(State.PENDING, self.sent, again=True)

    def _advance(self, cursor: int, count: int) -> bool:
        """The platform accepted the batch: the cursor moves past it, the claim renews."""
        self.sent += count
        return bool(
            Forwarding.objects.filter(pk=self.forwarding.pk, claim_token=self.token).update(
                cursor=cursor,
                forwarded_count=F("forwarded_count") + count,
                last_forwarded_at=Now(),
                claimed_at=Now(),
                attempts=0,
                last_error="",
            )
        )

    def _go_idle(self, cursor: int) -> bool:
        """Idle only if nothing is past the cursor, checked in the same statement and
        under the device's ingest lock: a delivery either committed before (its readings
        are seen here, and we go on) or comes after and finds us idle (queue.wake)."""
        newer = Reading.objects.filter(device_id=OuterRef("device_id"), id__gt=cursor)
        with transaction.atomic():
            lock_devices([self.forwarding.device_id])
            return bool(
                self.mine.filter(~Exists(newer)).update(
                    state=State.IDLE,
                    claim_token=None,
                    claimed_at=None,
                    not_before=None,
                    attempts=0,
                    last_error="",
                )
            )

    def _failed(self, exc: Exception) -> Outcome:
        label = self.label
        if isinstance(exc, TransientError):
            return self._retry_later(exc.message, exc.retry_after)
        if isinstance(exc, AuthError):
            message = (
                f"{label} refused our credentials ({exc.message}); readings wait until it "
                "is reconnected (manage.py check_providers)."
            )
            ProviderConnection.objects.update_or_create(
                provider=self.forwarding.destination,
                defaults={
                    "status": ProviderConnection.Status.DISCONNECTED,
                    "status_message": message,
                    "access_token": "",
                },
            )
            registry.client(self.forwarding.destination).tokens.forget()
            self.release(
                state=State.PENDING,
                not_before=db_now_plus(AUTH_PAUSE_SECONDS),
                queued_at=None,
                last_error=message,
            )
            return Outcome(State.PENDING, self.sent)
        if isinstance(exc, PermanentError):
            # The platform says this batch is wrong: sending it again changes nothing, and
            # skipping it would lose readings. Staff fix the cause, then Retry.
            self.release(
                state=State.FAILED,
                attempts=self.forwarding.attempts + 1,
                last_error=f"{label} refused the readings after id {self._cursor()}: {exc.message}",
            )
            return Outcome(State.FAILED, self.sent)
        log.exception("forwarding %s: unexpected error", self.forwarding.pk, exc_info=exc)
        return self._retry_later(f"unexpected {type(exc).__name__}: {exc}"[:500], None)

    def _cursor(self) -> int:
        return Forwarding.objects.filter(pk=self.forwarding.pk).values_list("cursor", flat=True)[0]

    def _retry_later(self, message: str, retry_after: float | None) -> Outcome:
        # A success earlier in this run reset the count: attempts are failures in a row.
        attempts = (0 if self.sent else self.forwarding.attempts) + 1
        if attempts >= settings.SYNC_MAX_ATTEMPTS:
            self.release(
                state=State.NEEDS_ATTENTION,
                attempts=attempts,
                last_error=f"{self.label} still failing after {attempts} attempts: {message}",
            )
            return Outcome(State.NEEDS_ATTENTION, self.sent)
        delay = backoff_seconds(attempts, retry_after)
        soon = delay <= COUNTDOWN_LIMIT_SECONDS
        self.release(
            state=State.PENDING,
            attempts=attempts,
            not_before=db_now_plus(delay),
            queued_at=Now() if soon else None,
            last_error=f"Attempt {attempts} failed, retrying: {message}",
        )
        return Outcome(State.PENDING, self.sent, retry_in=delay if soon else None)
