"""Push everything due in the foreground (no worker needed), then report.

Without --wait it stops when nothing is due now and lists what waits (a backoff, a
parent) and when it goes next. With --wait it sleeps through the backoffs until every row
is synced, failed or needs attention, or the time is up (exit 2).
"""

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Min
from django.utils import timezone

from onboarding.management.progress_bar import RunDisplay
from onboarding.sync import engine
from onboarding.sync.models import ProviderConnection, SyncRecord
from onboarding.sync.tasks import due_records
from onboarding.sync_display import iso, next_try, state_label
from providers import coverage, registry

BATCH = 500
DEFAULT_WAIT_SECONDS = 600.0
# While waiting, look again at least this often: a row claimed by a worker, or handed
# over by its parent's sync, may become due before the earliest known backoff ends.
POLL_SECONDS = 1.0
SHOWN = 20  # rows listed by name; the rest are counted
State = SyncRecord.State
OPEN = (State.PENDING, State.IN_FLIGHT)


def _name(row: SyncRecord) -> str:
    target = row.target  # the live name: object_repr is the name when it was queued
    return str(target) if target is not None else row.object_repr


class Command(BaseCommand):
    help = (
        "Push every due outbox row to its platform, in this process. Without --wait it "
        "stops when only backoffs remain and lists what waits and when it goes next; with "
        "--wait [SECONDS] (default 600) it waits them out until every row is synced, "
        "failed or needs attention. Exits 1 when any row is failed or needs attention, "
        "2 when --wait ran out of time with rows still waiting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=registry.enabled(), help="only this platform")
        parser.add_argument(
            "--wait",
            nargs="?",
            type=float,
            const=DEFAULT_WAIT_SECONDS,
            default=None,
            metavar="SECONDS",
            help=f"wait out backoffs for up to SECONDS (default {DEFAULT_WAIT_SECONDS:g})",
        )

    def handle(self, *args, provider=None, wait=None, **options):
        if wait is not None and wait < 0:
            raise CommandError("--wait takes a number of seconds, 0 or more.")
        self.providers = [provider] if provider else registry.enabled()
        deadline = None if wait is None else time.monotonic() + wait
        outcomes = Counter()
        # With --wait: per platform, how far it has got (bars on a terminal, else lines).
        self.display = None if wait is None else RunDisplay(self._all_rows(), self.stderr)
        try:
            self._push_and_wait(outcomes, deadline)
        finally:
            if self.display is not None:
                self.display.close()
        self._report(outcomes)
        bad = self._list_bad()
        still_open = self._open_rows().count() if wait is not None else 0
        if still_open:
            # Time is up (or only a disconnected platform's rows are left): the run is not
            # complete, which matters more than how the finished rows ended.
            raise CommandError(
                f"{still_open} rows still waiting after {wait:g} s (listed above).",
                returncode=2,
            )
        if bad:
            raise CommandError(f"{bad} rows failed or need attention")

    def _push_and_wait(self, outcomes: Counter, deadline: float | None) -> None:
        while True:
            self._push_due(outcomes)
            if deadline is None:
                break
            open_rows = self._open_rows()
            if not open_rows.exists():
                break
            if self._only_disconnected(open_rows):
                break  # nothing will move until check_providers reconnects
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._tick()
            time.sleep(min(left, POLL_SECONDS, self._until_next(open_rows)))

    def _tick(self) -> None:
        if self.display is not None:
            self.display.tick()

    def _all_rows(self):
        return SyncRecord.objects.filter(provider__in=self.providers)

    # --- pushing ------------------------------------------------------------------------
    def _push_due(self, outcomes: Counter) -> None:
        """Everything due now, over and over, until a pass gets nothing done."""
        while True:
            ids = list(
                due_records(also_queued=True)
                .filter(provider__in=self.providers)
                .values_list("pk", flat=True)[:BATCH]
            )
            progressed = False
            for record_id in ids:
                outcome = engine.run(record_id)
                if outcome is not None:
                    outcomes[outcome.state] += 1
                    progressed = True
                self._tick()
            if not progressed:  # nothing due, or only rows another worker holds
                return

    def _open_rows(self):
        return SyncRecord.objects.filter(provider__in=self.providers, state__in=OPEN)

    def _disconnected(self) -> set[str]:
        return set(
            ProviderConnection.objects.filter(
                provider__in=self.providers, status=ProviderConnection.Status.DISCONNECTED
            ).values_list("provider", flat=True)
        )

    def _only_disconnected(self, open_rows) -> bool:
        disconnected = self._disconnected()
        return bool(disconnected) and not open_rows.exclude(provider__in=disconnected).exists()

    def _until_next(self, open_rows) -> float:
        """Seconds until the earliest backoff ends (rows held by a worker, or waiting for
        a parent, are looked at again every POLL_SECONDS)."""
        now = timezone.now()
        earliest = open_rows.filter(state=State.PENDING, not_before__gt=now).aggregate(
            at=Min("not_before")
        )["at"]
        if earliest is None:
            return POLL_SECONDS
        return max(0.05, (earliest - now).total_seconds())

    # --- reporting ----------------------------------------------------------------------
    def _report(self, outcomes: Counter) -> None:
        self.stdout.write(
            "This run: "
            + (", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())) or "nothing due")
        )
        rows = SyncRecord.objects.filter(provider__in=self.providers)
        now = timezone.now()
        for name in self.providers:
            counts = dict(
                rows.filter(provider=name).values_list("state").annotate(n=Count("pk")).order_by()
            )
            waiting = rows.filter(provider=name, state=State.PENDING, not_before__gt=now).count()
            summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "empty"
            self.stdout.write(f"{coverage.label(name)}: {summary} ({waiting} waiting to retry)")
        self._list_waiting(now)

    def _list_waiting(self, now) -> None:
        """Which rows are still open, and when each goes next."""
        open_rows = self._open_rows().select_related("content_type").prefetch_related("target")
        total = open_rows.count()
        if not total:
            return
        disconnected = self._disconnected()
        self.stdout.write(f"Still waiting ({total}):")
        for row in open_rows.order_by("not_before", "rank", "pk")[:SHOWN]:
            if row.provider in disconnected:
                when = "when check_providers reconnects the platform"
            elif row.state == State.IN_FLIGHT:
                when = f"in flight since {iso(row.claimed_at)}"
            else:
                retry = next_try(row, now)
                when = "due now" if retry == "due now" else f"next try {retry}"
                when += f" ({iso(row.not_before)})"
            reason = f": {row.last_error}" if row.last_error else ""
            self.stdout.write(
                f"  {state_label(row)}: {_name(row)} → {coverage.label(row.provider)}, "
                f"{when}{reason}"
            )
        if total > SHOWN:
            self.stdout.write(f"  … and {total - SHOWN} more")

    def _list_bad(self) -> int:
        """List the failed and stuck rows on stderr; return how many there are."""
        bad = SyncRecord.objects.filter(
            provider__in=self.providers, state__in=[State.FAILED, State.NEEDS_ATTENTION]
        )
        shown = bad.select_related("content_type").prefetch_related("target")
        for row in shown.order_by("rank", "pk")[:SHOWN]:
            self.stderr.write(f"  {row.state}: {_name(row)} → {row.provider}: {row.last_error}")
        return bad.count()
