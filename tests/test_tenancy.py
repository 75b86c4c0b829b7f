"""Ending a tenancy (move-out, or deleting a tenant) ends their access on every
platform, through the outbox, against the real sandboxes; the unit and its devices
stay. Also: discarding an unfinished onboarding."""

import datetime
from contextlib import suppress
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from onboarding import services
from onboarding.models import Device, Invite, Meter, Space, SyncRecord, Tenancy, TenantUser, Wizard
from tests.conftest import SandboxControl

from .factories import building, device, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State
MOVE_OUT = datetime.date(2026, 3, 31)


def sync() -> str:
    """Foreground runs until nothing is due (each platform's rows, parents first)."""
    out = StringIO()
    for _ in range(4):
        with suppress(CommandError):
            call_command("sync_pending", stdout=out, stderr=out)
        SyncRecord.objects.filter(state=State.PENDING).update(not_before=timezone.now())
    return out.getvalue()


def accept(zf: SandboxControl, link: str) -> dict:
    token = link.rstrip("/").rsplit("/", 1)[-1]
    response = zf.http.post(f"{zf.control}/invites/{token}/accept", json={}, timeout=10)
    response.raise_for_status()
    return response.json()


def household(email="ben@example.org", *, platform_sends=True):
    flat = unit(building(), "Flat 1")
    device(flat, "Main meter", external_id="CH-TEN-1")
    ben = services.save(TenantUser(unit=flat, name="Ben Keller", email=email))
    services.save(Meter(tenant=ben, meter_point_id="CH1012301234500000000000000099999"))
    invite = services.save(
        Invite(space=flat, tenant=ben, email=email, send_invite_email=platform_sends)
    )
    return flat, ben, invite


@pytest.fixture
def zf(portal, live_server) -> SandboxControl:
    return SandboxControl(live_server.url, "zaehlerfreunde")


@pytest.fixture
def spark_box(portal, live_server) -> SandboxControl:
    return SandboxControl(live_server.url, "spark")


def test_move_out_removes_the_accepted_tenant_and_the_spark_user(zf, spark_box):
    flat, ben, invite = household()
    sync()
    invite.refresh_from_db()
    joined = accept(zf, invite.invite_link)
    assert zf.count("space_users") == 1 and spark_box.count("users") == 1

    effects = services.deletion_effects(ben)
    said = {p["label"]: " ".join(e["effect"] for e in p["effects"]) for p in effects["platforms"]}
    assert "removed from the space if they accepted" in said["Zählerfreunde"]
    assert "Volue Spark" in said

    services.end_tenancy([ben], moved_out=MOVE_OUT, ended_by="olivia")
    sync()

    state = zf.state()
    assert state["space_users"] == []  # their access to the unit is gone
    assert joined["userId"] in {u["id"] for u in state["users"]}  # the account is theirs
    assert spark_box.count("users") == 0
    assert not TenantUser.objects.exists() and not Invite.objects.exists()
    # The unit and its device stay, here and there.
    assert Space.objects.filter(pk=flat.pk).exists() and Device.objects.count() == 1
    assert (state["counts"]["spaces"], state["counts"]["devices"]) == (2, 1)
    [history] = services.tenancy_history(flat)
    assert (history["name"], history["moved_out"], history["tenant"]) == (
        "Ben Keller",
        MOVE_OUT,
        None,
    )
    assert Tenancy.objects.get().ended_by == "olivia"


def test_an_invite_not_yet_accepted_is_said_to_stay_open_until_retry_finds_them(zf):
    flat, ben, invite = household()
    sync()
    invite.refresh_from_db()
    link = invite.invite_link
    services.delete(ben)  # a plain delete ends the tenancy too
    sync()
    row = Invite.objects.get().sync_records.get(provider="zaehlerfreunde")
    assert row.state == State.NEEDS_ATTENTION
    assert "has not accepted the Zählerfreunde invite" in row.last_error
    assert "no API to withdraw" in row.last_error
    assert not TenantUser.objects.exists()  # Spark let go; only the open link is left

    accept(zf, link)  # they use the old link after all
    services.retry([row])
    sync()
    assert zf.state()["space_users"] == []
    assert not Invite.objects.exists()
    assert Tenancy.objects.get().moved_out == timezone.localdate()


def test_a_link_the_portal_never_emailed_reaches_nobody_and_is_let_go(zf):
    flat, ben, invite = household(platform_sends=False)
    sync()
    services.end_tenancy([ben], moved_out=MOVE_OUT)
    sync()
    assert not Invite.objects.exists()
    assert not SyncRecord.objects.exclude(state=State.SYNCED).exists()


def test_deleting_a_unit_voids_its_invites_with_the_space(zf):
    flat, ben, invite = household()
    sync()
    effects = services.deletion_effects(flat)
    zf_effects = next(p for p in effects["platforms"] if p["platform"] == "zaehlerfreunde")
    invite_effect = next(e for e in zf_effects["effects"] if e["kind"] == "invite")
    assert "goes with its parent" in invite_effect["effect"]
    services.delete(flat)
    sync()
    assert not Space.objects.filter(pk=flat.pk).exists()
    assert zf.state()["invites"] == []  # gone with their space


# --- Discarding an unfinished onboarding --------------------------------------------------


def wizard_with(unit_=None, **fields) -> Wizard:
    return Wizard.objects.create(unit=unit_, building=unit_.parent if unit_ else None, **fields)


def test_discard_and_remove_deletes_what_the_wizard_made_there(zf):
    flat, ben, invite = household()
    wizard = wizard_with(flat, building_is_new=True, tenant=ben, invite=invite, reached=4)
    sync()
    assert [str(o) for o in services.wizard_created(wizard)] == ["Lindenhof"]
    services.discard_wizard(wizard, remove=True)
    sync()
    assert not Space.objects.exists() and not Wizard.objects.exists()
    assert zf.count("spaces") == 0
    assert not Tenancy.objects.exists()


def test_discard_and_keep_leaves_everything(zf):
    flat, ben, invite = household()
    wizard = wizard_with(flat, building_is_new=True, tenant=ben, invite=invite, reached=4)
    services.discard_wizard(wizard, remove=False)
    assert not Wizard.objects.exists()
    assert Space.objects.count() == 2 and TenantUser.objects.count() == 1


def test_discarding_a_change_of_tenant_keeps_the_unit_and_its_devices(zf):
    flat, ben, invite = household()
    services.end_tenancy([ben], moved_out=MOVE_OUT)
    wizard = services.start_change_of_tenant(flat, moves_in_on=MOVE_OUT)
    new = TenantUser(name="Mia Muster", email="mia@example.org")
    services.wizard_save_tenant(wizard, new)
    wizard.save()
    assert Tenancy.objects.get(tenant=new).moved_in == MOVE_OUT
    assert services.wizard_created(wizard) == [new]
    services.discard_wizard(wizard, remove=True)
    assert Space.objects.filter(pk=flat.pk).exists() and Device.objects.count() == 1
    assert not TenantUser.objects.filter(pk=new.pk).exists()
