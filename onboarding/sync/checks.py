"""Start-up check: a claim outlives the longest wait of one call.

A worker holding a row may wait for the token lock (another worker is refreshing the
token) and then for the platform's answer. If SYNC_CLAIM_TIMEOUT_SECONDS were shorter,
another worker would presume it lost and push the row a second time. Celery workers run
this check when they start (portal/celery.py) and refuse to start on it; `manage.py
check` shows it too. Other waits (a shared rate budget's turn) are covered while the
worker runs: a claim is renewed after any wait before the call leaves (claims.Guard).
"""

from django.conf import settings
from django.core import checks

# "Well above": the claim lasts half as long again as the longest wait it must outlive.
CLAIM_MARGIN = 1.5


def longest_call_seconds() -> float:
    return (
        settings.SYNC_TOKEN_LOCK_WAIT_SECONDS
        + settings.PROVIDER_CONNECT_TIMEOUT_SECONDS
        + settings.PROVIDER_TIMEOUT_SECONDS
    )


@checks.register("sync")
def claim_outlives_a_call(app_configs=None, **kwargs):
    longest = longest_call_seconds()
    needed = longest * CLAIM_MARGIN
    if needed <= settings.SYNC_CLAIM_TIMEOUT_SECONDS:
        return []
    return [
        checks.Error(
            f"SYNC_CLAIM_TIMEOUT_SECONDS is {settings.SYNC_CLAIM_TIMEOUT_SECONDS:g} s, but one "
            f"call may take {longest:g} s (token lock wait "
            f"{settings.SYNC_TOKEN_LOCK_WAIT_SECONDS:g} s + connect "
            f"{settings.PROVIDER_CONNECT_TIMEOUT_SECONDS:g} s + answer "
            f"{settings.PROVIDER_TIMEOUT_SECONDS:g} s): a worker still waiting would be "
            "presumed lost and its row pushed twice.",
            hint=f"Set SYNC_CLAIM_TIMEOUT_SECONDS to at least {needed:g}, or lower the "
            "timeouts (SYNC_TOKEN_LOCK_WAIT_SECONDS, PROVIDER_CONNECT_TIMEOUT_SECONDS, "
            "PROVIDER_TIMEOUT_SECONDS).",
            id="onboarding.E020",
        )
    ]


def refuse_to_start_with_short_claims() -> None:
    """Called by portal/celery.py when a worker starts (after Django is set up)."""
    errors = [e for e in claim_outlives_a_call() if e.id not in settings.SILENCED_SYSTEM_CHECKS]
    if errors:
        # SystemExit, not an exception: Celery logs and ignores a signal handler's errors.
        raise SystemExit(f"Refusing to start: {errors[0].msg} {errors[0].hint}")
