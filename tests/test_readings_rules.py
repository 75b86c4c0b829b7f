"""The forwarding's bookkeeping without a platform: claims, waking, the sweep, parking."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from onboarding.readings import forwarding, queue, tasks
from onboarding.readings.destinations import OutboxState
from onboarding.readings.models import Forwarding, Reading

from .factories import building, device, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = Forwarding.State


def meter_with(readings: int = 0, name: str = "Meter 1"):
    meter = device(unit(building(f"Haus {name}"), "Flat 1"), name, external_id=f"X-{name}")
    now = timezone.now()
    Reading.objects.bulk_create(
        Reading(device=meter, obis="1-0:1.8.0*255", timestamp=now - timedelta(minutes=i),
                value=float(i), source="smartme")
        for i in range(readings)
    )  # fmt: skip
    return meter


def test_one_claim_wins_and_a_stale_one_is_taken_over(settings):
    settings.SYNC_CLAIM_TIMEOUT_SECONDS = 3600
    row = Forwarding.objects.create(
        device=meter_with(), destination="zaehlerfreunde", state=State.PENDING,
        not_before=timezone.now() - timedelta(seconds=5),
    )  # fmt: skip
    first, second = uuid.uuid4(), uuid.uuid4()
    assert forwarding.claim(row.pk, first) is not None
    assert forwarding.claim(row.pk, second) is None  # held, and not stale
    Forwarding.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(hours=2))
    assert forwarding.claim(row.pk, second) is not None  # its worker presumed lost
    assert Forwarding.objects.get(pk=row.pk).claim_token == second


def test_a_run_whose_claim_was_taken_over_stops(settings):
    row = Forwarding.objects.create(
        device=meter_with(), destination="zaehlerfreunde", state=State.IN_FLIGHT,
        claim_token=uuid.uuid4(), claimed_at=timezone.now(),
    )  # fmt: skip
    run = forwarding._Run(Forwarding.objects.get(pk=row.pk), uuid.uuid4())  # not our claim
    outcome = run._send_all(destination=None, device=row.device, outbox=OutboxState())
    assert outcome.state == State.IN_FLIGHT and outcome.sent == 0
    assert Forwarding.objects.get(pk=row.pk).state == State.IN_FLIGHT  # untouched


def test_wake_touches_only_idle_enabled_forwardings():
    meter = meter_with(1)
    idle = Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    busy = Forwarding.objects.create(device=meter, destination="zevvy", state=State.IN_FLIGHT)
    other = meter_with(1, "Meter 2")
    off = Forwarding.objects.create(device=other, destination="zaehlerfreunde", enabled=False)
    Forwarding.objects.filter(pk=idle.pk).update(state=State.IDLE)  # its creation woke it

    assert queue.wake([meter.pk, other.pk]) == [idle.pk]
    states = dict(Forwarding.objects.values_list("pk", "state"))
    assert states == {idle.pk: State.PENDING, busy.pk: State.IN_FLIGHT, off.pk: State.IDLE}


def test_the_sweep_wakes_an_idle_forwarding_left_behind_by_its_readings():
    meter = meter_with(3)
    row = Forwarding.objects.create(device=meter, destination="zaehlerfreunde")
    up_to_date = Forwarding.objects.create(
        device=meter_with(2, "Meter 2"), destination="zaehlerfreunde"
    )
    last = Reading.objects.filter(device=up_to_date.device).order_by("-id").first().id
    # As if the process died between the delivery's commit and its enqueue.
    Forwarding.objects.filter(pk=row.pk).update(state=State.IDLE, queued_at=None)
    Forwarding.objects.filter(pk=up_to_date.pk).update(state=State.IDLE, cursor=last)

    assert list(tasks.stranded()) == [Forwarding.objects.get(pk=row.pk)]
    tasks.sweep()
    assert Forwarding.objects.get(pk=row.pk).state == State.PENDING
    assert Forwarding.objects.get(pk=up_to_date.pk).state == State.IDLE


def test_a_platform_not_enabled_parks_its_forwardings(settings):
    settings.PROVIDERS = ["zaehlerfreunde"]
    row = Forwarding.objects.create(
        device=meter_with(2), destination="zevvy", state=State.PENDING,
        not_before=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    outcome = forwarding.run(row.pk)
    row.refresh_from_db()
    assert outcome.state == State.PENDING
    assert "not enabled" in row.last_error and row.claim_token is None
    assert row.pk not in set(tasks.due().values_list("pk", flat=True))
