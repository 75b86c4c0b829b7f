"""Gauges read from the database when Prometheus scrapes: the same numbers whichever
process serves /metrics, and nothing for workers to keep up to date.

A handful of aggregate queries per scrape (rows by platform and state, the oldest due
row per platform, forwardings by state and their lag), each on an index the engines
already use.
"""

from django.db.models import Count, Min, OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from providers import registry

from . import heartbeats


def pushed_to() -> list[str]:
    """Enabled platforms the outbox pushes to (smart-me and Climkit are only read)."""
    return [name for name in registry.enabled() if registry.handlers(name)]


class DatabaseCollector:
    """prometheus_client custom collector: every gauge computed at collect time."""

    def describe(self):
        return []  # computed per scrape; nothing to check at registration

    def collect(self):
        now = timezone.now()
        yield from self._outbox(now)
        yield from self._connections()
        yield from self._forwarding(now)
        yield from self._heartbeats(now)
        yield from self._budgets()
        yield from self._drift()

    # --- the outbox -----------------------------------------------------------------------
    def _outbox(self, now):
        from onboarding.sync.models import SyncRecord

        rows = GaugeMetricFamily(
            "portal_outbox_rows",
            "Outbox rows, by platform and state.",
            labels=["platform", "state"],
        )
        counts = SyncRecord.objects.values_list("provider", "state").annotate(n=Count("pk"))
        seen = set()
        for platform, state, n in counts.order_by():
            rows.add_metric([platform, state], n)
            seen.add((platform, state))
        for platform in pushed_to():  # a zero is a sample too: alerts need it
            for state in SyncRecord.State.values:
                if (platform, state) not in seen:
                    rows.add_metric([platform, state], 0)
        yield rows

        oldest = GaugeMetricFamily(
            "portal_outbox_oldest_due_seconds",
            "Age of the oldest row that is due (pending, its not_before passed) and not "
            "pushed yet, by platform; 0 when none is due.",
            labels=["platform"],
        )
        # A new row is made due ten minutes early (outbox.DUE_AT_ONCE_MARGIN): it has
        # been due since it was created, whichever of the two is later.
        due = (
            SyncRecord.objects.filter(state=SyncRecord.State.PENDING, not_before__lte=now)
            .values("provider")
            .annotate(since=Min(Greatest("not_before", "created_at")))
            .order_by()
        )
        found = {row["provider"]: row["since"] for row in due}
        for platform in sorted(set(pushed_to()) | set(found)):
            since = found.get(platform)
            oldest.add_metric([platform], max(0.0, (now - since).total_seconds()) if since else 0)
        yield oldest

    def _connections(self):
        from onboarding.sync.models import ProviderConnection

        connected = GaugeMetricFamily(
            "portal_platform_connected",
            "1 while the portal may call the platform, 0 once it refused our credentials "
            "(`manage.py check_providers` reconnects).",
            labels=["platform"],
        )
        down = set(
            ProviderConnection.objects.filter(
                status=ProviderConnection.Status.DISCONNECTED
            ).values_list("provider", flat=True)
        )
        for platform in registry.enabled():
            connected.add_metric([platform], 0 if platform in down else 1)
        yield connected

    # --- readings -------------------------------------------------------------------------
    def _forwarding(self, now):
        from onboarding.readings.models import Destination, Forwarding, Reading

        states = GaugeMetricFamily(
            "portal_readings_forwardings",
            "Readings forwardings (device → destination), by destination and state.",
            labels=["destination", "state"],
        )
        counts = Forwarding.objects.values_list("destination", "state").annotate(n=Count("pk"))
        for destination, state, n in counts.order_by():
            states.add_metric([destination, state], n)
        yield states

        lag = GaugeMetricFamily(
            "portal_readings_forwarding_lag_seconds",
            "Per destination, how long ago the oldest reading not yet accepted there was "
            "received; 0 when every forwarding is up to date.",
            labels=["destination"],
        )
        first_waiting = Reading.objects.filter(
            device_id=OuterRef("device_id"), pk__gt=OuterRef("cursor")
        ).order_by("pk")
        waiting = (
            Forwarding.objects.filter(enabled=True)
            .exclude(state=Forwarding.State.IDLE)
            .annotate(since=Subquery(first_waiting.values("received_at")[:1]))
            .values("destination")
            .annotate(oldest=Min("since"))
            .order_by()
        )
        found = {row["destination"]: row["oldest"] for row in waiting}
        for destination in sorted(set(Destination.values) | set(found)):
            since = found.get(destination)
            lag.add_metric([destination], max(0.0, (now - since).total_seconds()) if since else 0)
        yield lag

    # --- beat, budgets, reconcile ---------------------------------------------------------
    def _heartbeats(self, now):
        sweep = GaugeMetricFamily(
            "portal_beat_last_sweep_age_seconds",
            "Seconds since beat's last outbox sweep (absent until it first swept).",
        )
        beat = heartbeats.latest().get(heartbeats.SWEEP)
        if beat is not None:
            sweep.add_metric([], max(0.0, (now - beat.at).total_seconds()))
        yield sweep

    def _budgets(self):
        capacity = GaugeMetricFamily(
            "portal_rate_budget_capacity_per_second",
            "Requests per second a shared budget admits (Climkit: 1): divide "
            "rate(portal_rate_budget_admissions_total) by it for the budget's use.",
            labels=["budget"],
        )
        for platform in registry.enabled():
            budget = getattr(registry.sync_module(platform), "budget", None)
            if budget is not None:
                spec = budget().spec
                capacity.add_metric([spec.name], spec.requests / spec.per_seconds)
        yield capacity

    def _drift(self):
        from onboarding.sync.reconcile.models import Drift

        drift = GaugeMetricFamily(
            "portal_reconcile_drift",
            "What reconcile found a platform holding otherwise than we do and nobody has "
            "settled yet, by platform and kind (missing, extra, different).",
            labels=["platform", "kind"],
        )
        open_drift = (
            Drift.objects.filter(resolved_at__isnull=True)
            .exclude(fix__in=Drift.SETTLED_BY_PERSON)
            .values_list("provider", "kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
        found = {(platform, kind): n for platform, kind, n in open_drift}
        for platform in pushed_to():
            for kind in Drift.Kind.values:
                found.setdefault((platform, kind), 0)
        for (platform, kind), n in sorted(found.items()):
            drift.add_metric([platform, kind], n)
        yield drift
