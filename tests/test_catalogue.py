"""The catalogue: refreshes from the smart-me sandbox over real HTTP (new, changed, gone,
back, repeated, failed half-way), linking rules, queries, the admin and the commands."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from onboarding.catalogue import links, queries
from onboarding.catalogue.refresh import RefreshFailed, refresh
from onboarding.models import (
    CatalogueEntry,
    CatalogueRefresh,
    Device,
    Medium,
    Space,
    SyncRecord,
)
from tests.conftest import ROOT, SandboxControl, wait_until

from .factories import building, device, unit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smartme(portal, live_server) -> SandboxControl:
    return SandboxControl(live_server.url, "smartme")


def catalogue() -> dict[str, CatalogueEntry]:
    return {e.remote_id: e for e in CatalogueEntry.objects.filter(platform="smartme")}


def snapshot() -> list[tuple]:
    return list(
        CatalogueEntry.objects.order_by("pk").values_list(
            "remote_id", "name", "serial", "last_value", "raw", "parent_id", "first_seen",
            "last_seen", "gone_since",
        )
    )  # fmt: skip


def sandbox_devices(smartme) -> dict[str, dict]:
    return {d["Name"]: d for d in smartme.state()["devices"]}


def change(smartme, device_id: str, **fields) -> None:
    smartme.http.patch(f"{smartme.control}/devices/{device_id}", json=fields, timeout=10)


def remove(smartme, device_id: str) -> None:
    smartme.http.delete(f"{smartme.control}/devices/{device_id}", timeout=10).raise_for_status()


def add(smartme, **fields) -> dict:
    response = smartme.http.post(f"{smartme.control}/devices", json=fields, timeout=10)
    response.raise_for_status()
    return response.json()


# --- refresh ----------------------------------------------------------------------------


def test_first_refresh_stores_every_device_with_gateway_values_and_raw(smartme):
    result = refresh("smartme")
    assert (result.total, result.new, result.gone) == (34, 34, 0)
    rows = catalogue()
    assert len(rows) == 34
    media = sorted(e.medium for e in rows.values())
    assert media.count("electricity") == 17 and media.count("heat") == 6
    assert {"water", "gas", "temperature", "mbus_gateway"} <= set(media)

    [gateway] = [e for e in rows.values() if e.medium == "mbus_gateway"]
    behind = list(gateway.children.all())
    assert len(behind) == 12 and {b.medium for b in behind} == {"heat", "water"}
    assert all(b.raw["MBus"]["SecondaryAddress"] for b in behind)
    lost = [b for b in behind if b.raw["MBus"]["StateName"] == "LastReadoutFailed"]
    assert len(lost) == 1 and lost[0].last_value_at < timezone.now() - timedelta(hours=24)

    flat = next(e for e in rows.values() if e.name == "Lindenhof W1.1 Strom")
    source = sandbox_devices(smartme)["Lindenhof W1.1 Strom"]
    assert flat.kind == "device" and flat.serial == str(source["Serial"])
    assert flat.last_value == source["CounterReading"] and flat.last_value_unit == "kWh"
    assert flat.last_value_at.isoformat().startswith(source["ValueDate"][:19])
    assert flat.raw == {k: v for k, v in source.items() if k != "GatewayId"}
    assert flat.parent is None and flat.gone_since is None


def test_repeated_refresh_changes_nothing_and_never_duplicates(smartme):
    refresh("smartme")
    before = {e.pk: (e.first_seen, e.last_seen) for e in CatalogueEntry.objects.all()}
    again = refresh("smartme")
    assert (again.new, again.changed, again.new_values, again.gone, again.back) == (0,) * 5
    after = {e.pk: (e.first_seen, e.last_seen) for e in CatalogueEntry.objects.all()}
    assert after.keys() == before.keys()  # same rows, none added
    assert all(after[pk][0] == before[pk][0] and after[pk][1] > before[pk][1] for pk in before)


def test_changed_new_values_gone_new_and_back(smartme):
    refresh("smartme")
    devices = sandbox_devices(smartme)
    renamed = devices["Bachweg 3 Gas EG"]["Id"]
    measured = devices["Lindenhof W1.2 Strom"]["Id"]
    removed = devices["Sonnmatt W1.1 Strom"]
    change(smartme, renamed, Name="Bachweg 3 Gas Erdgeschoss")
    change(smartme, measured, CounterReading=9999.5)
    remove(smartme, removed["Id"])
    added = add(smartme, Name="Sonnmatt Wallbox", DeviceEnergyType=1, Serial=55512345)

    result = refresh("smartme")
    assert (result.new, result.changed, result.new_values, result.gone) == (1, 1, 1, 1)
    rows = catalogue()
    assert rows[renamed].name == "Bachweg 3 Gas Erdgeschoss"
    assert rows[measured].last_value == 9999.5
    gone = rows[removed["Id"]]
    assert gone.gone_since is not None and gone.name == "Sonnmatt W1.1 Strom"  # kept
    assert rows[added["Id"]].serial == "55512345" and result.total == 34
    assert queries.entries(gone=True).get() == gone

    # It comes back (re-registered with the same Id): no second row, gone_since cleared.
    add(smartme, Id=removed["Id"], Name=removed["Name"], DeviceEnergyType=1,
        Serial=removed["Serial"])  # fmt: skip
    back = refresh("smartme")
    assert back.back == 1 and back.new == 0
    returned = CatalogueEntry.objects.get(remote_id=removed["Id"])
    assert returned.gone_since is None and returned.first_seen == gone.first_seen


def test_a_refresh_failing_half_way_changes_nothing(smartme):
    refresh("smartme")
    devices = sandbox_devices(smartme)
    change(smartme, devices["Bachweg 3 Gas EG"]["Id"], Name="Renamed meanwhile")
    remove(smartme, devices["Lindenhof W1.1 Strom"]["Id"])
    before = snapshot()
    # /Devices answers; the M-Bus gateway, read after it, fails.
    smartme.fault("error", count=1, status=500, path="/gateway/mbus")
    with pytest.raises(RefreshFailed) as failed:
        refresh("smartme")
    message = str(failed.value)
    assert message.startswith("smart-me (the sandbox at http")
    assert "its catalogue was not refreshed" in message and "HTTP 500" in message
    assert snapshot() == before  # not renamed, nothing marked gone
    assert smartme.requests_to("GET /Devices") == 2
    assert smartme.requests_to("GET /gateway/mbus/{id}") == 2
    last = CatalogueRefresh.objects.filter(platform="smartme").first()
    assert not last.ok and last.message == message

    result = refresh("smartme")  # the platform is back: the changes land
    assert (result.changed, result.gone) == (1, 1)


def test_a_platform_answering_garbage_keeps_the_catalogue(smartme, portal, live_server):
    refresh("smartme")
    before = snapshot()
    smartme.fault("maintenance", count=1, path="/gateway/mbus")
    with pytest.raises(RefreshFailed, match="did not answer as its API does.*We'll be back"):
        refresh("smartme")
    assert snapshot() == before

    portal.PROVIDER_CONFIG = {
        **portal.PROVIDER_CONFIG,
        "smartme": {**portal.PROVIDER_CONFIG["smartme"], "base_url": f"{live_server.url}/admin",
                    "options": {"api_key": "k"}},
    }  # fmt: skip
    with pytest.raises(RefreshFailed, match="did not answer as its API does.*SMARTME_BASE_URL"):
        refresh("smartme")
    assert snapshot() == before


# --- linking ------------------------------------------------------------------------------


def entry(platform="smartme", kind="device", remote_id="dev-1", **fields) -> CatalogueEntry:
    now = timezone.now()
    fields = {"name": "Meter from the platform", "medium": "water", **fields}
    return CatalogueEntry.objects.create(
        platform=platform, kind=kind, remote_id=remote_id, first_seen=now, last_seen=now, **fields
    )


def test_linking_fills_what_the_device_lacks_through_the_outbox():
    flat = unit(building(), "Flat 1")
    meter = entry(name="Lindenhof W1.1 Wasser", medium="water", serial="31234567")
    fresh = Device(space=flat, name="", medium="")
    result = links.link_device(fresh, meter)
    fresh.refresh_from_db()
    assert (fresh.name, fresh.medium) == ("Lindenhof W1.1 Wasser", Medium.WATER)
    assert fresh.serial_number == "31234567"
    assert fresh.smartme_device == meter
    assert sorted(result.filled) == ["medium", "name", "serial_number"]
    # Saved through onboarding.services.save: the outbox has its row for Zählerfreunde.
    assert SyncRecord.objects.filter(object_id=fresh.pk, provider="zaehlerfreunde").exists()
    assert str(CatalogueEntry.objects.get(pk=meter.pk)).endswith(f"linked to {fresh}")


def test_linking_never_overwrites_what_staff_typed():
    typed = device(unit(building(), "Flat 1"), "Kitchen meter", medium=Medium.ELECTRICITY,
                   serial_number="typed-1")  # fmt: skip
    result = links.link_device(typed, entry(name="Platform name", medium="heat", serial="99"))
    typed.refresh_from_db()
    assert (typed.name, typed.medium) == ("Kitchen meter", Medium.ELECTRICITY)
    assert typed.serial_number == "typed-1"
    assert result.filled == [] and "heating" in result.notes[0]


MEDIA = [("electricity", Medium.ELECTRICITY), ("water", Medium.WATER), ("gas", Medium.GAS),
         ("heat", Medium.HEATING)]  # fmt: skip


@pytest.mark.parametrize(("energy", "medium"), MEDIA)
def test_smartme_energy_types_map_to_media(energy, medium):
    assert links.medium_of(entry(medium=energy)) == medium


def test_linking_refuses_an_entry_linked_elsewhere_or_of_the_wrong_kind():
    flat = unit(building(), "Flat 1")
    first, second = device(flat, "A"), device(flat, "B")
    meter = entry()
    links.link_device(first, meter)
    with pytest.raises(ValidationError, match="already linked to A"):
        links.link_device(second, meter)
    site = entry(platform="climkit", kind="site", remote_id="site-1", medium="")
    with pytest.raises(ValidationError, match="can only be linked to a smartme device"):
        links.link_device(second, site)
    with pytest.raises(ValidationError, match="Only a building"):
        links.link_space(flat, site)
    second.refresh_from_db()
    assert second.smartme_device is None and second.climkit_meter is None

    # A device may hold one smart-me device and one Climkit meter at once.
    links.link_device(first, entry(platform="climkit", kind="meter", remote_id="m-1"))
    links.link_space(flat.parent, site)
    first.refresh_from_db()
    assert first.smartme_device == meter and first.climkit_meter.remote_id == "m-1"
    assert Space.objects.get(pk=flat.parent_id).climkit_site == site
    links.unlink_device(first, "smartme")
    links.link_device(second, meter)  # free again
    assert Device.objects.get(pk=second.pk).smartme_device == meter


def test_queries_search_name_and_serial_and_filter():
    a = entry(remote_id="1", name="Lindenhof W1.1 Strom", serial="12345678", medium="electricity")
    b = entry(remote_id="2", name="Lindenhof W1.2 Strom", serial="87654321")
    c = entry(platform="climkit", kind="meter", remote_id="3", name="Lindenhof PV")
    c.gone_since = timezone.now()
    c.save()
    links.link_device(device(unit(building(), "Flat 1"), "Meter"), a)
    assert set(queries.entries("lindenhof")) == {a, b, c}
    assert list(queries.entries("8765")) == [b]
    assert list(queries.entries("strom w1.1")) == [a]
    assert set(queries.entries(platform="smartme")) == {a, b}
    assert list(queries.entries(kind="meter")) == [c]
    assert list(queries.entries(linked=True)) == [a]
    assert set(queries.entries(linked=False)) == {b, c}
    assert list(queries.entries(gone=True)) == [c]
    assert list(queries.linkable_to_device("lindenhof")) == [a, b]  # gone ones left out


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True,
                                                 is_superuser=True)  # fmt: skip
    client.force_login(user)
    return client


def test_admin_catalogue_list_costs_the_same_queries_for_17_or_34_rows(staff, smartme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:onboarding_catalogueentry_changelist")
    counts = []
    for search in ("Strom", ""):  # 17 meters without a parent, then all 34 (12 with one)
        if not counts:
            refresh("smartme")
        with CaptureQueriesContext(connection) as queries_made:
            assert staff.get(url, {"q": search}).status_code == 200
        counts.append(len(queries_made))
    assert counts[0] == counts[1]


def test_admin_catalogue_filters_search_and_pickers(staff):
    linked = entry(remote_id="1", name="Lindenhof W1.1 Strom", serial="111")
    entry(remote_id="2", name="Lindenhof W1.2 Strom", serial="222")
    flat = unit(building(), "Flat 1")
    links.link_device(device(flat, "Meter"), linked)
    url = reverse("admin:onboarding_catalogueentry_changelist")
    page = staff.get(url, {"linked": "no", "platform": "smartme", "gone": "no"})
    assert page.status_code == 200
    assert "Lindenhof W1.2 Strom" in page.text and "Lindenhof W1.1 Strom" not in page.text
    assert "222" in staff.get(url, {"q": "222"}).text
    assert "Refresh smart-me" in page.text

    picker = staff.get(
        reverse("admin:autocomplete"),
        {"app_label": "onboarding", "model_name": "device", "field_name": "smartme_device",
         "term": "Lindenhof"},
    ).json()  # fmt: skip
    texts = sorted(r["text"] for r in picker["results"])
    assert texts[0].endswith(f"linked to {Device.objects.get()}")  # marked
    assert "linked" not in texts[1]


def test_admin_device_form_takes_name_and_medium_from_the_link(staff):
    flat = unit(building(), "Flat 1")
    meter = entry(name="Bachweg 3 W1 Wärme", medium="heat", serial="4711")
    add = reverse("admin:onboarding_device_add")
    form = {"space": flat.pk, "name": "", "medium": "", "device_type": "HEATING_METER",
            "smartme_device": meter.pk}  # fmt: skip
    response = staff.post(add, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Device.objects.get()
    assert (created.name, created.medium) == ("Bachweg 3 W1 Wärme", Medium.HEATING)
    assert created.serial_number == "4711"

    other = unit(building("Sonnmatt"), "Flat 2")
    again = staff.post(add, {**form, "space": other.pk, "name": "Another", "medium": "HEATING"})
    assert again.status_code == 200
    assert "already linked to" in str(again.context["adminform"].form.errors["smartme_device"])


# --- commands ---------------------------------------------------------------------------


def test_refresh_catalogue_command(smartme, capsys):
    call_command("refresh_catalogue", "smartme")
    assert "smart-me: 34 in the catalogue (34 new" in capsys.readouterr().out
    with pytest.raises(CommandError, match="'zevvy' has no catalogue"):
        call_command("refresh_catalogue", "zevvy")


def test_bad_credentials_say_what_to_fix_and_keep_the_catalogue(smartme, portal, capsys):
    refresh("smartme")
    before = snapshot()
    portal.PROVIDER_CONFIG = {
        **portal.PROVIDER_CONFIG,
        "smartme": {**portal.PROVIDER_CONFIG["smartme"], "client_secret": "wrong"},
    }
    smartme.expire_tokens()  # the cached token dies; a new one is refused
    with pytest.raises(CommandError) as failed:
        call_command("refresh_catalogue", "smartme")
    sentence = str(failed.value)
    assert sentence.startswith("smart-me (the sandbox at ") and sentence.count(". ") == 0
    assert "refused our credentials" in sentence
    assert sentence.endswith("check SMARTME_CLIENT_ID and SMARTME_CLIENT_SECRET "
                             "(and SMARTME_TOKEN_PATH, SMARTME_SCOPE).")  # fmt: skip
    assert snapshot() == before

    with pytest.raises(CommandError, match="1 platform"):
        call_command("check_providers", "smartme")
    out = capsys.readouterr().out
    assert "smart-me: FAILED: smart-me (the sandbox at" in out and "refused our credentials" in out


def test_check_providers_covers_smartme(smartme, capsys):
    call_command("check_providers", "smartme")
    out = capsys.readouterr().out
    assert "smart-me: OK (sandbox " in out and "not available" not in out
    assert smartme.requests_to("GET /DevicesByEnergy") == 1


def test_unreachable_base_url_from_the_command_line(worker_env):
    """As an operator runs it: exit 1, one sentence, no stack trace."""
    env = {**worker_env, "SMARTME_BASE_URL": "http://127.0.0.1:1", "SMARTME_API_KEY": "key"}
    for command in ("refresh_catalogue", "check_providers"):
        run = subprocess.run(
            [sys.executable, "manage.py", command, "smartme"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        output = run.stdout + run.stderr
        assert run.returncode == 1, output
        assert "Traceback" not in output
        assert "smart-me (http://127.0.0.1:1)" in output
        assert "could not be reached" in output and "check SMARTME_BASE_URL" in output
    assert not os.environ.get("SMARTME_BASE_URL")


@pytest.mark.worker
def test_admin_refresh_button_runs_in_a_worker(smartme, staff, start_worker):
    start_worker()
    response = staff.post(
        reverse("admin:onboarding_catalogueentry_refresh"), {"platform": "smartme"}
    )
    assert response.status_code == 302
    wait_until(lambda: CatalogueEntry.objects.count() == 34, message="catalogue refreshed")
    last = wait_until(lambda: CatalogueRefresh.objects.filter(platform="smartme").first())
    assert last.ok and last.new == 34

    # What beat runs every CATALOGUE_REFRESH_MINUTES: one task per platform with a catalogue.
    from django.conf import settings

    from onboarding.catalogue.tasks import refresh_catalogues

    assert settings.CELERY_BEAT_SCHEDULE["refresh-catalogues"]["schedule"] == timedelta(minutes=15)
    gas = sandbox_devices(smartme)["Bachweg 3 Gas EG"]["Id"]
    change(smartme, gas, Name="Bachweg 3 Gas Keller")
    assert refresh_catalogues.delay() is not None
    wait_until(lambda: catalogue()[gas].name == "Bachweg 3 Gas Keller", message="beat refresh")
