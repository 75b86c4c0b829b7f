"""An authorization server's verification link is rendered for staff to follow: only
https (http on loopback for the embedded sandbox) is accepted (issue 18, item 8)."""

import copy
import json

import pytest
from django.urls import reverse

from onboarding.models import ProviderConnection
from providers.device_flow import DeviceAuthorization, is_safe_link
from providers.errors import PermanentError

from .loopback import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.platforms("zevvy")]


def authorization(uri: str, complete: str = "") -> bytes:
    body = {"device_code": "dc", "user_code": "WDJB-MJHT", "verification_uri": uri,
            "expires_in": 600, "interval": 5}  # fmt: skip
    if complete:
        body["verification_uri_complete"] = complete
    return json.dumps(body).encode()


@pytest.fixture
def zevvy_at(settings, loopback):
    """zevvy pointed at a real (loopback) authorization server, not the sandbox."""
    config = copy.deepcopy(settings.PROVIDER_CONFIG)
    config["zevvy"].update(base_url=loopback.url + "/api", client_id="id", client_secret="s")
    config["zevvy"]["options"].update(
        token_url=loopback.url + "/token", device_authorization_url=loopback.url + "/device"
    )
    settings.PROVIDER_CONFIG = config
    return loopback


@pytest.mark.parametrize(
    ("uri", "complete"),
    [
        ("javascript:alert(document.cookie)", ""),
        ("https://iam.zevvy.org/device", "javascript:alert(1)//?user_code=WDJB"),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("http://iam.zevvy.org/device", ""),  # plain http off loopback
        ("http://127.0.0.1:8000/device", ""),  # http on loopback: only the embedded sandbox
    ],
)
def test_a_verification_link_that_is_not_https_is_refused(zevvy_at, admin_client, uri, complete):
    zevvy_at.default = Answer(
        200, authorization(uri, complete), {"Content-Type": "application/json"}
    )
    start = reverse("admin:onboarding_connect_start", args=["zevvy"])
    page = admin_client.post(start, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "not an https link" in html
    assert "javascript:" not in html and "data:text" not in html
    assert 'href="http://' not in html or uri.startswith("https")
    assert not ProviderConnection.objects.filter(provider="zevvy").exclude(access_token="").exists()


def test_https_links_are_shown(zevvy_at, admin_client):
    zevvy_at.default = Answer(
        200,
        authorization(
            "https://iam.zevvy.org/device", "https://iam.zevvy.org/device?user_code=WDJB"
        ),
        {"Content-Type": "application/json"},
    )
    page = admin_client.post(
        reverse("admin:onboarding_connect_start", args=["zevvy"]), HTTP_HX_REQUEST="true"
    )
    assert 'href="https://iam.zevvy.org/device?user_code=WDJB"' in page.content.decode()


def test_the_rule():
    assert is_safe_link("https://iam.zevvy.org/realms/zevvy/device")
    assert is_safe_link("http://127.0.0.1:8000/sandbox/zevvy/device", allow_http_loopback=True)
    assert is_safe_link("http://localhost:8000/x", allow_http_loopback=True)
    for bad in ("javascript:alert(1)", "JavaScript:alert(1)", "https:///nohost", "vbscript:x",
                'https://x.org/"onmouseover="alert(1)', "http://10.0.0.1/x"):  # fmt: skip
        assert not is_safe_link(bad, allow_http_loopback=True), bad
    with pytest.raises(PermanentError, match="verification_uri is not an https link"):
        DeviceAuthorization.from_response(
            {"device_code": "d", "user_code": "u", "verification_uri": "javascript:alert(1)"}
        )
