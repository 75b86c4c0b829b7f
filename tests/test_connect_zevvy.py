"""Connecting zevvy is a person's act: `manage.py connect_zevvy` in its own process, a
second HTTP client approving (or denying) on the sandbox's verification page, then
`check_providers zevvy`; and the same from the admin's connection page over HTMX."""

import re
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from onboarding.sync.models import DeviceAuthorization, ProviderConnection

from .conftest import ROOT, wait_until
from .zevvy_helpers import ZevvySandbox, decide_on_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.platforms("zevvy")]


@pytest.fixture
def zevvy(portal, live_server) -> ZevvySandbox:
    sandbox = ZevvySandbox(live_server.url)
    sandbox.device_flow(interval=1)
    return sandbox


class ConnectProcess:
    """`manage.py connect_zevvy` as an operator runs it, its output read as it comes."""

    def __init__(self, env: dict):
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "connect_zevvy"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def printed(self, label: str) -> str:
        match = wait_until(
            lambda: re.search(rf"^{label}: (\S+)$", self.output, re.M), timeout=30, message=label
        )
        return match.group(1)

    def wait(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        time.sleep(0.1)  # the reader thread takes the last lines
        return code


@pytest.fixture
def run_connect(worker_env, zevvy):
    started: list[ConnectProcess] = []

    def start(**extra_env) -> ConnectProcess:
        process = ConnectProcess({**worker_env, **{k: str(v) for k, v in extra_env.items()}})
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
        print(process.output)  # shown when the test failed


def test_connect_zevvy_approved_on_the_page_then_check_providers_passes(run_connect, zevvy, capsys):
    with pytest.raises(CommandError):  # before: never connected
        call_command("check_providers", "zevvy")
    assert "not connected: run manage.py connect_zevvy" in capsys.readouterr().out

    command = run_connect()
    user_code = command.printed("user_code")
    verification_uri = command.printed("verification_uri")
    complete = command.printed("verification_uri_complete")
    assert verification_uri == f"{zevvy.realm}/device"
    assert complete == f"{verification_uri}?user_code={user_code}"
    assert f"enter the code {user_code}" in command.output

    # The pending login is kept between polls with its device code encrypted.
    login = DeviceAuthorization.objects.get(provider="zevvy")
    assert login.user_code == user_code and login.outcome == "pending"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT device_code FROM onboarding_deviceauthorization WHERE id = %s", [login.pk]
        )
        (encrypted,) = cursor.fetchone()
    assert encrypted and encrypted != login.device_code and login.device_code not in encrypted

    time.sleep(1.5)  # a poll or two come back "pending" first
    assert "Access granted" in decide_on_page(complete, "approve")  # the second client
    assert command.wait() == 0, command.output
    assert "Connected to zevvy." in command.output

    connection_row = ProviderConnection.objects.get(provider="zevvy")
    assert connection_row.status == ProviderConnection.Status.CONNECTED
    assert connection_row.refresh_token  # kept (encrypted) for the renewals to come
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token FROM onboarding_providerconnection WHERE provider = 'zevvy'"
        )
        (raw_refresh,) = cursor.fetchone()
    assert connection_row.refresh_token not in raw_refresh
    # Settled: the device code is gone, and the command polled at the pace it was given.
    assert DeviceAuthorization.objects.get(pk=login.pk).device_code == ""
    code = zevvy.state()["device_codes"][0]
    assert code["status"] == "used" and code["slow_downs"] == 0 and code["polls"] >= 2

    call_command("check_providers", "zevvy")
    assert "zevvy: OK (sandbox " in capsys.readouterr().out


def test_a_denied_code_ends_the_command_with_the_reason(run_connect, zevvy):
    command = run_connect()
    complete = command.printed("verification_uri_complete")
    decide_on_page(complete, "deny")
    assert command.wait() == 1
    assert "CommandError: The person at zevvy denied access." in command.output
    assert DeviceAuthorization.objects.get(provider="zevvy").outcome == "failed"
    assert not ProviderConnection.objects.filter(provider="zevvy").exists()


def test_an_expired_code_ends_the_command_with_the_reason(run_connect, zevvy):
    command = run_connect()
    command.printed("user_code")
    assert zevvy.expire_device_codes() == 1
    assert command.wait() == 1
    assert (
        "CommandError: The code expired before anyone approved it; start again." in command.output
    )


def test_an_unreachable_authorization_server_is_one_sentence(run_connect):
    command = run_connect(
        ZEVVY_DEVICE_AUTHORIZATION_URL="http://127.0.0.1:9/realms/zevvy/protocol/openid-connect/auth/device"
    )
    assert command.wait() == 1
    lines = [line for line in command.lines if line.strip()]
    assert lines[-1].startswith("CommandError: zevvy's authorization server could not be reached")
    assert "Traceback" not in command.output


def test_the_command_honours_slow_down(run_connect, zevvy):
    zevvy.device_flow(interval=2)
    command = run_connect()
    complete = command.printed("verification_uri_complete")
    wait_until(lambda: _code(zevvy)["polls"] >= 1, message="the command's first poll")
    # Another client polls the same code at once (as a copy of the command might): the
    # command's next poll then comes too soon after it and is told to slow down.
    device_code = DeviceAuthorization.objects.get(provider="zevvy").device_code
    other = requests.post(
        zevvy.token_url,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device_code,
            "client_id": "portal-sandbox",
            "client_secret": "sandbox-secret",
        },
        timeout=10,
    )
    assert other.json()["error"] == "slow_down"
    wait_until(lambda: "slow down: polling every 7 s" in command.output, timeout=15)
    decide_on_page(complete, "approve")
    assert command.wait() == 0, command.output
    # One slow_down for the other client, one for the command, and none after: the
    # command kept 7 s between its polls from then on.
    assert _code(zevvy)["slow_downs"] == 2, _code(zevvy)


def _code(zevvy) -> dict:
    return zevvy.state()["device_codes"][0]


# --- the admin's connection page ---------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


def test_admin_panel_connects_by_itself_over_htmx(staff, zevvy):
    page = staff.get("/admin/onboarding/providerconnection/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "htmx.min.js" in html and "Connect zevvy" in html
    assert "Not connected: a person with a zevvy account" in html
    assert '"X-CSRFToken"' in html  # CSRF travels in hx-headers

    htmx = {"HTTP_HX_REQUEST": "true"}
    started = staff.post("/admin/onboarding/providerconnection/connect/zevvy/start/", **htmx)
    fragment = started.content.decode()
    login = DeviceAuthorization.objects.get(provider="zevvy")
    assert "<html" not in fragment  # a fragment, not a page
    assert login.user_code in fragment and login.verification_uri_complete in fragment
    assert 'hx-trigger="load delay:1s"' in fragment  # it asks again after the interval
    assert login.started_by == "admin"

    time.sleep(1.1)
    waiting = staff.get("/admin/onboarding/providerconnection/connect/zevvy/", **htmx)
    assert "hx-trigger" in waiting.content.decode()  # still pending: keeps polling
    decide_on_page(login.verification_uri_complete, "approve")

    def settled():
        time.sleep(1.1)
        response = staff.get("/admin/onboarding/providerconnection/connect/zevvy/", **htmx)
        text = response.content.decode()
        return text if "hx-trigger" not in text else None

    done = wait_until(settled, timeout=15, message="the panel settles")
    assert "Connected to zevvy." in done and "Connect zevvy again" in done
    assert ProviderConnection.objects.get(provider="zevvy").refresh_token
    # No further call to zevvy once settled.
    polls = zevvy.state()["device_codes"][0]["polls"]
    staff.get("/admin/onboarding/providerconnection/connect/zevvy/", **htmx)
    assert zevvy.state()["device_codes"][0]["polls"] == polls


def test_admin_panel_shows_a_denied_login_and_a_revoked_grant(staff, zevvy):
    htmx = {"HTTP_HX_REQUEST": "true"}
    staff.post("/admin/onboarding/providerconnection/connect/zevvy/start/", **htmx)
    login = DeviceAuthorization.objects.get(provider="zevvy")
    decide_on_page(login.verification_uri_complete, "deny")
    time.sleep(1.1)
    text = staff.get("/admin/onboarding/providerconnection/connect/zevvy/", **htmx).content
    assert b"Not connected: The person at zevvy denied access." in text
    assert b"hx-trigger" not in text


def test_admin_start_without_htmx_is_a_page_and_a_stranger_cannot_start(client, staff, zevvy):
    response = staff.post("/admin/onboarding/providerconnection/connect/zevvy/start/")
    assert response.status_code == 302
    page = staff.get(response["Location"])
    assert b"<html" in page.content and b"data-user-code" in page.content

    client.logout()
    refused = client.post("/admin/onboarding/providerconnection/connect/zevvy/start/")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
