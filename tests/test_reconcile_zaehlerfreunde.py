"""`manage.py reconcile` against the Zählerfreunde sandbox: objects deleted and renamed
behind the portal's back (with the platform's own API, as a partner's staff would) are
named, mended through the outbox, and a second comparison finds nothing."""

import pytest

from onboarding.models import Device, Drift, Invite, Space, SyncRecord
from providers.zaehlerfreunde.client import ZaehlerfreundeClient

from .factories import building_with_units
from .reconcile_helpers import reconcile, sync, zaehlerfreunde_by_hand

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


def remote_id(obj) -> str:
    return obj.sync_records.get(provider="zaehlerfreunde").remote_id


def test_deleted_flat_deleted_device_and_renamed_space_are_named_fixed_and_gone(
    sandbox, portal, live_server, capsys
):
    building_with_units(3)
    sync(portal)
    flat1, flat2, flat3 = Space.objects.filter(parent__isnull=False).order_by("name")
    meter1 = Device.objects.get(space=flat1)
    meter2 = Device.objects.get(space=flat2)
    platform = zaehlerfreunde_by_hand(live_server)
    platform.delete_space(remote_id(flat2))  # takes its device and invite with it
    platform.delete_device(remote_id(meter1))
    platform.update_space(remote_id(flat3), {"name": "Flat 3 (renamed by hand)"})

    code, said = reconcile("zaehlerfreunde", capsys=capsys)
    assert code == 1
    assert f"missing there: {flat2}" in said
    assert f"missing there: {meter1}" in said
    assert f"missing there: {meter2}" in said and "its space is missing there too" in said
    assert f"different: {flat3}" in said
    assert "name: ours 'Flat 3', theirs 'Flat 3 (renamed by hand)'" in said
    assert "not compared: invites: Zählerfreunde cannot list invites" in said
    # Read only: the rows say what the platform holds, nothing was sent.
    assert flat2.sync_records.get().state == State.NEEDS_ATTENTION
    assert flat2.sync_records.get().remote_state == "missing"
    assert flat3.sync_records.get().remote_state == "differs"
    assert sandbox.requests_to("POST /spaces") == 4

    code, said = reconcile("zaehlerfreunde", "--fix", capsys=capsys)
    assert code == 1  # it differed; the fixes go through the outbox
    assert f"fix: re-created (with what hangs under it): {flat2}" in said
    sync(portal)

    code, said = reconcile("zaehlerfreunde", capsys=capsys)
    assert code == 0, said
    state = sandbox.state()
    assert state["counts"]["spaces"] == 4 and state["counts"]["devices"] == 3
    assert sorted(s["name"] for s in state["spaces"]) == ["Flat 1", "Flat 2", "Flat 3", "Lindenhof"]
    back = next(s for s in state["spaces"] if s["name"] == "Flat 2")
    assert back["id"] == remote_id(flat2)
    assert [d["spaceIds"] for d in state["devices"] if d["id"] == remote_id(meter2)] == [
        [back["id"]]
    ]
    # Its invite is back too (the old one went with the old space): one per flat.
    assert sorted(i["userEmail"] for i in state["invites"]) == [
        "tenant1@example.org",
        "tenant2@example.org",
        "tenant3@example.org",
    ]
    assert [i["spaceId"] for i in state["invites"] if i["userEmail"] == "tenant2@example.org"] == [
        back["id"]
    ]
    assert Invite.objects.get(space=flat2).sync_records.get().state == State.SYNCED
    assert all(r.state == State.SYNCED and not r.remote_state for r in SyncRecord.objects.all())
    # Every drift was seen going away, with what fixed it.
    assert not Drift.objects.filter(resolved_at=None).exists()
    assert set(Drift.objects.values_list("fix", flat=True)) == {"recreate", "push"}


def test_an_optional_field_a_strict_platform_leaves_out_is_no_difference(loopback):
    """The spec's Device requires no external ids: a platform that lists none says
    nothing about ours (it is not "empty there", so nothing is pushed for ever)."""
    import json

    from onboarding.sync.reconcile.compare import Ours, _differences
    from providers import registry
    from tests.loopback import Answer

    device = {
        "id": "d1", "name": "Meter 1", "status": "CONNECTED", "deviceType": "SMART_METER",
        "isMainDevice": True, "medium": "ELECTRICITY", "metaData": [],
    }  # fmt: skip
    loopback.answer(
        Answer(200, json.dumps({"accessToken": "t"}), {"Content-Type": "application/json"}),
        Answer(
            200,
            json.dumps({"devices": [device], "totalNumPages": 1}),
            {"Content-Type": "application/json"},
        ),
    )
    handler = registry.handler("zaehlerfreunde", Device)
    (remote,) = handler.list_remote(ZaehlerfreundeClient(loopback.url, "id", "secret"), ["s1"])
    ours = {
        "deviceName": "Meter 1", "isMainDevice": True, "deviceType": "SMART_METER",
        "deviceMedium": "ELECTRICITY", "externalDeviceId": "CH1",
    }  # fmt: skip
    assert "externalDeviceId" not in remote.fields
    assert _differences(handler, Ours(None, None, ours, "s1"), remote, per_parent=True) == []
    remote.fields["externalDeviceId"] = None  # listed, and empty: that is a difference
    assert [
        d.key for d in _differences(handler, Ours(None, None, ours, "s1"), remote, per_parent=True)
    ] == ["externalDeviceId"]
