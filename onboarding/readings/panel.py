"""What staff see of a device's readings: latest value per OBIS code, a chart of the last
days, the forwarding per destination, and the readings still waiting for a device.

Every query is bounded, whatever a device has stored over the years: OBIS codes come
from its latest readings (the (device, id) index), each latest value and each chart
from the (device, OBIS code, timestamp) index, chart points and counts are capped.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from onboarding.models import CatalogueEntry, Device

from . import chart, units
from .models import Forwarding, Reading, UnmatchedReading

CHART_DAYS = 7
RECENT_FOR_CODES = 5000  # readings looked at to find a device's OBIS codes
CHART_POINTS_FETCHED = 20_000  # per OBIS code; beyond that the chart shows the latest
COUNT_CAP = 10_000  # "10,000+" readings waiting is all staff need to know
WAITING_DEVICES_SHOWN = 10


@dataclass
class Latest:
    obis: str
    value: float
    timestamp: datetime
    unit: str = ""
    chart: str = ""
    partial: bool = False  # the chart shows only the latest CHART_POINTS_FETCHED readings

    @property
    def shown(self) -> str:
        return units.with_unit(self.value, self.unit)

    @property
    def meaning(self) -> str:
        return units.describe(self.obis)


def obis_codes(device: Device) -> list[str]:
    recent = (Reading.objects.filter(device=device).order_by("-id").values_list("obis", flat=True))[
        :RECENT_FOR_CODES
    ]
    return sorted(set(recent))


def latest_values(device: Device, *, days: int = CHART_DAYS) -> list[Latest]:
    since = timezone.now() - timedelta(days=days)
    rows = []
    for code in obis_codes(device):
        of_code = Reading.objects.filter(device=device, obis=code)
        latest = of_code.order_by("-timestamp").values_list("value", "timestamp", "unit").first()
        if latest is None:
            continue
        points = list(
            of_code.filter(timestamp__gte=since)
            .order_by("-timestamp")
            .values_list("timestamp", "value")[:CHART_POINTS_FETCHED]
        )[::-1]
        unit = latest[2]
        rows.append(
            Latest(
                code,
                latest[0],
                latest[1],
                unit,
                chart=chart.line_chart(
                    points, label=f"{code} in {unit or 'its unit'}, last {days} days", unit=unit
                ),
                partial=len(points) == CHART_POINTS_FETCHED,
            )
        )
    return rows


def capped(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def forwardings(device: Device) -> list[dict]:
    rows = []
    for forwarding in Forwarding.objects.filter(device=device).order_by("destination"):
        waiting = Reading.objects.filter(device=device, id__gt=forwarding.cursor)[
            : COUNT_CAP + 1
        ].count()
        rows.append({"forwarding": forwarding, "waiting": capped(waiting)})
    return rows


def waiting_remote_devices(limit: int = WAITING_DEVICES_SHOWN) -> list[dict]:
    """The remote devices with the most readings waiting for a link, with their
    catalogue entry where the catalogue knows them (that is what staff link)."""
    rows = list(
        UnmatchedReading.objects.values("source", "remote_id")
        .annotate(count=Count("id"), first=Min("timestamp"), last=Max("timestamp"))
        .order_by("-count")[:limit]
    )
    entries = {
        (e.platform, e.remote_id.lower()): e
        for e in CatalogueEntry.objects.filter(
            remote_id__in={r["remote_id"] for r in rows} | {r["remote_id"].upper() for r in rows}
        )
    }
    for row in rows:
        entry = entries.get((row["source"], row["remote_id"].lower()))
        row["entry"] = entry
        row["entry_url"] = (
            reverse("admin:onboarding_catalogueentry_change", args=[entry.pk]) if entry else ""
        )
    return rows


def device_context(device: Device) -> dict:
    return {
        "device": device,
        "days": CHART_DAYS,
        "latest": latest_values(device),
        "forwardings": forwardings(device),
        "total": (total := Reading.objects.filter(device=device)[: COUNT_CAP + 1].count()),
        "total_shown": capped(total),
        "waiting_devices": waiting_remote_devices(),
        "unmatched": (unmatched := UnmatchedReading.objects.all()[: COUNT_CAP + 1].count()),
        "unmatched_shown": capped(unmatched),
    }
