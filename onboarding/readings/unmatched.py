"""What may wait as an unmatched reading, and for how long.

A reading for a remote device no device is linked to yet waits (UnmatchedReading) until
staff link one: but only for a device the platform's catalogue knows. Anyone holding the
webhook's secret could otherwise fill the table with readings of made-up devices (one
1 MB body: 55,000 rows). Readings of unknown devices are counted and dropped; the table
holds at most READINGS_UNMATCHED_MAX_ROWS, and beat drops what waited longer than
READINGS_UNMATCHED_RETENTION_DAYS.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from onboarding.catalogue.models import CatalogueEntry

from .models import UnmatchedReading

log = logging.getLogger(__name__)


def admissible(source: str, rows: list[tuple]) -> tuple[list[tuple], int]:
    """The rows (remote id first) that may wait, and how many are dropped."""
    if not rows:
        return rows, 0
    known = set(
        CatalogueEntry.objects.filter(
            platform=source, remote_id__in={row[0] for row in rows}
        ).values_list("remote_id", flat=True)
    )
    kept = [row for row in rows if row[0] in known]
    if kept:
        room = settings.READINGS_UNMATCHED_MAX_ROWS - UnmatchedReading.objects.count()
        kept = kept[: max(room, 0)]
    dropped = len(rows) - len(kept)
    if dropped:
        unknown = {row[0] for row in rows} - known
        log.info(
            "%s: dropped %d unmatched readings (%d of devices not in the catalogue, the "
            "rest over READINGS_UNMATCHED_MAX_ROWS)",
            source, dropped, sum(1 for row in rows if row[0] in unknown),
        )  # fmt: skip
    return kept, dropped


def prune() -> int:
    """Drop what waited longer than READINGS_UNMATCHED_RETENTION_DAYS; how many."""
    cutoff = timezone.now() - timedelta(days=settings.READINGS_UNMATCHED_RETENTION_DAYS)
    deleted, _ = UnmatchedReading.objects.filter(received_at__lt=cutoff).delete()
    return deleted
