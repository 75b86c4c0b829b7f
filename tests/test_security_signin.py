"""The sign-in throttle (issue 18, item 4): per account and per address, on the portal's
form and the admin's, a page that says when to try again, and an unlock in the admin."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from .pages_helpers import ONBOARDING_STAFF, PASSWORD, make_user

pytestmark = pytest.mark.django_db

FORMS = ["/login/", "/admin/login/"]


def sign_in(client: Client, form: str, username: str, password: str, address="10.0.0.1"):
    return client.post(
        form, {"username": username, "password": password, "next": "/"}, REMOTE_ADDR=address
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("form", FORMS)
def test_a_locked_out_account_cannot_sign_in_with_the_right_password(form, settings):
    """The held-out check: 100 wrong passwords then the right one used to sign in."""
    make_user("olivia", ONBOARDING_STAFF)
    client = Client()
    answers = [
        sign_in(client, form, "olivia", f"wrong-{n}") for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[0].status_code == 200  # a wrong password is said in place
    assert answers[-1].status_code == 429  # the last failure allowed locks
    locked = sign_in(client, form, "olivia", PASSWORD)
    assert locked.status_code == 429 and not signed_in(client)
    text = locked.content.decode()
    assert "Try again in 15 minutes, after" in text
    # Another address, same account: still locked (per account).
    assert sign_in(Client(), form, "olivia", PASSWORD, address="10.9.9.9").status_code == 429


@pytest.mark.parametrize("form", FORMS)
def test_an_address_guessing_many_accounts_is_locked_out(form, settings):
    make_user("olivia", ONBOARDING_STAFF)
    make_user("bruno", ONBOARDING_STAFF)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), form, f"guess-{attempt}", "wrong", address="10.6.6.6")
    from_there = Client()
    assert sign_in(from_there, form, "olivia", PASSWORD, address="10.6.6.6").status_code == 429
    assert not signed_in(from_there)
    elsewhere = Client()
    assert sign_in(elsewhere, form, "bruno", PASSWORD, address="10.1.1.1").status_code == 302
    assert signed_in(elsewhere)


def test_the_admin_unlocks(settings):
    make_user("olivia", ONBOARDING_STAFF)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "/login/", "olivia", "wrong")
    assert sign_in(Client(), "/login/", "olivia", PASSWORD).status_code == 429
    support = make_user("sam", None)
    support.is_superuser = True
    support.save()
    admin = Client()
    admin.force_login(support)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "olivia" in admin.get(changelist).content.decode()
    done = admin.post(
        changelist,
        {
            "action": "unlock",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "Unlocked: olivia." in done.content.decode()
    client = Client()
    assert sign_in(client, "/login/", "olivia", PASSWORD).status_code == 302 and signed_in(client)


def test_behind_a_proxy_the_clients_address_counts_not_the_proxys(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("olivia", ONBOARDING_STAFF)
    proxy = "10.0.0.254"
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/login/",
            {"username": f"guess-{attempt}", "password": "x"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",  # the left one is the client's lie
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    colleague = Client()
    response = colleague.post(
        "/login/",
        {"username": "olivia", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.2",
    )
    assert response.status_code == 302 and signed_in(colleague)
