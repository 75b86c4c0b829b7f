"""German pages say the models' words in German: the wizard's tenant and done steps, an
object page's field names, a model's validation message and the importer's row
messages, the language chosen from the browser's Accept-Language; the pages of
day-to-day work (edit, delete, change of tenant, discard, import, drift, the sign-in
lockout) with no English sentence left, and what the outbox and reconcile stored in
English shown in German."""

import uuid

import pytest
from django.test import Client
from django.utils import translation

from onboarding import importer, services, sync_words
from onboarding.models import Device, Space, SyncRecord, TenantUser, Wizard
from onboarding.sync import reconcile
from providers import registry
from tests import pages_helpers, test_reconcile_pages
from tests.factories import building, building_with_units, device, tenant_with_invite, unit
from tests.german_words import english_left
from tests.reconcile_helpers import sync
from tests.test_pages_views import fragment, step_url, upload, walk_to_devices, walk_to_invite

staff_user, staff = pages_helpers.staff_user, pages_helpers.staff
drifted = test_reconcile_pages.drifted
pytestmark = pytest.mark.django_db
DE = {"HTTP_ACCEPT_LANGUAGE": "de"}
State = SyncRecord.State


def test_wizard_tenant_step_labels_in_german(staff):
    wizard = walk_to_devices(staff)
    staff.post(step_url(wizard, 2), {"action": "next", "token": uuid.uuid4()})
    staff.post(
        step_url(wizard, 3),
        {"action": "tenant", "t-name": "Mia", "t-email": "mia@example.org", "token": uuid.uuid4()},
    )
    page = staff.get(step_url(wizard, 3), **DE).content.decode()
    for german in ("Messpunkt-ID", "Die Messpunkt-ID (MeLo / Zählpunktnummer).", "Heimspeicher"):
        assert german in page
    for english in ("(required)", "Meter point id", "The metering point id", "Home battery"):
        assert english not in page


def test_wizard_done_step_names_each_kind_in_german(staff):
    wizard = walk_to_invite(staff)
    staff.post(
        step_url(wizard, 4),
        {
            "action": "invite",
            "i-email": "mia@example.org",
            "i-how": "platform",
            "token": uuid.uuid4(),
        },
    )
    staff.post(step_url(wizard, 4), {"action": "next", "token": uuid.uuid4()})
    page = staff.get(step_url(wizard, 5), **DE, **fragment("step-body")).content.decode()
    assert 'muted">Mieter:in</td>' in page and 'muted">Liegenschaft</td>' in page
    assert 'muted">Einladung</td>' in page
    for english in ("tenant user", 'muted">space</td>', 'muted">invite</td>'):
        assert english not in page
    english_page = staff.get(step_url(wizard, 5), **fragment("step-body")).content.decode()
    assert "tenant user" in english_page  # the same page in English still says it


def test_object_page_field_names_in_german(staff):
    flat = building_with_units(1).units.get()
    page = staff.get(f"/devices/{flat.devices.get().pk}/", **DE).content.decode()
    for german in ("Externe Geräte-ID", "Gerätetyp", "Seriennummer", "Angelegt am"):
        assert german in page
    for english in ("external device id", "device type", "serial number", "created at"):
        assert english not in page.lower()
    tenant_page = staff.get(f"/tenants/{flat.tenants.get().pk}/", **DE).content.decode()
    assert "Telefon" in tenant_page and "phone" not in tenant_page.lower()


def test_a_models_validation_message_in_german(staff):
    wizard = walk_to_devices(staff)
    # A building without its address is refused by Space.clean(): said in German.
    bad = staff.post(
        step_url(wizard, 1),
        {
            "pick-building": "",
            "b-name": "Ohne Adresse",
            "b-category": "APARTMENT_BUILDING",
            "b-postcode": "30",
            "u-name": "Wohnung 1",
            "u-category": "FLAT",
            "u-is_participating_in_ltt_project": "false",
            "token": uuid.uuid4(),
        },
        **DE,
        **fragment("step-body"),
    ).content.decode()
    assert "Geben Sie eine Postleitzahl mit 4 oder 5 Ziffern ein" in bad
    assert "Enter a postcode" not in bad


def test_importer_row_messages_in_german(staff):
    text = (
        "building;address_line_one;postcode;city;unit;tenant_name;tenant_email\n"
        "Hof;Weg 1;8000;Zürich;Flat 1;Ann;ann@example.org\n"
        "Hof;Weg 2;8000;Zürich;Flat 2;Ben;ben@example.org\n"
        "Hof;Weg 1;8000;Zürich;Flat 3;=Cem;cem@example.org\n"
    )
    html = upload(staff, text, **DE, **fragment("import")).content.decode()
    assert "weicht von Zeile 2 des Gebäudes „Hof“ ab" in html
    assert "beginnt mit „=“" in html
    assert "differs from row" not in html and "begins with" not in html
    assert Space.objects.count() == 0
    header = upload(staff, "nonsense;columns\n1;2\n", **DE).content.decode()
    assert "Unbekannte Spalte." in header and "Pflichtspalte fehlt" in header
    assert "Unknown column" not in header


# --- every page of day-to-day work, and what is stored in English, in German -----------------
# A page counts as German when no fragment of it holds a common English word (tests/
# german_words.py), after taking out the test's own data and the platforms' names.

PLATFORM_NAMES = ("Zählerfreunde", "Volue Spark", "smart-me", "Climkit", "zevvy")


def ours(*more: str) -> list[str]:
    """What the test itself typed or the platforms call themselves: names, e-mails."""
    names = [*PLATFORM_NAMES, "English", *more]  # the language switcher names English
    names += Space.objects.values_list("name", flat=True)
    names += Device.objects.values_list("name", flat=True)
    for name, email in TenantUser.objects.values_list("name", "email"):
        names += [name, email]
    return names


def german(response, *more: str) -> str:
    page = response.content.decode()
    assert english_left(page, allowed=ours(*more)) == []
    return page


def settled(*objs):
    for obj in objs:
        obj.sync_records.update(state=State.SYNCED, remote_id=f"r-{type(obj).__name__}-{obj.pk}")


@pytest.fixture
def household(db):
    """A building, a flat with its meter, and a tenant with an invite, all on the platforms."""
    home = building("Sonnenhof")
    flat = unit(home, "Wohnung 1")
    meter = device(flat, "Hauptzähler")
    invite = tenant_with_invite(flat, "ben@example.org")
    settled(home, flat, meter, invite, invite.tenant)
    return {"home": home, "flat": flat, "meter": meter, "tenant": invite.tenant}


def test_edit_pages_in_german(staff, household):
    flat, meter, tenant = household["flat"], household["meter"], household["tenant"]
    for url in (f"/edit/space/{flat.pk}/", f"/edit/device/{meter.pk}/",
                f"/edit/tenant/{tenant.pk}/", f"/spaces/{flat.pk}/"):  # fmt: skip
        german(staff.get(url, **DE))
    refused = staff.post(
        f"/edit/device/{meter.pk}/",
        {"space": flat.pk, "name": "Hauptzähler", "medium": "GAS", "device_type": "SMART_METER"},
        **DE,
    )
    assert "kann das Medium eines Geräts" in german(refused)
    # The tenant's invite by its name, on the unit's page.
    assert "Einladung von ben@example.org in Sonnenhof / Wohnung 1" in german(
        staff.get(f"/spaces/{flat.pk}/", **DE)
    )


def test_delete_confirmation_pages_in_german(staff, household):
    for kind, obj in (("space", household["home"]), ("space", household["flat"]),
                      ("device", household["meter"]), ("tenant", household["tenant"])):  # fmt: skip
        page = german(staff.get(f"/delete/{kind}/{obj.pk}/", **DE))
        assert "<h2>Zählerfreunde</h2>" in page
    page = german(staff.get(f"/delete/tenant/{household['tenant'].pk}/", **DE))
    assert "Der Nutzer wird dort gelöscht" in page  # Volue Spark's user
    assert "aus dem Space entfernt, wenn er die Einladung angenommen hat" in page


def test_change_of_tenant_page_in_german(staff, household):
    flat = household["flat"]
    page = german(staff.get(f"/spaces/{flat.pk}/change-tenant/", **DE))
    assert "aus dem Space entfernt" in page
    refused = staff.post(
        f"/spaces/{flat.pk}/change-tenant/",
        {"leaving": [household["tenant"].pk], "moved_out": "2026-03-31", "moves_in": "2026-03-01"},
        **DE,
    )
    assert refused.status_code == 200
    german(refused)


def test_discard_page_in_german(staff, household):
    wizard = Wizard.objects.create(
        building=household["home"], building_is_new=True, unit=household["flat"], reached=2
    )
    german(staff.get("/onboard/", **DE))
    page = german(staff.get(f"/onboard/{wizard.pk}/discard/", **DE))
    assert "auf Zählerfreunde" in page and "Hauptzähler" in page


def test_import_page_and_previews_in_german(staff):
    german(staff.get("/import/", **DE))
    good = (
        "building;address_line_one;postcode;city;unit;device_name;tenant_name;tenant_email;"
        "meter_point_id;vehicle_brand;vehicle_model\n"
        "Hof;Weg 1;8000;Zürich;Wohnung 1;Hauptzähler;Ann;ann@example.org;CH10001;Zoe;R\n"
        "Hof;Weg 1;8000;Zürich;Wohnung 2;Hauptzähler;Ben;ben@example.org;CH10002;;\n"
    )
    preview = german(upload(staff, good, **DE), "Hof", "Wohnung 1", "Wohnung 2", "Ann", "Ben")
    assert 'name="upload"' in preview  # a preview to confirm, with its counts
    bad = (
        "building;address_line_one;postcode;city;unit;tenant_name;tenant_email;vehicle_vin\n"
        "Hof;Weg 1;80;Zürich;Wohnung 1;Ann;ann-at-example.org;123\n"
    )
    errors = german(upload(staff, bad, **DE), "Hof", "Wohnung 1", "Ann")
    assert "5 Fehler in der Datei" in errors and "Erforderlich, wenn vehicle_vin" in errors
    assert Space.objects.count() == 0
    german(upload(staff, "nonsense;columns\n1;2\n", **DE), *importer.COLUMNS, "nonsense")
    # The good file imported: the done page and its progress per platform.
    upload_id = preview.split('name="upload" value="')[1].split('"')[0]
    done = staff.post("/import/", {"action": "confirm", "upload": upload_id}, follow=True, **DE)
    german(done, "Zoe R")
    progress = german(staff.get("/import/done/progress/", **DE))
    assert "Fortschritt je Plattform" in progress and "noch nicht bekannt" in progress


def test_sign_in_lockout_page_in_german(settings):
    pages_helpers.make_user("olivia", pages_helpers.ONBOARDING_STAFF)
    for form in ("/login/", "/admin/login/"):
        client = Client()
        for attempt in range(settings.AXES_FAILURE_LIMIT):
            locked = client.post(
                form,
                {"username": "olivia", "password": f"wrong-{attempt}", "next": "/"},
                REMOTE_ADDR=f"10.0.0.{len(form)}",
                **DE,
            )
        assert locked.status_code == 429
        page = german(locked, "olivia")
        assert "Zu viele fehlgeschlagene Anmeldungen" in page and "Zugriffsversuche" in page


def test_every_handlers_declared_text_has_german(settings):
    """What each platform cannot take, as its handler declares it (both Spark APIs): a new
    sentence in providers/ without German here fails this test."""
    declared = set()
    for api in ("current", "guide"):
        settings.SPARK_API = api
        for platform in registry.PLATFORMS:
            for handler in registry.handlers(platform).values():
                declared |= {handler.delete_refusal, handler.unlisted_reason}
                declared |= {handler.delete_effect} - {""}
                for texts in (handler.fixed_fields, handler.create_only, handler.unpushable,
                              handler.compared):  # fmt: skip
                    declared |= set(texts.values())
    with translation.override("de"):
        untranslated = sorted(text for text in declared if sync_words.translate(text) == text)
    assert untranslated == []
    assert len(declared) > 40


@pytest.mark.django_db(transaction=True)
@pytest.mark.platforms("zaehlerfreunde", "zevvy")
def test_what_the_outbox_and_a_comparison_stored_reads_in_german(drifted, staff, portal):
    """Stored by the outbox and by reconcile in English, shown in German: a 404 on an
    update, a change Zählerfreunde did not take, zevvy never connected, what a
    comparison found (missing there, different, what it cannot list)."""
    flat1, flat2 = drifted["flat1"], drifted["flat2"]
    flat2.name = "Wohnung 2"  # Zählerfreunde no longer has it: the update gets a 404
    services.save(flat2)
    flat1.is_participating_in_ltt_project = True  # Zählerfreunde took it as "no" at create
    services.save(flat1)
    sync(portal)
    assert flat2.sync_records.get(provider="zaehlerfreunde").last_error.startswith("Deleted on")
    assert flat1.sync_records.get(provider="zaehlerfreunde").not_sent
    # What the platforms' answers said ("Space '…' was not found.") stays as they said it.
    said = flat2.sync_records.get(provider="zaehlerfreunde").last_error
    data = ("Flat 1 (by hand)", "Somebody else's house", said.split("404: ")[1].split(").")[0])
    page = german(staff.get(f"/spaces/{flat2.pk}/", **DE), *data)
    assert "Auf Zählerfreunde gelöscht (Antwort 404:" in page
    page = german(staff.get(f"/spaces/{flat1.pk}/", **DE), *data)
    assert "nicht gesendet: Zählerfreunde führt die Mieterstrom-Angabe als „nein“" in page
    dashboard = german(staff.get("/", **DE), *data)
    assert (
        "Nicht verbunden: führen Sie manage.py connect_zevvy aus; die Synchronisation" in dashboard
    )

    reconcile.run(["zaehlerfreunde"], started_by="test")
    page = german(staff.get("/drift/", **DE), *data)
    assert "Nicht verglichen: Einladungen: Zählerfreunde kann Einladungen nicht auflisten" in page
    assert "Mieterstrom-Angabe: bei uns „ja“, dort „nein“ (kann nicht gesendet werden:" in page
    assert "das übergeordnete Objekt (Liegenschaft) fehlt dort auch" in page
    dashboard = german(staff.get("/", **DE), *data)
    assert "Fehlt auf Zählerfreunde: die Plattform hat es nicht mehr" in dashboard
    german(staff.get(f"/spaces/{flat2.pk}/", **DE), *data)


def admin_content(response) -> str:
    """The admin page's own content, without the sidebar listing every app (the
    sandboxes' and other rooms' models are named there in English)."""
    page = response.content.decode()
    return page[page.index('id="content"') :]


@pytest.mark.platforms("zevvy", "smartme")
def test_the_admin_says_the_outbox_in_german(client, staff_user, settings):
    """A device zevvy never got (not connected): its admin page, its sync row, the
    connections list and the catalogue (smart-me's, never read), in German, the stored
    reason translated."""
    meter = device(unit(building("Sonnenhof"), "Wohnung 1"), "Hauptzähler")
    sync(settings)  # zevvy refuses before any call: nobody connected it
    row = meter.sync_records.get(provider="zevvy")
    assert row.last_error.startswith("Not connected: run manage.py connect_zevvy")
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    pages = {
        f"/admin/onboarding/device/{meter.pk}/change/": "Übertragungsstand",
        f"/admin/onboarding/syncrecord/{row.pk}/change/": "Nicht verbunden: führen Sie",
        "/admin/onboarding/syncrecord/": "Erneut senden",
        "/admin/onboarding/providerconnection/": "Stand und was zu tun ist",
        "/admin/onboarding/catalogueentry/": "noch nicht gelesen",
    }
    for url, words in pages.items():
        page = admin_content(client.get(url, **DE))
        assert english_left(page, allowed=ours("Hauptzähler (Sonnenhof / Wohnung 1)")) == []
        assert words in page, url
