"""Connecting a platform whose access only a person can grant (zevvy's OAuth device
flow): start a device login, poll it at the pace the server asks, store the token.

The command `connect_zevvy` and the admin's connection page both use this, and the
pending login lives in the database (DeviceAuthorization, its device code encrypted),
so either can start it and either can see it finish. A poll is claimed with one
conditional UPDATE on `next_poll_at`: two pollers (a command and a browser tab, or two
tabs) never ask the server faster than the interval it set.
"""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from providers import registry
from providers.checks import sandbox_refusal
from providers.device_flow import AuthorizationPending, DeviceAuthorization, DeviceFlowEnded
from providers.errors import AuthError, ProviderError, TransientError

from .sync import outbox
from .sync.models import DeviceAuthorization as Login
from .sync.models import ProviderConnection, SyncRecord

Outcome = Login.Outcome
PLATFORM = "zevvy"


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def current(provider: str = PLATFORM) -> Login | None:
    return Login.objects.filter(provider=provider).first()


def start(provider: str = PLATFORM, *, started_by: str = "") -> Login:
    """Ask the authorization server for a device code; the last login is replaced.

    Raises ProviderError (unreachable, credentials refused, a production deployment
    still on the sandbox) with a sentence to show.
    """
    refusal = sandbox_refusal(provider)
    if refusal:
        raise AuthError(refusal)
    authorization = registry.client(provider).start_device_authorization()
    login, _ = Login.objects.update_or_create(
        provider=provider,
        defaults={
            "device_code": authorization.device_code,
            "user_code": authorization.user_code,
            "verification_uri": authorization.verification_uri,
            "verification_uri_complete": authorization.verification_uri_complete,
            "interval": authorization.interval,
            "expires_at": _when(authorization.expires_at),
            # RFC 8628 §3.5: the first token request also waits one interval.
            "next_poll_at": timezone.now() + timedelta(seconds=authorization.interval),
            "outcome": Outcome.PENDING,
            "message": "",
            "started_by": started_by,
        },
    )
    return login


def poll(provider: str = PLATFORM) -> Login | None:
    """Ask the token endpoint once if a poll is due; the login as it now stands."""
    login = current(provider)
    if login is None or login.outcome != Outcome.PENDING:
        return login
    now = timezone.now()
    if login.expires_at <= now:
        return _settle(
            login, Outcome.FAILED, "The code expired before anyone approved it; start again."
        )
    claimed = Login.objects.filter(
        pk=login.pk, outcome=Outcome.PENDING, next_poll_at__lte=now
    ).update(next_poll_at=now + timedelta(seconds=login.interval))
    if not claimed:
        return current(provider)  # not due yet, or another poller has it
    authorization = DeviceAuthorization(
        device_code=login.device_code,
        user_code=login.user_code,
        verification_uri=login.verification_uri,
        verification_uri_complete=login.verification_uri_complete,
        expires_at=login.expires_at.timestamp(),
        interval=login.interval,
    )
    try:
        registry.client(provider).poll_device_token(authorization, login.interval)
    except AuthorizationPending as pending:
        # Counted from the answer, so the next request is at least an interval after.
        Login.objects.filter(pk=login.pk).update(
            interval=pending.interval,
            next_poll_at=timezone.now() + timedelta(seconds=pending.interval),
            message=(
                f"zevvy asked us to slow down: polling every {pending.interval:g} s."
                if pending.slow_down
                else ""
            ),
        )
        return current(provider)
    except DeviceFlowEnded as ended:
        return _settle(login, Outcome.FAILED, _sentence(ended.message))
    except TransientError as exc:
        Login.objects.filter(pk=login.pk).update(
            next_poll_at=timezone.now() + timedelta(seconds=login.interval),
            message=f"zevvy did not answer this time ({exc.message}); asking again.",
        )
        return current(provider)
    except AuthError as exc:
        return _settle(login, Outcome.FAILED, _sentence(exc.message))
    resumed = resume(provider)
    waiting = f" {resumed} waiting row{'s' if resumed != 1 else ''} resume." if resumed else ""
    return _settle(login, Outcome.CONNECTED, f"Connected to {registry.label(provider)}.{waiting}")


def _settle(login: Login, outcome: str, message: str) -> Login:
    Login.objects.filter(pk=login.pk).update(outcome=outcome, message=message, device_code="")
    return current(login.provider)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def resume(provider: str) -> int:
    """Access works again: the rows paused by the refusal go now (as check_providers
    does after a refusal is fixed)."""
    with transaction.atomic():
        ProviderConnection.objects.filter(provider=provider).update(
            status=ProviderConnection.Status.CONNECTED, status_message=""
        )
        rows = SyncRecord.objects.filter(
            provider=provider, state=SyncRecord.State.PENDING, claim_token__isnull=True
        )
        ids = list(rows.values_list("pk", flat=True))
        SyncRecord.objects.filter(pk__in=ids).update(not_before=Now(), queued_at=None)
        transaction.on_commit(lambda: outbox.enqueue(ids))
    return len(ids)


def describe_failure(exc: ProviderError) -> str:
    """One sentence for a login that could not even start."""
    if isinstance(exc, TransientError):
        return (
            f"zevvy's authorization server could not be reached ({exc.message}); check "
            "ZEVVY_DEVICE_AUTHORIZATION_URL or try again later."
        )
    return _sentence(exc.message)
