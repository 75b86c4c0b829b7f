"""Push everything due in the foreground (no worker needed), then report."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from onboarding.sync import engine
from onboarding.sync.models import SyncRecord
from onboarding.sync.tasks import due_records
from providers import registry

BATCH = 500


class Command(BaseCommand):
    help = (
        "Push every due outbox row to its platform, in this process, until nothing is due "
        "or only backoffs remain. Exits 1 when any row is failed or needs attention."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=registry.enabled(), help="only this platform")

    def handle(self, *args, provider=None, **options):
        providers = [provider] if provider else registry.enabled()
        outcomes = Counter()
        while True:
            ids = list(
                due_records(also_queued=True)
                .filter(provider__in=providers)
                .values_list("pk", flat=True)[:BATCH]
            )
            progressed = False
            for record_id in ids:
                outcome = engine.run(record_id)
                if outcome is not None:
                    outcomes[outcome.state] += 1
                    progressed = True
            if not progressed:  # nothing due, or only rows another worker holds
                break
        self._report(providers, outcomes)

    def _report(self, providers, outcomes):
        self.stdout.write(
            "This run: "
            + (", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())) or "nothing due")
        )
        rows = SyncRecord.objects.filter(provider__in=providers)
        now = timezone.now()
        for name in providers:
            counts = dict(
                rows.filter(provider=name).values_list("state").annotate(n=Count("pk")).order_by()
            )
            waiting = rows.filter(provider=name, state="pending", not_before__gt=now).count()
            summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "empty"
            self.stdout.write(f"{registry.label(name)}: {summary} ({waiting} waiting to retry)")
        bad = rows.filter(state__in=[SyncRecord.State.FAILED, SyncRecord.State.NEEDS_ATTENTION])
        for row in bad.order_by("rank", "pk")[:20]:
            self.stderr.write(
                f"  {row.state}: {row.object_repr} → {row.provider}: {row.last_error}"
            )
        if bad.exists():
            raise CommandError(f"{bad.count()} rows failed or need attention")
