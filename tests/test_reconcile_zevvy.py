"""`manage.py reconcile zevvy` against the zevvy sandbox, with a real worker: a device
deleted, one made again by hand under another id, one renamed, all behind the portal's
back; the person's own devices on the account are none of our business."""

from collections import Counter

import pytest

from onboarding.models import SyncRecord
from providers import registry

from .conftest import wait_until
from .factories import building, device, unit
from .reconcile_helpers import reconcile
from .test_sync_zevvy import connected, zevvy  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.platforms("zevvy"),
]
State = SyncRecord.State


def all_synced():
    rows = SyncRecord.objects.filter(provider="zevvy")
    return rows.exists() and all(r.state == State.SYNCED for r in rows)


def remote_id(obj) -> str:
    return obj.sync_records.get(provider="zevvy").remote_id


def test_deleted_remade_and_renamed_devices_are_named_fixed_and_gone(
    connected,  # noqa: F811
    worker,
    capsys,
):
    flat = unit(building(), "Flat 1")
    heat, water, power = (
        device(flat, name, external_id=f"CH{i}")
        for i, name in enumerate(["Heat", "Water", "Power"])
    )
    wait_until(all_synced, timeout=30, message="three devices synced")
    platform = registry.client("zevvy")  # zevvy's API itself, not the portal's outbox
    platform.delete_device(remote_id(heat))
    platform.delete_device(remote_id(water))
    remade = platform.create_device("Water (restored)", f"portal-device-{water.pk}")
    platform.update_device(remote_id(power), "Power (renamed)", f"portal-device-{power.pk}")
    platform.create_device("The tenant's own heat pump")  # no reference of ours

    code, said = reconcile("zevvy", capsys=capsys)
    assert code == 1
    assert f"missing there: {heat}" in said
    assert (
        f"extra there: Water (restored) ({remade['id']}) (device; carries our key for {water}"
        in (said)
    )
    assert f"missing there: {water}" not in said  # found again, under another id
    assert "name: ours 'Power', theirs 'Power (renamed)'" in said  # renamed by hand
    assert "own heat pump" not in said

    code, said = reconcile("zevvy", "--fix", capsys=capsys)
    assert code == 1
    wait_until(all_synced, timeout=30, message="fixes pushed by the worker")
    code, said = reconcile("zevvy", capsys=capsys)
    assert code == 0, said

    devices = connected.state()["devices"]
    references = Counter(d["reference"] for d in devices)
    assert references == Counter(
        [f"portal-device-{heat.pk}", f"portal-device-{water.pk}", f"portal-device-{power.pk}", None]
    )
    assert remote_id(water) == remade["id"]  # adopted, not made a third time
    names = {d["reference"]: d["name"] for d in devices}
    assert names[f"portal-device-{water.pk}"] == "Water"
    assert names[f"portal-device-{power.pk}"] == "Power"
