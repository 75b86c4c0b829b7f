"""Fetch a date range of Climkit meter data into readings, with progress on stderr.

    python manage.py backfill_climkit --from 2026-01-01 --to 2026-02-01 [--meter ID]

Dates are UTC days; --to is exclusive (its midnight). Readings already stored are not
stored again. The cursor of a meter moves only when the range starts at or before it
(so the range is contiguous with what was pulled); one call per
CLIMKIT_PULL_CHUNK_DAYS days per meter and series, at one call a second.
"""

import sys
from datetime import UTC, date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from providers import registry
from providers.climkit.pull.pull import PullResult, linked_meters, pull_range, wanted_series
from providers.errors import ProviderError


def _day(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


class Progress:
    """A text progress bar on one stderr line (a new line when not a terminal)."""

    def __init__(self, stream, total_seconds: float, label: str):
        self.stream, self.total, self.label = stream, max(total_seconds, 1.0), label
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def show(self, start: datetime, reached: datetime) -> None:
        share = min(1.0, (reached - start).total_seconds() / self.total)
        bar = "#" * int(share * 30)
        upto = reached.astimezone(UTC)  # the days given are UTC days: say so
        line = f"{self.label} [{bar:<30}] {share:4.0%} up to {upto:%Y-%m-%d %H:%M} UTC"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Fetch Climkit meter data for a date range into readings."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First day (UTC).")
        parser.add_argument("--to", dest="end", required=True, help="Day after the last.")
        parser.add_argument("--meter", help="Only this Climkit meter id.")

    def handle(self, *args, start, end, meter=None, **options):
        start, end = _day(start), _day(end)
        end = min(end, timezone.now())
        if start >= end:
            raise CommandError("--from must be before --to (and before now)")
        meters = linked_meters(meter)
        if not meters:
            raise CommandError(
                f"no device is linked to Climkit meter {meter}"
                if meter
                else "no device is linked to a Climkit meter"
            )
        client = registry.client("climkit")
        result = PullResult()
        failed = []
        stream = getattr(self.stderr, "_out", sys.stderr)
        for linked in meters:
            for kind in wanted_series(linked):
                bar = Progress(stream, (end - start).total_seconds(), f"{linked.meter_id} {kind}")
                try:
                    pull_range(
                        client, linked, kind, start, end, result=result, retries=3,
                        progress=lambda reached, bar=bar: bar.show(start, reached),
                    )  # fmt: skip
                except ProviderError as exc:
                    failed.append(f"{linked.meter_id} ({kind}): {exc}")
                finally:
                    bar.done()
        self.stdout.write(
            f"{len(meters)} meters, {result.calls} calls, {result.intervals} intervals fetched."
        )
        if failed:
            raise CommandError("failed (run again to resume): " + "; ".join(failed))
