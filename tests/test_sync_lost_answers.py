"""What a fault run found (issue 14): a device moved after a lost create, invites the
platform cannot look up, the call log of a killed worker, and claims that outlive waits.
Real worker processes against the Zählerfreunde sandbox, which creates and then stalls
its answer past our timeout (its `timeout` fault)."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from onboarding import services
from onboarding.models import ApiCall, Invite, SyncRecord
from onboarding.sync import engine, tasks

from .conftest import ROOT, wait_until
from .factories import building, device, unit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
State = SyncRecord.State


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="zaehlerfreunde")


def synced(*objects):
    return lambda: all(row_of(o).state == State.SYNCED for o in objects)


@pytest.mark.parametrize("external_id", ["CH-MOVED-1", ""], ids=["by external id", "by name"])
def test_a_device_moved_while_its_create_answer_was_lost_ends_once_in_its_new_unit(
    sandbox, worker, external_id
):
    home = building()
    old, new = unit(home, "Flat 1"), unit(home, "Flat 2")
    wait_until(synced(home, old, new), message="units synced")
    # The device is created in Flat 1; the answer comes after our 2 s timeout.
    sandbox.fault("timeout", count=1, delay=3, path="/devices")
    meter = device(old, "Meter", external_id=external_id)
    wait_until(lambda: sandbox.count("devices") == 1, message="created there")
    # Staff move and rename it while the answer is still out.
    meter.space, meter.name = new, "Meter (kitchen)"
    services.save(meter)
    wait_until(synced(meter), timeout=30, message="device synced")

    (remote,) = sandbox.state()["devices"]  # one device: found in Flat 1, not made again
    assert remote["spaceIds"] == [row_of(new).remote_id]
    assert remote["name"] == "Meter (kitchen)"
    assert row_of(meter).remote_id == remote["id"]
    assert sandbox.requests_to("POST /spaces/{spaceId}/devices") == 1


@pytest.mark.parametrize(
    ("emailed_by", "needs_a_person"), [("the portal", False), ("Zählerfreunde", True)]
)
def test_a_lost_invite_answer_asks_a_person_only_where_zaehlerfreunde_emailed(
    sandbox, worker, emailed_by, needs_a_person
):
    flat = unit(building(), "Flat 1")
    wait_until(synced(flat), message="unit synced")
    sandbox.fault("timeout", count=1, delay=3, path="/invites")
    invite = Invite.objects.create(
        space=flat, email="tenant@example.org", send_invite_email=emailed_by == "Zählerfreunde"
    )
    services.save(invite)
    wait_until(
        lambda: row_of(invite).state in (State.SYNCED, State.NEEDS_ATTENTION),
        timeout=30,
        message="settled",
    )
    row = row_of(invite)
    if needs_a_person:
        assert row.state == State.NEEDS_ATTENTION
        assert "Ask tenant@example.org whether an invite e-mail" in row.last_error
        assert sandbox.count("invites") == 1
    else:
        # The first link reached nobody (its answer was lost): a new one, no question.
        assert row.state == State.SYNCED and row.last_error == ""
        invite.refresh_from_db()
        assert invite.invite_link and invite.status == Invite.Status.LINK_READY
        assert sandbox.count("invites") == 2


def test_a_worker_killed_mid_attempt_leaves_the_calls_it_made(sandbox, start_worker):
    # The token call returns; the create is processed but its answer takes 6 s.
    sandbox.fault("timeout", count=1, delay=6, path="/spaces")
    first = start_worker(PROVIDER_TIMEOUT_SECONDS=30, SYNC_CLAIM_TIMEOUT_SECONDS=60)
    home = building()
    wait_until(lambda: sandbox.count("spaces") == 1, message="space created remotely")
    first.kill()

    calls = ApiCall.objects.filter(sync_record=row_of(home))
    assert list(calls.values_list("method", "path", "status")) == [("POST", "/auth/token", 200)]

    start_worker()
    wait_until(lambda: tasks.sweep() >= 0 and row_of(home).state == State.SYNCED,
               timeout=30, interval=1.0, message="swept and synced")  # fmt: skip
    assert sandbox.count("spaces") == 1


def test_a_claim_taken_over_while_its_worker_waited_for_a_token_is_not_pushed_twice(
    sandbox, start_worker, settings
):
    # A worker whose claim lasts 1 s (the start-up check silenced on purpose) waits
    # 1.5 s for a new token; meanwhile its row is taken over and pushed by another.
    settings.SYNC_CLAIM_TIMEOUT_SECONDS = 1.0
    start_worker(SYNC_CLAIM_TIMEOUT_SECONDS=1, SILENCED_SYSTEM_CHECKS="onboarding.E020")
    home = building()
    wait_until(synced(home), message="building synced")
    sandbox.expire_tokens()
    sandbox.fault("timeout", count=1, delay=1.5, path="/auth/token")

    home.name = "Haus am See"
    services.save(home)
    wait_until(
        lambda: ApiCall.objects.filter(method="PUT", status=401).exists(),
        message="the worker's update refused: it asks for a new token, which takes 1.5 s",
    )

    def stale() -> bool:
        claimed_at = row_of(home).claimed_at
        return bool(claimed_at) and claimed_at < timezone.now() - timedelta(seconds=1.1)

    wait_until(stale, timeout=5, interval=0.05, message="its claim presumed lost")
    engine.run(row_of(home).pk)  # another worker takes the row over and pushes it
    assert row_of(home).state == State.SYNCED

    time.sleep(1.5)  # the first worker has had its token: what it would send, it has sent
    # Refused twice (each worker's old token), accepted once: the first worker found
    # its claim gone and sent nothing more.
    assert sandbox.requests_to("PUT /spaces/{spaceId}") == 3
    assert ApiCall.objects.filter(method="PUT", status__lt=300).count() == 1
    assert sandbox.state()["spaces"][0]["name"] == "Haus am See"


def test_a_claim_shorter_than_one_call_is_refused_at_start_up(settings, worker_env):
    settings.SYNC_CLAIM_TIMEOUT_SECONDS = 10
    settings.PROVIDER_TIMEOUT_SECONDS = 30
    with pytest.raises(SystemCheckError, match="onboarding.E020"):
        call_command("check")

    refused = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**worker_env, "SYNC_CLAIM_TIMEOUT_SECONDS": "10", "PROVIDER_TIMEOUT_SECONDS": "30"},
    )  # fmt: skip
    assert refused.returncode == 1
    assert "Refusing to start: SYNC_CLAIM_TIMEOUT_SECONDS is 10 s" in refused.stderr
