"""Who may do what (issue 18, item 5), and what held in the review, kept as tests.

Sandbox control needs the trainer permission (`sandbox_kit.control_sandbox`, group
"Trainers") and, for a cookie session, Django's CSRF token; the `X-Sandbox-Token` header
stays for scripts. The catalogue refresh needs `onboarding.refresh_catalogue` (onboarding
staff have it) and is rate-limited. A viewer's, an untrained staff user's (no role) and
onboarding staff's POSTs to sandbox control get 403 and change nothing; so do a viewer's
and an untrained staff user's POSTs to the catalogue refresh.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from onboarding.catalogue.models import CatalogueEntry
from onboarding.roles import TRAINERS, ensure_roles
from portal.celery import app
from providers.sandbox_kit.models import Fault, Latency
from providers.zaehlerfreunde.sandbox.models import Invite, SentEmail, Space, User
from providers.zaehlerfreunde.sandbox.roles import ensure_seeded

from .conftest import purge_broker
from .pages_helpers import ONBOARDING_STAFF, VIEWERS, make_user

pytestmark = pytest.mark.django_db

NOW = "2026-01-01T00:00Z"
PLATFORMS = ("zaehlerfreunde", "smartme", "climkit", "spark", "zevvy")
CONTROL_POSTS = [
    (f"/sandbox/{name}/_sandbox/{what}", body)
    for name in PLATFORMS
    for what, body in (
        ("faults", '{"mode": "error", "count": 3}'),
        ("reset", ""),
        ("tokens/expire", ""),
        ("latency", '{"ms": 5000}'),
    )
]


def signed_in(user, *, csrf_checks: bool = True) -> Client:
    client = Client(enforce_csrf_checks=csrf_checks)
    client.force_login(user)
    return client


@pytest.fixture
def invite():
    space = Space.objects.create(
        name="Lindenhof", category="FLAT", address_line_one="Weg 1", postcode="8004", city="Zürich"
    )
    invite = Invite.objects.create(
        space=space,
        user_email="tenant@example.org",
        token="t-123",
        access_role=ensure_seeded()[0],
        send_invite_email=True,
        link="http://testserver/sandbox/zaehlerfreunde/invite/t-123",
    )
    SentEmail.objects.create(invite=invite, to="tenant@example.org", subject="Invite", body="…")
    return invite


@pytest.fixture
def trainer():
    user = make_user("tina", ONBOARDING_STAFF)
    ensure_roles(Group, Permission)
    user.groups.add(Group.objects.get(name=TRAINERS))
    return user


@pytest.mark.parametrize("role", [VIEWERS, None, ONBOARDING_STAFF])
def test_sandbox_control_is_refused_without_the_trainer_permission(role, invite):
    """The held-out check: every POST a 403, the sandbox as it was."""
    client = signed_in(make_user("someone", role), csrf_checks=False)  # CSRF is not the reason
    for url, body in CONTROL_POSTS:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 403, url
        assert "trainer permission" in response.json()["error"]
    accept = client.post(
        "/sandbox/zaehlerfreunde/_sandbox/invites/t-123/accept", "{}", "application/json"
    )
    assert accept.status_code == 403
    # Reading the invite e-mails (with their links) and approving zevvy codes: refused too.
    assert client.get("/sandbox/zaehlerfreunde/_sandbox/emails").status_code == 403
    approve = client.post(
        "/sandbox/zevvy/auth/realms/zevvy/device", {"user_code": "ABCD-EFGH", "decision": "approve"}
    )
    assert approve.status_code == 403
    assert not Fault.objects.exists() and not Latency.objects.exists()
    assert Invite.objects.get().accepted_at is None and not User.objects.exists()
    assert SentEmail.objects.count() == 1 and Space.objects.count() == 1  # not reset


def test_a_trainer_controls_the_sandboxes_with_csrf(trainer):
    client = signed_in(trainer)
    faults = "/sandbox/zaehlerfreunde/_sandbox/faults"
    body = '{"mode": "error", "count": 2}'
    # A cookie session without the CSRF token: another site's form, refused.
    assert client.post(faults, body, content_type="application/json").status_code == 403
    assert not Fault.objects.exists()
    client.get("/sandbox/zaehlerfreunde/")  # the trainer page's forms set the CSRF cookie
    token = client.cookies["csrftoken"].value
    answered = client.post(faults, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answered.status_code == 201 and Fault.objects.get().remaining == 2


def test_scripts_keep_the_control_token_header(settings):
    response = Client(enforce_csrf_checks=True).post(
        "/sandbox/spark/_sandbox/faults",
        '{"mode": "timeout"}',
        content_type="application/json",
        HTTP_X_SANDBOX_TOKEN=settings.SANDBOX_CONTROL_TOKEN,
    )
    assert response.status_code == 201
    wrong = Client().post("/sandbox/spark/_sandbox/reset", HTTP_X_SANDBOX_TOKEN="guess")
    assert wrong.status_code == 403 and Fault.objects.count() == 1


def queued_messages() -> int:
    # Not passive: on Redis a queue that never held a message does not exist yet,
    # and a passive declare of it fails instead of answering zero.
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue="celery").message_count


@pytest.fixture
def broker():
    purge_broker()
    cache.clear()
    yield
    purge_broker()


@pytest.mark.parametrize("role", [VIEWERS, None])
def test_catalogue_refresh_is_refused_without_the_permission(role, broker):
    client = signed_in(make_user("someone", role), csrf_checks=False)
    refresh = client.post(
        reverse("admin:onboarding_catalogueentry_refresh"), {"platform": "smartme"}
    )
    assert refresh.status_code == 403
    CatalogueEntry.objects.create(
        platform="smartme",
        kind="device",
        remote_id="d1",
        name="Meter",
        last_seen=NOW,
        first_seen=NOW,
    )
    action = client.post(
        reverse("admin:onboarding_catalogueentry_changelist"),
        {"action": "refresh_selected", "_selected_action": [CatalogueEntry.objects.get().pk]},
    )
    assert action.status_code == 403
    assert queued_messages() == 0  # no refresh was started


def test_onboarding_staff_refresh_at_most_once_a_minute(broker):
    client = signed_in(make_user("olivia", ONBOARDING_STAFF), csrf_checks=False)
    url = reverse("admin:onboarding_catalogueentry_refresh")
    assert client.post(url, {"platform": "smartme"}).status_code == 302
    assert queued_messages() == 1
    again = client.post(url, {"platform": "smartme"}, follow=True)
    assert "try again later" in again.content.decode()
    assert queued_messages() == 1  # the second ask spent nothing
    assert client.post(url, {"platform": "climkit"}).status_code == 302
    assert queued_messages() == 2  # each platform its own minute


def test_the_trainer_pages_switches_are_forms_that_work(trainer):
    client = signed_in(trainer)
    for name in PLATFORMS:
        page = client.get(f"/sandbox/{name}/", HTTP_ACCEPT="text/html")
        assert page.status_code == 200, name
        html = page.content.decode()
        switch = f"/sandbox/{name}/_sandbox/switch"
        assert f'action="http://testserver{switch}"' in html and "csrfmiddlewaretoken" in html
        token = client.cookies["csrftoken"].value
        post = {"csrfmiddlewaretoken": token}
        assert client.post(switch, {**post, "action": "fault", "fail": "503", "count": "3",
                                    "path": "/x"}).status_code == 302  # fmt: skip
        fault = Fault.objects.get(platform=name)
        assert (fault.mode, fault.status, fault.remaining, fault.path) == ("error", 503, 3, "/x")
        assert "status 503" in client.get(f"/sandbox/{name}/").content.decode()
        client.post(switch, {**post, "action": "fault", "fail": "timeout"})
        assert Fault.objects.filter(platform=name, mode="timeout").exists()
        client.post(switch, {**post, "action": "latency", "ms": "250"})
        assert Latency.objects.get(platform=name).ms == 250
        assert client.post(switch, {**post, "action": "expire-tokens"}).status_code == 302
        refused = client.post(switch, {**post, "action": "fault", "fail": "418"})
        assert refused.status_code == 400 and Fault.objects.filter(platform=name).count() == 2
        client.post(switch, {**post, "action": "reset"})
        assert not Fault.objects.filter(platform=name).exists()
        assert not Latency.objects.filter(platform=name).exists()
        # Without the CSRF token: refused, nothing switched.
        assert client.post(switch, {"action": "fault", "fail": "500"}).status_code == 403
        assert not Fault.objects.filter(platform=name).exists()


def test_the_demo_login_is_a_trainer(settings, tmp_path):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    settings.VAR_DIR, settings.DEBUG = tmp_path, True  # embedded mode, a var/ of its own
    call_command("ensure_demo_staff", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo = User.objects.get(username="demo")
    assert demo.groups.filter(name=TRAINERS).exists()
