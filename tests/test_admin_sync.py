"""The honest admin against the Zählerfreunde sandbox over real HTTP: what the form
refuses never reaches the platform, and a row accepted as is stays settled."""

import pytest
from django.core.management import CommandError, call_command

from onboarding import services
from onboarding.models import Invite, SyncRecord

from .factories import building, tenant_with_invite, unit
from .test_admin import messages_of, url
from .test_admin_honest import form_errors, invite_form

pytestmark = pytest.mark.django_db(transaction=True)
State = SyncRecord.State


def test_an_e_mail_change_the_platform_cannot_take_is_refused_and_never_sent(sandbox, admin_client):
    invite = tenant_with_invite(unit(building(), "Flat 1"), "anna@example.org")
    call_command("sync_pending")
    assert sandbox.count("invites") == 1
    requests_before = dict(sandbox.state()["requests"])

    response = admin_client.post(url(invite, "change"), invite_form(invite, email="new@x.org"))
    assert "cannot change an invite once made" in form_errors(response)["email"][0]

    call_command("sync_pending")
    invite.refresh_from_db()
    assert invite.email == "anna@example.org"
    assert invite.sync_records.get().state == State.SYNCED
    assert sandbox.state()["requests"] == requests_before  # nothing went out


def test_a_row_accepted_as_is_stays_settled_until_the_next_change(
    sandbox, admin_client, admin_user
):
    invite = tenant_with_invite(unit(building(), "Flat 1"), "anna@example.org")
    call_command("sync_pending")
    # A change the platform cannot take that got past the form (services.save refuses
    # it when validating; an import does not validate this).
    invite.send_invite_email = False
    services.save(invite, validate=False)
    with pytest.raises(CommandError, match="1 rows failed or need attention"):
        call_command("sync_pending")
    row = invite.sync_records.get()
    assert row.state == State.NEEDS_ATTENTION
    error = row.last_error

    response = admin_client.post(
        url(Invite), {"action": "accept_as_is", "_selected_action": [invite.pk]}, follow=True
    )
    assert any("1 sync row accepted as is" in m for m in messages_of(response))
    call_command("sync_pending")  # exit 0: nothing failed or waiting any more
    row.refresh_from_db()
    assert (row.state, row.dismissed_by, row.last_error) == (
        State.SYNCED,
        admin_user.username,
        error,
    )
    assert sandbox.count("invites") == 1


def test_retry_of_an_invite_that_may_exist_asks_first(admin_client, sandbox, portal):
    from django.urls import reverse

    invite = tenant_with_invite(unit(building(), "Flat 1"), "a@example.org")
    invite.sync_records.update(
        state=SyncRecord.State.NEEDS_ATTENTION, outcome_unknown=True, last_error="no answer"
    )
    url = reverse("admin:onboarding_invite_changelist")
    selection = {"action": "retry_sync", "_selected_action": [invite.pk]}
    asked = admin_client.post(url, selection)
    assert asked.status_code == 200
    assert "second invite link" in asked.content.decode()
    assert invite.sync_records.get().state == SyncRecord.State.NEEDS_ATTENTION  # not yet

    admin_client.post(url, {**selection, "unknown_outcome": "resend"})
    row = Invite.objects.get(pk=invite.pk).sync_records.get()
    assert row.state != SyncRecord.State.NEEDS_ATTENTION and not row.outcome_unknown
