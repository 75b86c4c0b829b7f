"""Unknown outcomes, reconciled in the foreground (sync_pending) against the sandbox."""

from contextlib import suppress

import pytest
from django.core.management import CommandError, call_command

from onboarding import services
from onboarding.models import SyncRecord

from .factories import building, device, tenant_with_invite, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="zaehlerfreunde")


def sync(portal):
    """One foreground run; a failed retry waits (a minute) instead of going again."""
    portal.SYNC_BACKOFF_BASE_SECONDS = 60
    with suppress(CommandError):  # exit 1 for a failed row: the tests assert the rows
        call_command("sync_pending")


def test_a_renamed_unit_is_found_as_it_was_sent_then_updated(sandbox, portal):
    home = building()
    sync(portal)
    sandbox.fault("timeout", count=1, delay=3, path="/spaces")  # created, answer lost
    flat = unit(home, "Flat 1")
    sync(portal)
    assert row_of(flat).outcome_unknown and row_of(flat).state == State.PENDING

    flat.name = "Flat 1 (attic)"  # staff change it before the retry
    services.save(flat)
    sync(portal)

    state = sandbox.state()
    assert state["counts"]["spaces"] == 2  # no second unit
    assert state["requests"]["POST /spaces"] == 2  # the building, the unit: once each
    assert state["requests"]["PUT /spaces/{spaceId}"] == 1  # the rename, as an update
    assert {s["name"] for s in state["spaces"]} == {"Lindenhof", "Flat 1 (attic)"}
    assert row_of(flat).state == State.SYNCED


def test_deleting_a_device_whose_create_went_unanswered_deletes_it_remotely(sandbox, portal):
    home = building()
    sync(portal)
    sandbox.fault("timeout", count=1, delay=3, path="/devices")
    meter = device(home, "Main meter", external_id="CH1")
    sync(portal)
    assert row_of(meter).outcome_unknown and sandbox.count("devices") == 1

    assert services.delete(meter) is False
    sync(portal)
    assert sandbox.count("devices") == 0
    assert not type(meter).objects.filter(pk=meter.pk).exists()


def test_a_unit_whose_building_never_arrived_is_deleted_without_a_call(sandbox, portal):
    home = building()
    flat = unit(home, "Flat 1")
    home.sync_records.update(state=State.FAILED)
    flat.sync_records.update(outcome_unknown=True)  # as if a worker died mid-claim
    assert services.delete(flat) is False
    sync(portal)
    assert not type(flat).objects.filter(pk=flat.pk).exists()
    assert sandbox.state()["requests"] == {}


def test_retry_while_an_invite_still_retries_on_its_own_keeps_it_careful(sandbox, portal):
    home = building()
    sync(portal)
    invite = tenant_with_invite(unit(home, "Flat 1"), "a@example.org")
    invite.sync_records.update(outcome_unknown=True, state=State.PENDING)
    services.retry([row_of(invite)])
    assert row_of(invite).outcome_unknown  # not a staff decision yet: no blind resend

    invite.sync_records.update(state=State.NEEDS_ATTENTION)
    assert services.blind_resends([row_of(invite)]) == [row_of(invite)]
    services.retry([row_of(invite)])
    assert row_of(invite).outcome_unknown  # a plain Retry looks again first

    invite.sync_records.update(state=State.NEEDS_ATTENTION)
    services.retry([row_of(invite)], resend_unknown=True)
    assert not row_of(invite).outcome_unknown  # staff confirmed sending it again


def test_a_worker_whose_claim_was_taken_over_sends_no_create(sandbox, portal):
    import uuid

    from onboarding.models import Space
    from onboarding.sync import claims, engine
    from providers import registry

    home = building()
    row = row_of(home)
    # This worker was presumed dead and another took the row: the row's claim is not ours.
    SyncRecord.objects.filter(pk=row.pk).update(state=State.IN_FLIGHT, claim_token=uuid.uuid4())
    handler = registry.handler("zaehlerfreunde", Space)
    late = engine._Attempt(row, home, handler, None, claims.Guard(SyncRecord, row.pk, uuid.uuid4()))
    late.perform()
    assert late.finish().state == State.IN_FLIGHT  # left to the worker that holds it
    assert sandbox.requests_to("POST /spaces") == 0
