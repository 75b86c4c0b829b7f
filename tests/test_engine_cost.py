"""What one push costs the database: a query budget per push, so the round trips taken
out (the parent's remote id read with the object, one INSERT for the call without a
transaction around it, one UPDATE … RETURNING for all of a parent's waiting dependants,
a message's rows claimed and read together) stay out. Counted against the real sandbox
over HTTP, in this process (no worker needed)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from onboarding.models import SyncRecord
from onboarding.sync import engine

from .conftest import wait_until
from .factories import building, device, tenant_with_invite, unit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.platforms("zaehlerfreunde")]


def push(obj) -> list[str]:
    row = obj.sync_records.get(provider="zaehlerfreunde")
    with CaptureQueriesContext(connection) as captured:
        outcome = engine.run(row.pk)
    assert outcome is not None and outcome.state == SyncRecord.State.SYNCED
    return [q["sql"] for q in captured]


def test_a_push_under_a_synced_parent_costs_five_or_six_statements(sandbox):
    home = building()
    push(home)  # also fetches the token
    flat = unit(home, "Flat 1")
    meter = device(flat, "Meter", external_id="CH-COST-1")
    invite = tenant_with_invite(flat, "ann@example.org")

    # The unit: claim, object with its parent's remote id, write-ahead, the call, the
    # outcome, handing over its waiting device and invite (one UPDATE … RETURNING).
    statements = push(flat)
    assert len(statements) <= 6, "\n".join(statements)
    assert not any(sql in ("BEGIN", "COMMIT") for sql in statements)

    # The device: claim, object with its parent's remote id, write-ahead, call, outcome.
    statements = push(meter)
    assert len(statements) <= 5, "\n".join(statements)
    assert sandbox.requests_to("POST /spaces/{spaceId}/devices") == 1
    assert len(push(invite)) <= 6  # and the invite's link kept on the invite


def test_a_units_device_and_invite_go_in_the_same_task_as_the_unit(sandbox, worker):
    # A building with one unit: the building hands over its unit, the unit its device and
    # invite; so few follow-ups are pushed by the task that made them ready, not by a
    # message each (a message costs more than the push: publish, deliver, trace, ack).
    home = building("One task block")
    flat = unit(home, "Flat 1")
    device(flat, "Meter", external_id="CH-COST-2")
    tenant_with_invite(flat, "ben@example.org")
    rows = SyncRecord.objects.filter(provider="zaehlerfreunde")
    wait_until(lambda: rows.filter(state=SyncRecord.State.SYNCED).count() == 4)
    received = [line for line in worker.log if "sync_records[" in line and " received" in line]
    assert len(received) == 1, received  # the building's message, and nothing else
    assert sandbox.count("spaces") == 2 and sandbox.count("devices") == 1


def test_many_rows_share_a_message_and_a_few_go_one_a_message():
    from onboarding.sync.outbox import rows_per_message

    # A wizard's save: side by side, one a message.
    assert [rows_per_message(n) for n in (1, 3, 64, 127)] == [1, 1, 1, 1]
    # An import or a sweep: several a message, still at least 64 messages to share out.
    assert [rows_per_message(n) for n in (128, 640, 10_000)] == [2, 10, 10]


def test_a_buildings_many_units_go_several_to_a_message_each_pushed_once(sandbox, start_worker):
    home = building("Many units")
    flats = [unit(home, f"Flat {i}") for i in range(1, 131)]  # waiting for their building
    worker = start_worker()
    rows = SyncRecord.objects.filter(provider="zaehlerfreunde")
    wait_until(lambda: rows.filter(state=SyncRecord.State.SYNCED).count() == 131, timeout=60)
    received = [line for line in worker.log if "sync_records[" in line and " received" in line]
    # The building's message, then its 130 units two to a message (130 // 64).
    assert len(received) == 1 + 65, len(received)
    assert sandbox.count("spaces") == 131
    assert sandbox.requests_to("POST /spaces") == 131
    assert all(row_remote_id(flat) for flat in flats)


def row_remote_id(obj) -> str:
    return obj.sync_records.get(provider="zaehlerfreunde").remote_id


def test_a_messages_rows_are_claimed_in_one_statement_and_read_in_one_query(sandbox):
    from onboarding.sync import tasks

    home = building("Claimed together")
    push(home)
    flats = [unit(home, f"Flat {i}") for i in range(1, 11)]
    ids = [flat.sync_records.get(provider="zaehlerfreunde").pk for flat in flats]
    held_elsewhere = SyncRecord.objects.filter(pk=ids[3])
    assert engine.claim(ids[3], engine.uuid.uuid4()) is not None  # another worker has it

    with CaptureQueriesContext(connection) as captured:
        tasks._push(ids)
    statements = [q["sql"] for q in captured]

    claims = [sql for sql in statements if "SET state = 'in_flight'" in sql]
    reads = [sql for sql in statements if sql.startswith('SELECT "onboarding_space"')]
    assert len(claims) == 1 and len(reads) == 1, "\n".join(statements)
    # Nine pushed, once each; the one another worker holds is left to it.
    assert sandbox.requests_to("POST /spaces") == 1 + 9
    assert held_elsewhere.get().state == SyncRecord.State.IN_FLIGHT
    synced = SyncRecord.objects.filter(pk__in=ids, state=SyncRecord.State.SYNCED)
    assert sorted(synced.values_list("pk", flat=True)) == sorted(set(ids) - {ids[3]})


def test_a_row_that_waited_for_its_message_renews_an_old_claim_before_it_sends(sandbox):
    from onboarding.services import save

    home = building("Waited long")
    push(home)
    home.name = "Waited long, renamed"
    save(home)  # an update: no write-ahead, so only the guard renews the claim
    row = home.sync_records.get(provider="zaehlerfreunde")
    [held] = engine.claim_rows([row.pk])
    # The rows before it in its message took longer than a quarter of the claim timeout.
    held.at -= engine.settings.SYNC_CLAIM_TIMEOUT_SECONDS / 2
    with CaptureQueriesContext(connection) as captured:
        outcome = engine.push(held)
    assert outcome.state == SyncRecord.State.SYNCED
    renewals = [q["sql"] for q in captured if q["sql"].startswith('UPDATE') and
                '"claimed_at" = ' in q["sql"] and '"state"' not in q["sql"]]  # fmt: skip
    assert len(renewals) == 1, "\n".join(q["sql"] for q in captured)
    assert sandbox.requests_to("PUT /spaces/{spaceId}") == 1


def test_a_unit_in_its_buildings_message_goes_right_after_it(sandbox):
    from onboarding.sync import tasks

    # Both rows claimed and read together: the unit was read before its building had a
    # remote id, so it looks once more rather than waiting for the sweep.
    home = building("Same message")
    flat = unit(home, "Flat 1")
    ids = [obj.sync_records.get(provider="zaehlerfreunde").pk for obj in (home, flat)]
    tasks._push(ids)
    assert row_remote_id(home) and row_remote_id(flat)
    assert sandbox.requests_to("POST /spaces") == 2
