"""Beat refreshes every catalogue (CATALOGUE_REFRESH_MINUTES); the admin asks for one."""

import logging

from celery import shared_task

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
