"""The engine's second pass, one attempt at a time against the Zählerfreunde sandbox:
unexpected answers, per-object refusals, failed parents, disabled platforms, objects
deleted on the platform, clocks, and what reaches the call log."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from onboarding import services
from onboarding.models import ApiCall, ProviderConnection, Space, SyncRecord
from onboarding.sync import engine
from providers import registry

from .factories import building, device, tenant_with_invite, unit

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


def row_of(obj) -> SyncRecord:
    return obj.sync_records.get(provider="zaehlerfreunde")


def push(obj) -> SyncRecord:
    """One attempt now, whatever backoff the row was waiting for."""
    row = row_of(obj)
    SyncRecord.objects.filter(pk=row.pk).update(not_before=timezone.now() - timedelta(hours=1))
    engine.run(row.pk)
    return row_of(obj)


def test_a_maintenance_page_served_with_200_is_retried_then_needs_attention(sandbox, portal):
    portal.SYNC_MAX_ATTEMPTS = 3
    home = building()
    sandbox.fault("maintenance", count=10, path="/spaces")
    first = push(home)
    assert first.state == State.PENDING and first.attempts == 1  # never left in flight
    assert "text/html" in first.last_error and "back soon" in first.last_error
    push(home)
    final = push(home)
    assert final.state == State.NEEDS_ATTENTION and "after 3 attempts" in final.last_error
    calls = ApiCall.objects.filter(sync_record=final, path="/spaces", method="POST")
    assert calls.count() == 3 and {c.status for c in calls} == {200}  # every call recorded
    assert sandbox.count("spaces") == 0


def test_a_403_fails_that_row_and_leaves_the_platform_connected(sandbox, portal):
    home, other = building(), building("Sonnenhof")
    sandbox.fault("error", count=1, status=403, path="/spaces")
    refused = push(home)
    assert refused.state == State.FAILED and "forbidden" in refused.last_error
    assert not ProviderConnection.objects.filter(
        provider="zaehlerfreunde", status=ProviderConnection.Status.DISCONNECTED
    ).exists()
    assert push(other).state == State.SYNCED


def test_errors_fill_the_call_logs_error_column(sandbox, portal):
    home = building()
    sandbox.fault("error", count=1, status=400, path="/spaces")
    push(home)
    call = ApiCall.objects.get(path="/spaces", method="POST")
    assert call.status == 400 and call.error == "HTTP 400 Bad Request"


def test_a_unit_under_a_failed_building_says_so_and_goes_on_once_it_syncs(sandbox, portal):
    home = building()
    flat = unit(home, "Flat 1")
    sandbox.fault("error", count=1, status=400, path="/spaces")
    assert push(home).state == State.FAILED
    waiting = row_of(flat)  # flagged at once, before its own turn
    assert waiting.state == State.NEEDS_ATTENTION and waiting.waiting_for_parent
    assert waiting.last_error.startswith("Waiting for Lindenhof, which failed:")

    services.retry([row_of(home)])
    assert push(home).state == State.SYNCED
    assert row_of(flat).state == State.PENDING  # handed over by its building
    assert push(flat).state == State.SYNCED
    assert sandbox.count("spaces") == 2


def test_a_unit_met_by_its_failed_building_on_its_own_turn_says_so(sandbox, portal):
    home = building()
    flat = unit(home, "Flat 1")
    SyncRecord.objects.filter(pk=row_of(home).pk).update(
        state=State.NEEDS_ATTENTION, last_error="Zählerfreunde still failing"
    )
    row = push(flat)
    assert row.state == State.NEEDS_ATTENTION
    assert "which failed: Zählerfreunde still failing" in row.last_error


def test_a_disabled_platforms_rows_wait_and_are_not_pushed(sandbox, portal):
    home = building()
    portal.PROVIDERS = []  # Zählerfreunde removed from PROVIDERS after the save
    row = push(home)
    assert row.state == State.PENDING and "not enabled" in row.last_error
    assert sandbox.requests_to("POST /spaces") == 0
    from onboarding.sync.tasks import due_records

    assert not due_records().exists()


def test_deleting_what_only_a_disabled_platform_holds_completes_here_with_a_note(sandbox, portal):
    home = building()
    assert push(home).state == State.SYNCED
    portal.PROVIDERS = []
    notes: list[str] = []
    assert services.delete(home, notes=notes) is True
    assert not Space.objects.exists()
    assert notes and "not enabled" in notes[0]
    assert sandbox.count("spaces") == 1  # left there, as the note says


def test_an_object_deleted_on_the_platform_asks_a_person_and_retry_creates_it(sandbox, portal):
    home = building()
    first_id = push(home).remote_id
    registry.client("zaehlerfreunde").delete_space(first_id)  # someone removed it there
    home.city = "Winterthur"
    services.save(home)
    gone = push(home)
    assert gone.state == State.NEEDS_ATTENTION
    assert gone.last_error.startswith("Deleted on Zählerfreunde")
    assert "Retry creates it again" in gone.last_error

    services.retry([gone])
    again = push(home)
    assert again.state == State.SYNCED and again.remote_id not in ("", first_id)
    assert sandbox.count("spaces") == 1
    assert sandbox.state()["spaces"][0]["city"] == "Winterthur"


def test_a_skewed_host_clock_neither_steals_a_live_claim_nor_delays_a_due_row(
    sandbox, portal, monkeypatch
):
    home = building()
    row = row_of(home)
    token = engine.uuid.uuid4()
    assert engine.claim(row.pk, token) is not None  # a worker holds it, now
    # This host's clock runs an hour ahead: by its clock the claim looks long stale.
    ahead = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: ahead)
    assert engine.claim(row.pk, engine.uuid.uuid4()) is None
    assert row_of(home).claim_token == token

    # A host whose clock runs behind still sees a row made due "now" as due.
    monkeypatch.setattr(timezone, "now", lambda: ahead - timedelta(hours=2))
    SyncRecord.objects.filter(pk=row.pk).update(claim_token=None, state=State.PENDING)
    services.retry([row_of(home)])
    assert engine.claim(row.pk, engine.uuid.uuid4()) is not None


def test_a_token_call_that_fails_means_the_create_was_never_sent(sandbox, portal):
    home = building()
    ProviderConnection.objects.filter(provider="zaehlerfreunde").delete()  # no token yet
    sandbox.fault("error", count=1, status=503, path="/auth/token")
    row = push(home)
    assert row.state == State.PENDING and not row.outcome_unknown
    assert sandbox.requests_to("POST /spaces") == 0


def test_an_invite_link_stays_out_of_the_outbox_and_the_call_log(sandbox, portal):
    home = building()
    flat = unit(home, "Flat 1")
    invite = tenant_with_invite(flat, "mieterin@example.org", send_email=False)
    push(home), push(flat)
    row = push(invite)
    invite.refresh_from_db()
    assert row.state == State.SYNCED and invite.invite_link.startswith("http")
    assert row.remote_id.startswith("invite:") and invite.invite_link not in row.remote_id
    assert not ApiCall.objects.filter(response_body__contains=invite.invite_link).exists()


def test_changes_a_platform_cannot_take_are_refused_before_saving(sandbox, portal):
    home = building()
    flat, other = unit(home, "Flat 1"), unit(home, "Flat 2")
    meter = device(flat, "Meter", external_id="CH1")
    invite = tenant_with_invite(flat, "a@example.org")
    for obj in (home, flat, other, meter, invite):
        push(obj)
    meter.medium = "GAS"
    with pytest.raises(ValidationError) as refused:
        services.save(meter)
    assert "cannot change a device's medium" in str(refused.value.message_dict["medium"])
    invite.space = other
    with pytest.raises(ValidationError) as moved:
        services.save(invite)
    assert "cannot move an invite" in str(moved.value.message_dict["space"])


def test_an_invite_without_answer_is_found_once_the_tenant_accepted(sandbox, portal):
    home = building()
    flat = unit(home, "Flat 1")
    # Zählerfreunde e-mails the tenant: a second invite would reach them too.
    invite = tenant_with_invite(flat, "mieterin@example.org", send_email=True)
    push(home), push(flat)
    sandbox.fault("timeout", count=1, delay=3, path="/invites")  # made, answer lost
    unknown = push(invite)
    assert unknown.outcome_unknown and unknown.state == State.PENDING

    asked = push(invite)  # not accepted yet: the platform cannot tell, a person decides
    assert asked.state == State.NEEDS_ATTENTION
    assert "Ask mieterin@example.org whether an invite e-mail" in asked.last_error
    assert sandbox.count("invites") == 1

    link = sandbox.state()["invites"][0]["inviteLink"]
    token = link.rstrip("/").rsplit("/", 1)[-1]
    accepted = sandbox.http.post(f"{sandbox.control}/invites/{token}/accept", json={}, timeout=10)
    assert accepted.status_code in (200, 201), accepted.text
    services.retry([asked])  # a plain Retry looks again first
    done = push(invite)
    invite.refresh_from_db()
    assert done.state == State.SYNCED and done.remote_id.startswith("user:")
    assert invite.status == invite.Status.ACCEPTED
    assert sandbox.count("invites") == 1  # nothing sent twice


def test_the_configured_access_role_and_the_mieterstrom_flag_reach_the_platform(
    sandbox, portal, monkeypatch
):
    options = portal.PROVIDER_CONFIG["zaehlerfreunde"]["options"]
    monkeypatch.setitem(options, "access_role_id", "8a6d4c21-0f3b-4e8a-b1c7-5e9d2a3f6b42")
    home = building(category="LANDLORD_TO_TENANT_ELECTRICITY_PROJECT")
    flat = unit(home, "Flat 1", is_participating_in_ltt_project=True)
    invite = tenant_with_invite(flat, "a@example.org", send_email=False)
    for obj in (home, flat, invite):
        assert push(obj).state == State.SYNCED
    state = sandbox.state()
    (remote_flat,) = [s for s in state["spaces"] if s["name"] == "Flat 1"]
    assert remote_flat["isParticipatingInLttProject"] is True
    assert state["invites"][0]["accessRoleId"] == "8a6d4c21-0f3b-4e8a-b1c7-5e9d2a3f6b42"
