"""Operators' commands against the sandbox over real HTTP, in the foreground."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from onboarding import services
from onboarding.models import Space, SyncRecord

from .conftest import ROOT
from .factories import building

pytestmark = pytest.mark.django_db(transaction=True)
LINDENHOF = Path(__file__).parent / "fixtures" / "lindenhof.csv"


def test_import_then_sync_pending_lands_everything_once_and_reimport_sends_nothing(sandbox, capsys):
    call_command("import_building", str(LINDENHOF))
    call_command("sync_pending")
    out = capsys.readouterr().out
    assert "Zählerfreunde: 10 synced" in out
    state = sandbox.state()
    assert state["counts"] == state["counts"] | {"spaces": 4, "devices": 3, "invites": 3}
    # Two tenants asked for the platform's e-mail, one gets the link by hand.
    assert len(state["emails"]) == 2
    calls_before = dict(state["requests"])

    call_command("import_building", str(LINDENHOF))
    assert "Rows marked for sync: 0" in capsys.readouterr().out
    call_command("sync_pending")
    assert "This run: nothing due" in capsys.readouterr().out
    assert sandbox.state()["requests"] == calls_before


def test_sync_pending_exits_1_when_a_row_failed(sandbox, capsys):
    services.save(
        Space(name="No city", category="APARTMENT_BUILDING", address_line_one="Weg 1",
              postcode="8004", city=""),
        validate=False,
    )  # fmt: skip
    with pytest.raises(CommandError, match="1 rows failed or need attention"):
        call_command("sync_pending")
    err = capsys.readouterr().err
    assert "No city" in err and "City" in err


def test_sync_pending_stops_at_backoffs(sandbox, capsys, portal):
    portal.SYNC_BACKOFF_BASE_SECONDS = 60  # a retry far enough away to wait for
    sandbox.fault("error", count=1, status=503, path="/spaces")
    home = building()
    call_command("sync_pending")  # returns although a retry is scheduled
    assert "1 pending (1 waiting to retry)" in capsys.readouterr().out
    row = home.sync_records.get()
    assert row.state == SyncRecord.State.PENDING and row.attempts == 1
    assert "503" in row.last_error


@pytest.mark.platforms("zaehlerfreunde")
def test_check_providers_ok_and_wrong_secret(sandbox, portal, capsys):
    call_command("check_providers")
    out = capsys.readouterr().out
    assert "Zählerfreunde: OK" in out

    portal.SANDBOX_CLIENT_SECRET = "not-the-secret"
    portal.PROVIDER_CONFIG = {
        **portal.PROVIDER_CONFIG,
        "zaehlerfreunde": {"base_url": "", "client_id": "", "client_secret": "wrong"},
    }
    with pytest.raises(CommandError, match="1 platform"):
        call_command("check_providers", "zaehlerfreunde")
    assert "FAILED" in capsys.readouterr().out


def test_refused_credentials_disconnect_the_platform_until_checked(sandbox, portal, capsys):
    from onboarding.sync import tasks
    from onboarding.sync.models import ProviderConnection

    portal.PROVIDER_CONFIG = {
        **portal.PROVIDER_CONFIG,
        "zaehlerfreunde": {"base_url": "", "client_id": "", "client_secret": "wrong"},
    }
    home = building()
    call_command("sync_pending")
    row = home.sync_records.get()
    assert row.state == SyncRecord.State.PENDING and "refused our credentials" in row.last_error
    assert ProviderConnection.objects.get().status == "disconnected"
    assert not tasks.due_records().exists()  # the sweep leaves a disconnected platform alone

    portal.PROVIDER_CONFIG = {
        **portal.PROVIDER_CONFIG,
        "zaehlerfreunde": {"base_url": "", "client_id": "", "client_secret": ""},
    }
    call_command("check_providers", "zaehlerfreunde")
    assert "1 waiting rows resume" in capsys.readouterr().out
    call_command("sync_pending")
    assert home.sync_records.get().state == SyncRecord.State.SYNCED
    assert sandbox.count("spaces") == 1


# --- sync_pending --wait and what waits (issue 6, item 22) -------------------------------


def test_sync_pending_wait_goes_through_backoffs_until_synced(sandbox, portal, capsys):
    portal.SYNC_BACKOFF_BASE_SECONDS = portal.SYNC_BACKOFF_CAP_SECONDS = 1.0  # 0.5-1 s each
    sandbox.fault("error", count=2, status=503, path="/spaces")
    home = building()
    started = time.monotonic()
    call_command("sync_pending", "--wait", "30")
    took = time.monotonic() - started
    row = home.sync_records.get()
    assert row.state == SyncRecord.State.SYNCED
    assert sandbox.count("spaces") == 1
    assert sandbox.state()["faults"] == []  # both 503s were met and waited out
    assert 0.5 <= took < 15  # at least one backoff (0.5-1 s) was waited out
    out = capsys.readouterr().out
    assert "Zählerfreunde: 1 synced (0 waiting to retry)" in out
    assert "Still waiting" not in out


def test_sync_pending_wait_runs_out_of_time_with_exit_2(sandbox, portal, capsys):
    portal.SYNC_BACKOFF_BASE_SECONDS = portal.SYNC_BACKOFF_CAP_SECONDS = 60
    sandbox.fault("error", count=1, status=503, path="/spaces")
    building("Eichenhof")
    started = time.monotonic()
    with pytest.raises(CommandError, match="1 rows still waiting after 1 s") as excinfo:
        call_command("sync_pending", "--wait", "1")
    assert excinfo.value.returncode == 2
    assert 1.0 <= time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "Still waiting (1):" in out
    assert re.search(r"Pending.*: Eichenhof → Zählerfreunde, next try in \d+ s", out)


def test_sync_pending_lists_what_waits_and_when_it_goes_next(sandbox, portal, capsys):
    portal.SYNC_BACKOFF_BASE_SECONDS = portal.SYNC_BACKOFF_CAP_SECONDS = 120
    sandbox.fault("error", count=1, status=503, path="/spaces")
    home = building("Ahornhof")
    flat = services.save(Space(name="Flat 1", parent=home, category="FLAT"))
    call_command("sync_pending")  # returns at once: nothing is due
    out = capsys.readouterr().out
    assert "Still waiting (2):" in out
    assert re.search(
        # A 60-120 s backoff: "in 1 min 7 s", or "in 59 s" / "in 2 min" at its edges.
        r"Pending.*: Ahornhof → Zählerfreunde, next try in [\d a-z]+ \(\d{4}-\d\d-\d\d "
        r"\d\d:\d\d:\d\d\): Attempt 1 failed",
        out,
    )
    assert re.search(
        rf"Pending: {flat} → Zählerfreunde, next try in \d+ min .*: Waiting for Ahornhof", out
    )


def test_sync_pending_wait_exit_code_from_the_shell(sandbox, portal, worker_env):
    portal.SYNC_BACKOFF_BASE_SECONDS = portal.SYNC_BACKOFF_CAP_SECONDS = 60
    sandbox.fault("error", count=1, status=503, path="/spaces")
    building("Buchenhof")
    call_command("sync_pending")  # leaves the row in a 30-60 s backoff
    done = subprocess.run(
        [sys.executable, "manage.py", "sync_pending", "--wait", "1"],
        cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search("Pending.*: Buchenhof → Zählerfreunde, next try in", done.stdout)
    assert "1 rows still waiting after 1 s" in done.stderr
