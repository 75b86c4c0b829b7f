"""Operators' commands against the sandbox over real HTTP, in the foreground."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from onboarding import services
from onboarding.models import Space, SyncRecord

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


@pytest.mark.platforms("zaehlerfreunde", "climkit")
def test_check_providers_ok_and_wrong_secret(sandbox, portal, capsys):
    call_command("check_providers")
    out = capsys.readouterr().out
    assert "Zählerfreunde: OK" in out
    assert "climkit: not available in this release" in out

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
