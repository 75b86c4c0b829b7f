"""The service layer: what is marked for sync, and what may be deleted."""

import pytest

from onboarding import services
from onboarding.models import Space, SyncRecord

from .factories import building, tenant_with_invite, unit

pytestmark = pytest.mark.django_db
State = SyncRecord.State


def settle(*objs, remote_id="remote-1"):
    """As if the platform had them: synced rows with a remote id."""
    for obj in objs:
        obj.sync_records.update(state=State.SYNCED, remote_id=f"{remote_id}-{obj.pk}")


def test_a_building_address_change_marks_its_units_too():
    home = building()
    flats = [unit(home, "Flat 1"), unit(home, "Flat 2")]
    settle(home, *flats)

    home.name = "Lindenhof Nord"  # not the address: units' payloads do not change
    services.save(home)
    assert [f.sync_records.get().state for f in flats] == [State.SYNCED, State.SYNCED]

    home.city = "Winterthur"
    services.save(home)
    assert [f.sync_records.get().state for f in flats] == [State.PENDING, State.PENDING]


def test_a_unit_inside_a_unit_is_refused():
    home = building()
    flat = unit(home, "Flat 1")
    with pytest.raises(Exception, match="cannot contain another unit"):
        unit(flat, "Room")


def test_deleting_what_no_platform_has_is_immediate():
    home = building()
    assert services.delete(home) is True
    assert not Space.objects.exists()
    assert not SyncRecord.objects.exists()


def test_deleting_a_building_deletes_what_it_holds_remotely_first():
    home = building()
    flat, empty = unit(home, "Flat 1"), unit(home, "Flat 2")
    settle(flat)  # the unit reached the platform, the building's row did not settle
    assert services.delete(home) is False  # waits for the platform
    row = flat.sync_records.get()
    assert (row.operation, row.state) == (SyncRecord.Operation.DELETE, State.PENDING)
    # What never reached a platform has nothing to undo there; all wait to go together.
    assert not home.sync_records.exists() and not empty.sync_records.exists()
    assert Space.objects.filter(deletion_requested_at__isnull=False).count() == 3


def test_deleting_a_synced_invite_asks_the_platform_to_end_the_access():
    home = building()
    invite = tenant_with_invite(unit(home, "Flat 1"), "a@example.org")
    settle(invite)
    assert services.delete(invite) is False  # was refused: the invite link stayed live
    row = invite.sync_records.get()
    assert (row.operation, row.state) == (SyncRecord.Operation.DELETE, State.PENDING)


def test_deleting_a_tenant_ends_their_invites_too():
    home = building()
    invite = tenant_with_invite(unit(home, "Flat 1"), "a@example.org")
    settle(invite, invite.tenant)
    assert services.delete(invite.tenant) is False
    row = invite.sync_records.get()
    assert (row.operation, row.state) == (SyncRecord.Operation.DELETE, State.PENDING)


def test_deleting_a_tenant_whose_invite_never_left_deletes_it_at_once():
    home = building()
    invite = tenant_with_invite(unit(home, "Flat 1"), "a@example.org")
    assert services.delete(invite.tenant) is True
    assert not type(invite).objects.exists()


def test_deleting_a_synced_unit_waits_for_the_platform():
    home = building()
    flat = unit(home, "Flat 1")
    settle(home, flat)
    assert services.delete(flat) is False
    row = flat.sync_records.get()
    assert (row.operation, row.state) == (SyncRecord.Operation.DELETE, State.PENDING)
    flat.refresh_from_db()
    assert flat.deletion_requested_at is not None
    with pytest.raises(ValueError, match="being deleted"):
        services.save(flat)


def test_retry_only_touches_rows_that_need_it():
    home = building()
    flat = unit(home, "Flat 1")
    settle(home)
    flat.sync_records.update(state=State.FAILED, last_error="City: required", attempts=0)
    assert services.retry(list(SyncRecord.objects.all())) == 1
    assert home.sync_records.get().state == State.SYNCED
    row = flat.sync_records.get()
    assert (row.state, row.last_error) == (State.PENDING, "")
