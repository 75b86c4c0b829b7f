"""How far a batch of outbox rows has got, per platform: synced, waiting, needs
attention, of how many, at what rate, and when it should end.

One aggregate query per look, whatever the batch's size (10,000 units are 50,000 rows):
the import page polls it every two seconds and `sync_pending --wait` draws its bars from
it. The rate is the rows synced over the last minute (or since the first of them, if the
run is younger), the estimate what is still waiting divided by it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from providers import registry

from .models import Space
from .sync.models import SyncRecord

State = SyncRecord.State
RATE_WINDOW = timedelta(seconds=60)
OPEN = (State.PENDING, State.IN_FLIGHT)
STUCK = (State.FAILED, State.NEEDS_ATTENTION)


@dataclass
class PlatformProgress:
    platform: str
    label: str
    synced: int
    waiting: int  # pending or in flight
    attention: int  # failed or needs attention: a person must look
    rate: float | None  # rows synced per second lately; None before the first
    now: datetime

    @property
    def total(self) -> int:
        return self.synced + self.waiting + self.attention

    @property
    def settled(self) -> bool:
        return self.waiting == 0

    @property
    def done(self) -> int:
        return self.synced + self.attention

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    @property
    def seconds_left(self) -> float | None:
        if self.settled:
            return 0.0
        return self.waiting / self.rate if self.rate else None

    @property
    def ends_at(self) -> datetime | None:
        left = self.seconds_left
        return None if left is None else self.now + timedelta(seconds=left)


def eta_text(p: PlatformProgress) -> str:
    """ "in about 3 minutes (14:05:10)", "done", or "not known yet" before the first row."""
    if p.settled:
        return _("done")
    left = p.seconds_left
    if left is None:
        return _("not known yet")
    at = date_format(timezone.localtime(p.ends_at), "H:i:s")
    if left < 60:
        span = ngettext("%(n)d second", "%(n)d seconds", int(left)) % {"n": int(left)}
    else:
        minutes = round(left / 60)
        span = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return _("in about %(span)s (%(at)s)") % {"span": span, "at": at}


def summary_text(p: PlatformProgress) -> str:
    """One line, as the import page's table says it (sync_pending's bars and lines)."""
    rate = _("%(rate).1f/s") % {"rate": p.rate} if p.rate else "–/s"
    end = eta_text(p) if p.settled else _("ends %(eta)s") % {"eta": eta_text(p)}
    return _(
        "synced %(synced)d · waiting %(waiting)d · needs attention %(attention)d of "
        "%(total)d · %(rate)s · %(end)s"
    ) % {
        "synced": p.synced,
        "waiting": p.waiting,
        "attention": p.attention,
        "total": p.total,
        "rate": rate,
        "end": end,
    }


def measure(rows: QuerySet, now: datetime | None = None) -> dict[str, PlatformProgress]:
    """{platform: its progress} over `rows` (a SyncRecord queryset), in one query."""
    now = now or timezone.now()
    since = now - RATE_WINDOW
    recent = Q(state=State.SYNCED, last_synced_at__gte=since)
    found = (
        rows.values("provider")
        .annotate(
            synced=Count("pk", filter=Q(state=State.SYNCED)),
            waiting=Count("pk", filter=Q(state__in=OPEN)),
            attention=Count("pk", filter=Q(state__in=STUCK)),
            recent=Count("pk", filter=recent),
            first_recent=Min("last_synced_at", filter=recent),
        )
        .order_by()
    )
    result = {}
    for row in found:
        result[row["provider"]] = PlatformProgress(
            platform=row["provider"],
            label=registry.label(row["provider"]),
            synced=row["synced"],
            waiting=row["waiting"],
            attention=row["attention"],
            rate=_rate(row["recent"], row["first_recent"], now),
            now=now,
        )
    order = {name: i for i, name in enumerate(registry.enabled())}
    return dict(sorted(result.items(), key=lambda item: order.get(item[0], len(order))))


def _rate(recent: int, first: datetime | None, now: datetime) -> float | None:
    if not recent or first is None:
        return None
    span = max((now - first).total_seconds(), 1.0)
    return recent / min(span, RATE_WINDOW.total_seconds())


def import_rows(building_names: list[str]) -> QuerySet:
    """The outbox rows of everything an import brought: its buildings, their units and
    what lives in the units (devices, tenants, invites, meters, vehicles, resources),
    as subqueries the database resolves (no list of ids travels)."""
    from .views.status import unit_children  # what lives in a unit, and its path there

    buildings = Space.objects.filter(parent__isnull=True, name__in=building_names)
    spaces = Space.objects.filter(Q(pk__in=buildings) | Q(parent__in=buildings))
    units = Space.objects.filter(parent__in=buildings)
    space_type = ContentType.objects.get_for_model(Space)
    scope = Q(content_type=space_type, object_id__in=spaces.values("pk"))
    for model, path in unit_children():
        held = model._default_manager.filter(**{f"{path}__in": units.values("pk")})
        scope |= Q(
            content_type=ContentType.objects.get_for_model(model), object_id__in=held.values("pk")
        )
    return SyncRecord.objects.filter(scope, provider__in=registry.enabled())


class RunProgress:
    """What one run has done (`sync_pending --wait`): the rows still open now, plus those
    synced or stuck since it started (counted against what was there before)."""

    def __init__(self, rows: QuerySet):
        self.rows = rows
        self.before = measure(rows)

    def now(self) -> dict[str, PlatformProgress]:
        current = measure(self.rows)
        for name, progress in current.items():
            start = self.before.get(name)
            if start is not None:
                progress.synced = max(0, progress.synced - start.synced)
                progress.attention = max(0, progress.attention - start.attention)
        return {name: p for name, p in current.items() if p.total}
