"""Progress people can see: the import page's table per platform (an htmx fragment that
polls until settled), in a real browser while a real worker pushes, and
`sync_pending --wait`'s bars on a terminal and plain lines elsewhere."""

import io
import os
import pty
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command

from onboarding import progress, services
from onboarding.models import SyncRecord

from .conftest import ROOT, wait_until
from .factories import building_with_units
from .pages_helpers import staff_user  # noqa: F401 (fixture)
from .test_pages_browser import browser, shots, signed_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.platforms("zaehlerfreunde")]
State = SyncRecord.State


def portfolio_csv(path, buildings: int, units: int) -> None:
    lines = ["building;address_line_one;postcode;city;unit;device_name;tenant_name;tenant_email"]
    for b in range(buildings):
        for u in range(units):
            lines.append(
                f"Hof {b};Weg {b};8000;Zürich;Flat {u};Meter {u};Tenant {b}-{u};"
                f"t{b}-{u}@example.org"
            )
    path.write_text("\n".join(lines) + "\n")


def test_the_import_page_shows_progress_per_platform_until_settled(
    browser,  # noqa: F811
    live_server,
    sandbox,
    start_worker,
    shots,  # noqa: F811
):
    # 2 buildings x 6 units, each with a meter and an invite: 2 + 12 + 12 + 12 = 38 rows
    # for Zählerfreunde; slow enough (100 ms an answer) to be seen moving.
    sandbox.latency(100)
    csv = shots.parent / "portfolio.csv"
    portfolio_csv(csv, buildings=2, units=6)
    page = signed_in(browser, live_server)
    page.get_by_role("link", name="Import a building", exact=True).click()
    page.get_by_label("CSV or Excel file").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import and sync").click()
    row = page.locator("#sync-progress tr[data-platform=zaehlerfreunde]")
    row.wait_for()
    assert row.locator("td.total").inner_text() == "38"
    assert row.locator("td.synced").inner_text() == "0"  # no worker yet: nothing moves
    assert row.locator("td.eta").inner_text() == "not known yet"

    start_worker()
    wait_until(
        lambda: 0 < int(row.locator("td.synced").inner_text()) < 38,
        timeout=60,
        message="the page shows rows arriving",
    )
    assert "/s" in row.locator("td.rate").inner_text()  # a rate once rows have synced
    assert row.locator("td.eta").inner_text().startswith("in about ")
    page.screenshot(path=shots / "import-progress-running.png", full_page=True)

    page.get_by_text("Settled: every row is synced or needs a person.").wait_for(timeout=90_000)
    assert row.locator("td.synced").inner_text() == "38"
    assert row.locator("td.waiting").inner_text() == "0"
    assert row.locator("td.eta").inner_text() == "done"
    assert SyncRecord.objects.filter(provider="zaehlerfreunde", state=State.SYNCED).count() == 38
    # Settled: the fragment no longer polls.
    assert page.locator("#sync-progress").get_attribute("hx-trigger") is None
    page.screenshot(path=shots / "import-progress-settled.png", full_page=True)


def test_progress_counts_only_the_imports_rows(portal, staff_user, client, tmp_path):  # noqa: F811
    building_with_units(2)  # Lindenhof: not part of the import below
    path = tmp_path / "progress-test.csv"
    portfolio_csv(path, buildings=1, units=3)
    services.import_buildings(path)
    found = progress.measure(progress.import_rows(["Hof 0"]))
    zf = found["zaehlerfreunde"]
    assert (zf.total, zf.synced, zf.waiting, zf.attention) == (10, 0, 10, 0)
    assert zf.rate is None and zf.seconds_left is None

    client.force_login(staff_user)
    session = client.session
    session["last_import"] = {"names": ["Hof 0"], "counts": {}}
    session.save()
    html = client.get("/import/done/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in html  # not settled: it polls
    assert '<td class="total">10</td>' in html


def test_sync_pending_wait_prints_plain_lines_when_not_a_terminal(sandbox):
    building_with_units(2)  # 1 building, 2 units, 2 meters, 2 invites: 7 rows
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_pending", "--wait", "30", stdout=out, stderr=err)
    lines = [line for line in err.getvalue().splitlines() if line.startswith("Zählerfreunde: ")]
    assert lines, err.getvalue()
    assert lines[-1].startswith("Zählerfreunde: synced 7 · waiting 0 · needs attention 0 of 7 · ")
    assert lines[-1].endswith(" · done")
    assert "\x1b[" not in err.getvalue()  # no terminal codes in a file


def test_sync_pending_wait_draws_bars_on_a_terminal(sandbox, worker_env):
    building_with_units(2)
    # A real terminal (a pty) for the command's stderr, as a person running it sees it.
    leader, follower = pty.openpty()
    env = {**worker_env, "COLUMNS": "160", "TERM": "xterm"}
    command = subprocess.Popen(
        [sys.executable, "manage.py", "sync_pending", "--wait", "30"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    chunks: list[bytes] = []

    def read() -> None:  # drained while it runs: a full pty would block the command
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    command.wait(timeout=120)
    reader.join(10)
    os.close(leader)
    screen = b"".join(chunks)
    text = screen.decode(errors="replace")
    assert command.returncode == 0, text
    assert "\x1b[" in text  # redrawn in place
    assert "━" in text  # rich's bar
    assert "synced 7 · waiting 0 · needs attention 0 of 7" in text
    assert SyncRecord.objects.filter(state=State.SYNCED).count() == 7
