"""The outbox against the Zählerfreunde sandbox: real HTTP, real database, a real
Celery worker process. "Exactly once" is always asked of the sandbox itself."""

import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from onboarding import services
from onboarding.models import ApiCall, Invite, Space, SyncRecord
from onboarding.sync import tasks

from .conftest import ROOT, wait_until
from .factories import building, building_with_units, device, unit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
State = SyncRecord.State


def all_synced(expected: int):
    def check():
        rows = SyncRecord.objects.filter(provider="zaehlerfreunde")
        states = list(rows.values_list("state", flat=True))
        return len(states) == expected and all(s == State.SYNCED for s in states)

    return check


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="zaehlerfreunde")


def test_building_with_units_devices_and_invites_lands_exactly_once(sandbox, worker):
    building_with_units(3)
    # 1 building + 3 units + 3 devices + 3 invites; tenants have no Zählerfreunde twin.
    wait_until(all_synced(10), message="all ten rows synced")

    state = sandbox.state()
    assert state["counts"]["spaces"] == 4
    assert state["counts"]["devices"] == 3
    assert state["counts"]["invites"] == 3
    assert state["requests"]["POST /spaces"] == 4
    assert state["requests"]["POST /spaces/{spaceId}/devices"] == 3
    units = [s for s in state["spaces"] if s["parentSpaceId"]]
    home = next(s for s in state["spaces"] if not s["parentSpaceId"])
    assert {u["parentSpaceId"] for u in units} == {home["id"]}
    assert {d["externalDeviceIds"][0] for d in state["devices"]} == {
        "CH10000001",
        "CH10000002",
        "CH10000003",
    }
    # The platform e-mailed the tenants; we kept the links it returned.
    assert sorted(e["to"] for e in sandbox.state()["emails"]) == [
        "tenant1@example.org",
        "tenant2@example.org",
        "tenant3@example.org",
    ]
    for invite in Invite.objects.all():
        assert invite.status == Invite.Status.EMAILED
        assert invite.invite_link.startswith("http")
    # Remote ids are the sandbox's.
    assert row_of(Space.objects.get(parent=None)).remote_id == home["id"]

    # A sweep and a no-op save send nothing more.
    tasks.sweep()
    services.save(Space.objects.get(name="Flat 1"))
    wait_until(all_synced(10))
    assert sandbox.requests_to("POST /spaces") == 4
    assert sandbox.requests_to("PUT /spaces/{spaceId}") == 0


def test_three_server_errors_then_success(sandbox, worker):
    sandbox.fault("error", count=3, status=500, path="/spaces")
    home = building()
    wait_until(lambda: row_of(home).state == State.SYNCED, message="building synced")

    assert sandbox.count("spaces") == 1
    calls = ApiCall.objects.filter(path="/spaces").order_by("started_at")
    assert [c.status for c in calls].count(500) == 3
    assert [c.status for c in calls.filter(method="POST")][-1] == 200
    # After a 500 the outcome is unknown: the platform was asked before sending again.
    first_500 = calls.filter(status=500).first()
    assert calls.filter(method="GET", started_at__gt=first_500.started_at).exists()
    assert row_of(home).attempts == 0 and row_of(home).last_error == ""


def test_timeout_after_create_is_reconciled_not_repeated(sandbox, worker):
    # The sandbox creates the space, then answers after 4 s; we give up after 2 s.
    sandbox.fault("timeout", count=1, delay=4, path="/spaces")
    home = building()
    wait_until(lambda: row_of(home).state == State.SYNCED, timeout=30, message="synced")

    state = sandbox.state()
    assert state["counts"]["spaces"] == 1
    assert state["requests"]["POST /spaces"] == 1
    assert row_of(home).remote_id == state["spaces"][0]["id"]
    assert ApiCall.objects.filter(method="POST", error="ReadTimeout").count() == 1


def test_rejected_data_fails_with_the_platforms_reason_then_syncs_when_fixed(sandbox, worker):
    # Staff bypassed validation (an import of old data, say): the platform refuses it.
    home = services.save(
        Space(name="Old block", category="APARTMENT_BUILDING", address_line_one="Weg 1",
              postcode="8004", city=""),
        validate=False,
    )  # fmt: skip
    wait_until(lambda: row_of(home).state == State.FAILED, message="failed")
    row = row_of(home)
    assert "Zählerfreunde refused it" in row.last_error
    assert "City" in row.last_error
    assert row.attempts == 0  # a permanent error is not retried on its own
    assert sandbox.count("spaces") == 0

    home.city = "Zürich"
    services.save(home)
    wait_until(lambda: row_of(home).state == State.SYNCED, message="synced after fix")
    assert sandbox.count("spaces") == 1
    assert row_of(home).last_error == ""


def test_expired_token_mid_run_is_renewed_once(sandbox, worker):
    home = building()
    wait_until(lambda: row_of(home).state == State.SYNCED)
    sandbox.expire_tokens()

    flat = unit(home, "Flat 1")
    wait_until(lambda: row_of(flat).state == State.SYNCED, message="unit synced")
    assert sandbox.count("spaces") == 2
    calls = list(ApiCall.objects.order_by("started_at").values_list("method", "path", "status"))
    refused = calls.index(("POST", "/spaces", 401))
    assert calls[refused + 1] == ("POST", "/auth/token", 200)
    assert calls[refused + 2] == ("POST", "/spaces", 200)
    # The token never lands in the call log.
    token_call = ApiCall.objects.filter(path="/auth/token").first()
    assert "accessToken" in token_call.response_body
    assert "***" in token_call.response_body and "sandbox-secret" not in token_call.request_body


def test_worker_killed_mid_create_is_finished_by_the_sweep_without_duplicate(sandbox, start_worker):
    # The create is processed, but its answer takes 6 s: the worker dies waiting.
    sandbox.fault("timeout", count=1, delay=6, path="/spaces")
    first = start_worker(PROVIDER_TIMEOUT_SECONDS=30, SYNC_CLAIM_TIMEOUT_SECONDS=60)
    home = building()
    wait_until(lambda: sandbox.count("spaces") == 1, message="space created remotely")
    assert row_of(home).state == State.IN_FLIGHT
    first.kill()

    start_worker()
    # The claim goes stale after SYNC_CLAIM_TIMEOUT_SECONDS; the beat sweep re-enqueues.
    wait_until(lambda: tasks.sweep() >= 0 and row_of(home).state == State.SYNCED,
               timeout=30, interval=1.0, message="swept and synced")  # fmt: skip
    state = sandbox.state()
    assert state["counts"]["spaces"] == 1
    assert state["requests"]["POST /spaces"] == 1
    assert row_of(home).remote_id == state["spaces"][0]["id"]


def test_broker_down_while_staff_save_catches_up_when_it_returns(sandbox, worker, worker_env):
    # Staff save in a web process whose broker cannot be reached (nothing listens on :1).
    script = (
        "import django; django.setup();"
        "from tests.factories import building; building('Broker down block')"
    )
    env = {**worker_env, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    saved = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr  # the save itself succeeded
    assert "wait for the sweep" in saved.stderr

    home = Space.objects.get(name="Broker down block")
    row = row_of(home)
    assert row.state == State.PENDING and row.queued_at is None
    assert sandbox.count("spaces") == 0

    assert tasks.sweep() == 1  # the broker is back: beat's next sweep hands it over
    wait_until(lambda: row_of(home).state == State.SYNCED, message="caught up")
    assert sandbox.count("spaces") == 1


def test_device_changes_go_out_as_details_and_type_changes_are_refused(sandbox, worker):
    home = building()
    meter = device(home, "Main meter", external_id="CH1")
    wait_until(all_synced(2))
    meter.name = "Main meter (basement)"
    meter.metering_location_id = "CH1001234500000000000000000000001"
    meter.serial_number = "SN-778"
    services.save(meter)
    wait_until(lambda: sandbox.requests_to("POST /spaces/{spaceId}/devices/{deviceId}/details"))
    wait_until(all_synced(2))
    remote = sandbox.state()["devices"][0]
    assert remote["name"] == "Main meter (basement)" and remote["serialNumber"] == "SN-778"
    assert remote["meteringLocationId"] == "CH1001234500000000000000000000001"
    assert sandbox.requests_to("POST /spaces/{spaceId}/devices") == 1  # not re-created

    meter.device_type = "RLM_METER"
    with pytest.raises(ValidationError, match="cannot change a device's type"):
        services.save(meter)


def test_a_device_moved_to_another_unit_moves_there_with_its_id(sandbox, worker):
    home = building()
    old, new = unit(home, "Flat 1"), unit(home, "Flat 2")
    meter = device(old, "Meter", external_id="CH7")
    wait_until(all_synced(4))
    remote_id = row_of(meter).remote_id
    meter.space = new
    services.save(meter)
    wait_until(lambda: sandbox.requests_to("DELETE /spaces/{spaceId}/devices/{deviceId}"))
    wait_until(all_synced(4))
    (remote,) = sandbox.state()["devices"]
    assert remote["id"] == remote_id  # the same device, readings and all
    assert remote["spaceIds"] == [row_of(new).remote_id]  # linked there, unlinked here
    assert row_of(meter).sent_parent_id == row_of(new).remote_id


def test_deleting_a_building_deletes_its_tree_bottom_up(sandbox, worker):
    home = building_with_units(2)  # a building, 2 units, their devices and invites
    wait_until(all_synced(7))
    assert services.delete(home) is False
    wait_until(lambda: not Space.objects.exists(), timeout=30, message="all deleted locally")
    state = sandbox.state()
    assert state["counts"]["spaces"] == 0 and state["counts"]["devices"] == 0
    assert sandbox.requests_to("DELETE /devices/{deviceId}") == 2
    assert sandbox.requests_to("DELETE /spaces/{spaceId}") == 3
    assert not SyncRecord.objects.filter(provider="zaehlerfreunde").exists()


def test_clearing_a_units_second_line_clears_it_there(sandbox, worker):
    home = building(address_line_two="Hinterhaus")
    wait_until(all_synced(1))
    home.address_line_two = ""
    services.save(home)
    wait_until(lambda: sandbox.requests_to("PUT /spaces/{spaceId}") == 1)
    wait_until(all_synced(1))
    assert sandbox.state()["spaces"][0]["addressLineTwo"] is None


def test_deleting_a_unit_deletes_it_remotely_first(sandbox, worker):
    home = building()
    flat = unit(home, "Flat 1")
    wait_until(all_synced(2))
    assert services.delete(flat) is False  # waits for the platform
    wait_until(lambda: not Space.objects.filter(pk=flat.pk).exists(), message="deleted")
    assert sandbox.count("spaces") == 1
    assert sandbox.requests_to("DELETE /spaces/{spaceId}") == 1


def test_building_change_is_sent_as_an_update(sandbox, worker):
    home = building()
    wait_until(all_synced(1))
    home.address_line_one = "Lindenstrasse 7"
    services.save(home)
    wait_until(lambda: sandbox.requests_to("PUT /spaces/{spaceId}") == 1)
    wait_until(all_synced(1))
    assert sandbox.state()["spaces"][0]["addressLineOne"] == "Lindenstrasse 7"
    assert row_of(home).last_synced_at <= timezone.now()


def test_retries_are_capped_then_the_row_needs_attention(sandbox, worker, portal):
    sandbox.fault("error", count=50, status=503, path="/spaces")
    home = building()
    wait_until(lambda: row_of(home).state == State.NEEDS_ATTENTION, timeout=30)
    row = row_of(home)
    assert row.attempts == portal.SYNC_MAX_ATTEMPTS
    assert "still failing after 6 attempts" in row.last_error
    assert sandbox.count("spaces") == 0

    # The platform recovers; staff press "Retry sync".
    sandbox.http.delete(f"{sandbox.control}/faults", timeout=10).raise_for_status()
    services.retry([row])
    wait_until(lambda: row_of(home).state == State.SYNCED)
    assert sandbox.count("spaces") == 1  # looked up first (outcome unknown), created once
