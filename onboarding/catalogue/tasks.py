"""Beat refreshes every catalogue (CATALOGUE_REFRESH_MINUTES); the admin asks for one."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from .models import CatalogueRefresh, CatalogueRefreshQueued
from .refresh import RefreshFailed, platforms, refresh

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_catalogues() -> int:
    """One task per platform, so a slow platform (Climkit's 1 call/s) holds up no other."""
    names = platforms()
    for name in names:
        refresh_catalogue.delay(name)
    return len(names)


@shared_task(ignore_result=True)
def refresh_catalogue(platform: str) -> str:
    try:
        return refresh(platform).summary()
    except RefreshFailed as exc:
        # Kept in CatalogueRefresh for staff; a retry is the next beat, not a loop here.
        log.warning("%s", exc)
        return str(exc)
    finally:
        CatalogueRefreshQueued.objects.filter(platform=platform).delete()


def queue(platform: str, *, by: str = "", countdown: float | None = None) -> None:
    """Ask a worker for a refresh, and remember that it is under way (shown to staff)."""
    CatalogueRefreshQueued.objects.update_or_create(
        platform=platform, defaults={"queued_at": timezone.now(), "queued_by": by}
    )
    refresh_catalogue.apply_async((platform,), countdown=countdown)


def queue_if_never_refreshed(names) -> list[str]:
    """A picker finding a catalogue never read: read it now (once, not per page view)."""
    done = set(
        CatalogueRefresh.objects.filter(platform__in=names).values_list("platform", flat=True)
    )
    waiting = set(
        CatalogueRefreshQueued.objects.filter(platform__in=names).values_list("platform", flat=True)
    )
    started = [name for name in names if name not in done and name not in waiting]
    for name in started:
        queue(name, by="picker")
    return started


@worker_ready.connect
def refresh_at_start(**kwargs) -> None:
    """`make run` reads the catalogues once when its worker starts (a few seconds later,
    so the embedded sandboxes' web server is up): staff find them filled."""
    if settings.CATALOGUE_REFRESH_AT_START:
        for name in platforms():
            queue(name, by="start-up", countdown=5)
