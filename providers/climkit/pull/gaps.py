"""Missing 15-minute intervals of a device's readings, for staff to see (and backfill).

Climkit's raw indices come at the end of each 15-minute period: a device pulled from
Climkit should have a reading at every quarter hour of an OBIS code it reports. A gap is
a run of quarter hours without one, between the first reading in the window and the
cursor's end (what has been pulled), or now.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Gap:
    after: datetime  # the last reading before the gap
    before: datetime  # the first reading after it (or the window's end)

    @property
    def missing(self) -> int:
        return int((self.before - self.after) / STEP) - 1


def missing_intervals(device, *, days: float = 7, obis: str | None = None) -> list[Gap]:
    """The gaps in `device`'s readings of `obis` over the last `days` days; without
    `obis`, of the code its latest reading has (an electricity, heat or water index)."""
    from onboarding.readings.models import Reading

    since = timezone.now() - timedelta(days=days)
    if obis is None:
        latest = Reading.objects.filter(device=device).order_by("-timestamp").first()
        if latest is None:
            return []
        obis = latest.obis
    stamps = list(
        Reading.objects.filter(device=device, obis=obis, timestamp__gte=since)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
    )
    gaps = [Gap(a, b) for a, b in zip(stamps, stamps[1:], strict=False) if b - a > STEP]
    return gaps


def describe(gaps: list[Gap]) -> str:
    if not gaps:
        return "No missing 15-minute intervals."
    total = sum(g.missing for g in gaps)
    return f"{total} missing 15-minute intervals in {len(gaps)} gaps."
