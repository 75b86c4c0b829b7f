"""What one push costs the database: a query budget per push, so the round trips taken
out (the parent's remote id read with the object, one INSERT for the call without a
transaction around it, one SELECT for all of a parent's waiting dependants) stay out.
Counted against the real sandbox over HTTP, in this process (no worker needed)."""

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


def test_a_push_under_a_synced_parent_costs_five_statements(sandbox):
    home = building()
    push(home)  # also fetches the token
    flat = unit(home, "Flat 1")
    meter = device(flat, "Meter", external_id="CH-COST-1")
    invite = tenant_with_invite(flat, "ann@example.org")

    # The unit: claim, object with its parent's remote id, write-ahead, the call, the
    # outcome, its waiting device and invite (one SELECT for both), handing them over.
    statements = push(flat)
    assert len(statements) <= 7, "\n".join(statements)
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
    received = [line for line in worker.log if "sync_record[" in line and " received" in line]
    assert len(received) == 1, received  # the building's message, and nothing else
    assert sandbox.count("spaces") == 2 and sandbox.count("devices") == 1
