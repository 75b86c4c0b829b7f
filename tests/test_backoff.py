"""The retry schedule: exponential, jittered, capped, never before Retry-After."""

from onboarding.sync.engine import backoff_seconds


def test_backoff_grows_is_jittered_and_capped(settings):
    settings.SYNC_BACKOFF_BASE_SECONDS = 10
    settings.SYNC_BACKOFF_CAP_SECONDS = 300
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (6, 300), (20, 300)]:
        delays = {backoff_seconds(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter: workers that failed together do not return together


def test_retry_after_is_a_floor(settings):
    settings.SYNC_BACKOFF_BASE_SECONDS = 1
    assert backoff_seconds(1, retry_after=120) == 120
