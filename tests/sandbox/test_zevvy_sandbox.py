"""The zevvy sandbox over real HTTP (pytest-django's live server + requests): Keycloak's
device flow, the API as the guide and NOTES.md describe it, and the control side."""

import re
import time

import pytest
import requests
from django.conf import settings

from tests.zevvy_helpers import CSRF_FIELD, ZevvySandbox, decide_on_page

pytestmark = pytest.mark.django_db(transaction=True)
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT = {"client_id": "portal-sandbox", "client_secret": "sandbox-secret"}
SCOPE = "offline_access measurement register device"


@pytest.fixture
def zevvy(settings, live_server) -> ZevvySandbox:
    settings.SANDBOX_CLIENT_ID = "portal-sandbox"
    settings.SANDBOX_CLIENT_SECRET = "sandbox-secret"
    sandbox = ZevvySandbox(live_server.url)
    sandbox.device_flow(interval=1)
    return sandbox


def authorize(zevvy, scope=SCOPE, **client) -> dict:
    response = requests.post(
        zevvy.device_authorization_url, data={**(client or CLIENT), "scope": scope}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def exchange(zevvy, device_code: str, **client) -> requests.Response:
    return requests.post(
        zevvy.token_url,
        data={**(client or CLIENT), "grant_type": DEVICE_CODE_GRANT, "device_code": device_code},
        timeout=10,
    )


def tokens(zevvy, scope=SCOPE) -> dict:
    """A person approves; the client gets its tokens."""
    answer = authorize(zevvy, scope)
    decide_on_page(answer["verification_uri_complete"])
    response = exchange(zevvy, answer["device_code"])
    assert response.status_code == 200, response.text
    return response.json()


def api(zevvy, method, path, token, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, zevvy.api + path, headers=headers, timeout=10, **kwargs)


def oauth_error(response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert response.headers["Cache-Control"] == "no-store"
    return body["error_description"]


# --- the device authorization endpoint ----------------------------------------------------


def test_device_authorization_answer(zevvy):
    answer = authorize(zevvy)
    assert set(answer) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", answer["user_code"])
    assert answer["verification_uri"] == f"{zevvy.realm}/device"
    assert answer["verification_uri_complete"].endswith(f"?user_code={answer['user_code']}")
    assert answer["expires_in"] == 600 and answer["interval"] == 1

    zevvy.device_flow(interval=0, device_code_seconds=30)
    answer = authorize(zevvy)
    assert "interval" not in answer and answer["expires_in"] == 30


def test_device_authorization_refusals(zevvy):
    wrong = requests.post(
        zevvy.device_authorization_url,
        data={"client_id": "portal-sandbox", "client_secret": "nope"},
        timeout=10,
    )
    assert (
        oauth_error(wrong, 401, "invalid_client") == "Invalid client or Invalid client credentials"
    )
    unknown = requests.post(
        zevvy.device_authorization_url, data={**CLIENT, "scope": "device admin"}, timeout=10
    )
    assert oauth_error(unknown, 400, "invalid_scope") == "Invalid scopes: admin"
    as_json = requests.post(zevvy.device_authorization_url, json=CLIENT, timeout=10)
    assert "x-www-form-urlencoded" in oauth_error(as_json, 400, "invalid_request")
    get = requests.get(zevvy.device_authorization_url, timeout=10)
    assert get.status_code == 405 and get.json()["error"] == "invalid_request"


# --- the token endpoint: device_code grant ------------------------------------------------


def test_pending_slow_down_approved_then_used(zevvy):
    answer = authorize(zevvy)
    code = answer["device_code"]
    assert "pending" in oauth_error(exchange(zevvy, code), 400, "authorization_pending")
    assert oauth_error(exchange(zevvy, code), 400, "slow_down") == "Slow down"
    time.sleep(1.05)
    oauth_error(exchange(zevvy, code), 400, "authorization_pending")

    decide_on_page(answer["verification_uri_complete"])
    granted = exchange(zevvy, code)
    assert granted.status_code == 200 and granted.headers["Cache-Control"] == "no-store"
    body = granted.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["refresh_expires_in"] == 0  # an offline token: no fixed expiry
    assert body["scope"] == SCOPE and body["access_token"] and body["refresh_token"]
    assert oauth_error(exchange(zevvy, code), 400, "invalid_grant") == "Device code already used"
    assert oauth_error(exchange(zevvy, "made-up"), 400, "invalid_grant") == "Device code not valid"


def test_denied_and_expired_codes(zevvy):
    denied = authorize(zevvy)
    decide_on_page(denied["verification_uri_complete"], "deny")
    oauth_error(exchange(zevvy, denied["device_code"]), 400, "access_denied")

    expired = authorize(zevvy)
    assert zevvy.expire_device_codes() == 1
    oauth_error(exchange(zevvy, expired["device_code"]), 400, "expired_token")


def test_client_secret_basic_and_the_grant_bound_to_its_client(zevvy, settings):
    answer = authorize(zevvy)
    decide_on_page(answer["verification_uri_complete"])
    response = requests.post(
        zevvy.token_url,
        data={"grant_type": DEVICE_CODE_GRANT, "device_code": answer["device_code"]},
        auth=("portal-sandbox", "sandbox-secret"),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    missing = requests.post(zevvy.token_url, data=CLIENT, timeout=10)
    assert oauth_error(missing, 400, "invalid_request") == "Missing form parameter: grant_type"
    other = requests.post(zevvy.token_url, data={**CLIENT, "grant_type": "password"}, timeout=10)
    oauth_error(other, 400, "unsupported_grant_type")


# --- the token endpoint: refresh_token grant ----------------------------------------------


def refresh(zevvy, refresh_token: str) -> requests.Response:
    return requests.post(
        zevvy.token_url,
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    )


def test_refresh_rotates_and_a_revoked_grant_is_invalid_grant(zevvy):
    first = tokens(zevvy)
    renewed = refresh(zevvy, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # Keycloak's default: the earlier refresh token stays valid too.
    assert refresh(zevvy, first["refresh_token"]).status_code == 200
    assert api(zevvy, "GET", "/devices", second["access_token"]).status_code == 200

    assert zevvy.revoke_grants() == 1
    assert oauth_error(refresh(zevvy, second["refresh_token"]), 400, "invalid_grant") == (
        "Token is not active"
    )
    # Its access tokens die with it.
    refused = api(zevvy, "GET", "/devices", second["access_token"])
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    oauth_error(refresh(zevvy, "made-up"), 400, "invalid_grant")


def test_without_offline_access_the_refresh_token_expires(zevvy):
    body = tokens(zevvy, scope="device measurement")
    assert 1790 <= body["refresh_expires_in"] <= 1800


# --- the verification page ----------------------------------------------------------------


def test_verification_page_needs_a_login_and_csrf(zevvy, live_server, admin_user):
    answer = authorize(zevvy)
    page = f"{zevvy.realm}/device"
    anonymous = requests.get(page, headers={"Accept": "text/html"}, timeout=10)
    assert "login/?next=/sandbox/zevvy/" in anonymous.url  # sent to log in
    assert requests.post(page, data={"user_code": "X"}, timeout=10).status_code == 403

    staff = requests.Session()
    login_page = staff.get(f"{live_server.url}/admin/login/", timeout=10)
    staff.post(
        f"{live_server.url}/admin/login/",
        data={
            "username": "admin",
            "password": "password",
            "csrfmiddlewaretoken": CSRF_FIELD.search(login_page.text).group(1),
            "next": "/admin/",
        },
        timeout=10,
    )
    form = staff.get(answer["verification_uri_complete"], timeout=10)
    assert form.status_code == 200 and answer["user_code"] in form.text
    assert SCOPE in form.text
    # A staff browser must send the CSRF token (a cross-site form cannot approve).
    forged = staff.post(page, data={"user_code": answer["user_code"], "decision": "approve"})
    assert forged.status_code == 403
    typed = answer["user_code"].lower().replace("-", " ")  # forgiving, as RFC 8628 §6.1 says
    approved = staff.post(
        page,
        data={
            "user_code": typed,
            "decision": "approve",
            "csrfmiddlewaretoken": CSRF_FIELD.search(form.text).group(1),
        },
        timeout=10,
    )
    assert approved.status_code == 200 and "Access granted" in approved.text
    assert zevvy.state()["device_codes"][0]["status"] == "approved"


def test_verification_page_says_what_is_wrong_with_a_code(zevvy):
    person = requests.Session()
    person.headers["X-Sandbox-Token"] = settings.SANDBOX_CONTROL_TOKEN
    page = f"{zevvy.realm}/device"
    unknown = person.post(page, data={"user_code": "BBBB-CCCC", "decision": "approve"})
    assert unknown.status_code == 400 and "No device login with this code" in unknown.text
    answer = authorize(zevvy)
    decide_on_page(answer["verification_uri_complete"], "deny")
    again = person.post(page, data={"user_code": answer["user_code"], "decision": "approve"})
    assert again.status_code == 400 and "already denied" in again.text


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def token(zevvy) -> str:
    return tokens(zevvy)["access_token"]


def spring_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["error"] and body["message"] and body["timestamp"]
    return body


def test_api_refuses_missing_expired_and_unscoped_tokens(zevvy, token):
    missing = requests.get(zevvy.api + "/devices", timeout=10)
    spring_error(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    spring_error(api(zevvy, "GET", "/devices", "made-up"), 401)

    zevvy.expire_tokens()
    assert "expired" in spring_error(api(zevvy, "GET", "/devices", token), 401)["message"]

    measuring_only = tokens(zevvy, scope="offline_access measurement")["access_token"]
    body = spring_error(api(zevvy, "GET", "/devices", measuring_only), 403)
    assert "scope 'device'" in body["message"]


def test_devices_create_list_get_update_delete(zevvy, token):
    created = api(zevvy, "POST", "/devices", token, json={"name": "Wallbox", "reference": "r-1"})
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["name"] == "Wallbox" and device["reference"] == "r-1"
    conflict = api(zevvy, "POST", "/devices", token, json={"name": "Other", "reference": "r-1"})
    assert "already exists" in spring_error(conflict, 409)["message"]
    api(zevvy, "POST", "/devices", token, json={"name": "No reference"})

    page = api(zevvy, "GET", "/devices?page=0&size=1", token).json()
    assert len(page["content"]) == 1
    assert page["page"] == {"size": 1, "number": 0, "totalElements": 2, "totalPages": 2}
    found = api(zevvy, "GET", "/devices?reference=r-1", token).json()["content"]
    assert [d["id"] for d in found] == [device["id"]]
    assert api(zevvy, "GET", "/devices?reference=none", token).json()["content"] == []
    spring_error(api(zevvy, "GET", "/devices?size=0", token), 400)

    path = f"/devices/{device['id']}"
    renamed = api(zevvy, "PUT", path, token, json={"name": "Wallbox 2", "reference": "r-1"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Wallbox 2"
    assert api(zevvy, "GET", path, token).json()["name"] == "Wallbox 2"
    assert api(zevvy, "DELETE", path, token).status_code == 204
    spring_error(api(zevvy, "GET", path, token), 404)
    spring_error(api(zevvy, "DELETE", path, token), 404)
    spring_error(api(zevvy, "GET", "/devices/not-a-uuid", token), 400)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "must not be null"),
        ({"name": "  "}, "name", "must not be blank"),
        ({"name": 5}, "name", "must be a string"),
        ({"name": "x" * 256}, "name", "size must be between 1 and 255"),
        ({"name": "ok", "reference": "a/b"}, "reference", "must not contain"),
        ([], "$", "must be a JSON object"),
    ],
)
def test_device_validation_names_the_field(zevvy, token, body, field, message):
    response = api(zevvy, "POST", "/devices", token, json=body)
    errors = spring_error(response, 400)["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors


def test_device_body_must_be_json(zevvy, token):
    spring_error(api(zevvy, "POST", "/devices", token, data="name=x"), 415)
    broken = api(
        zevvy, "POST", "/devices", token, data="{", headers={"Content-Type": "application/json"}
    )
    assert "JSON parse error" in spring_error(broken, 400)["message"]


def measurement(device, register, read_at, value) -> dict:
    return {"deviceName": device, "registerName": register, "readAt": read_at, "value": value}


def test_bulk_create_by_name_creates_what_is_missing_and_409_when_one_is_known(zevvy, token):
    batch = [
        measurement("Ladestation", "Energie", "2026-03-01T12:00:00.000Z", 1),
        measurement("Ladestation", "Energie", "2026-03-01T12:15:00.000Z", 2),
        measurement("Ladestation", "Leistung", "2026-03-01T12:00:00+01:00", 3.5),
    ]
    first = api(zevvy, "POST", "/measurements/_bulk_create", token, json=batch[:2])
    assert first.status_code == 201 and first.json() == {"created": 2}
    # NOTES.md: 409 for "readings it already has". Known readings refuse the whole
    # batch: the new one in it is not stored either (nor the register it would make).
    mixed = api(zevvy, "POST", "/measurements/_bulk_create", token, json=batch)
    assert (
        "2 of 3 measurements already exist; none was stored"
        in (spring_error(mixed, 409)["message"])
    )
    counts = zevvy.state()["counts"]
    assert (counts["devices"], counts["registers"], counts["measurements"]) == (1, 1, 2)
    new = api(zevvy, "POST", "/measurements/_bulk_create", token, json=batch[2:])
    assert new.status_code == 201
    counts = zevvy.state()["counts"]
    assert (counts["devices"], counts["registers"], counts["measurements"]) == (1, 2, 3)

    # Two devices of one name: the name form cannot tell them apart.
    api(zevvy, "POST", "/devices", token, json={"name": "Ladestation"})
    ambiguous = api(zevvy, "POST", "/measurements/_bulk_create", token, json=batch[:1])
    assert "use the deviceRef form" in spring_error(ambiguous, 400)["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "$"),
        ({"readAt": "2026-03-01T12:00:00Z", "value": 1}, "$"),
        ([{"registerName": "r", "readAt": "2026-03-01T12:00:00Z", "value": 1}], "[0].deviceName"),
        ([measurement("d", "r", "2026-03-01T12:00:00", 1)], "[0].readAt"),
        ([measurement("d", "r", "2026-03-01T12:00:00Z", True)], "[0].value"),
    ],
)
def test_bulk_create_validation(zevvy, token, body, field):
    response = api(zevvy, "POST", "/measurements/_bulk_create", token, json=body)
    errors = spring_error(response, 400)["errors"]
    assert field in [e["field"] for e in errors], errors
    assert zevvy.count("measurements") == 0


def test_bulk_create_by_reference(zevvy, token):
    path = "/deviceRef/portal-device-1/registerRef/1-0:1.8.0/measurements/_bulk_create"
    readings = [{"readAt": "2026-03-01T12:00:00.000Z", "value": 10.5}]
    missing = api(zevvy, "POST", path, token, json=readings)
    assert "No device with reference" in spring_error(missing, 404)["message"]

    api(zevvy, "POST", "/devices", token, json={"name": "WP", "reference": "portal-device-1"})
    assert api(zevvy, "POST", path, token, json=readings).status_code == 201
    spring_error(api(zevvy, "POST", path, token, json=readings), 409)
    device = zevvy.state()["devices"][0]
    assert device["registers"][0]["reference"] == "1-0:1.8.0"


# --- faults and control -------------------------------------------------------------------


def test_faults_spare_the_token_endpoints_unless_aimed_at_them(zevvy, token):
    zevvy.fault("error", count=1, status=503)
    authorize(zevvy)  # not hit: the fault is for the API
    failed = api(zevvy, "GET", "/devices", token)
    assert failed.status_code == 503 and failed.json()["message"].startswith("Injected")

    zevvy.fault("rate_limit", count=1, retry_after=9, path="/openid-connect/token")
    limited = refresh(zevvy, "whatever")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"
    assert limited.json()["error"] == "temporarily_unavailable"


def test_timeout_fault_creates_the_device_then_answers_late(zevvy, token):
    zevvy.fault("timeout", count=1, delay=2, path="/api/devices")
    with pytest.raises(requests.Timeout):
        requests.post(
            zevvy.api + "/devices",
            json={"name": "Slow", "reference": "slow-1"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.5,
        )
    assert zevvy.count("devices") == 1


def test_state_shows_no_secret_and_control_needs_the_token(zevvy):
    answer = authorize(zevvy)
    decide_on_page(answer["verification_uri_complete"])
    body = exchange(zevvy, answer["device_code"]).json()
    state_text = zevvy.http.get(f"{zevvy.control}/state", timeout=10).text
    for secret in (answer["device_code"], body["access_token"], body["refresh_token"]):
        assert secret not in state_text
    for path in ("state", "grants/revoke", "device-codes/expire", "device-flow"):
        assert requests.post(f"{zevvy.control}/{path}", timeout=10).status_code in (403, 405)
        assert requests.get(f"{zevvy.control}/{path}", timeout=10).status_code in (403, 405)
    bad = zevvy.http.post(f"{zevvy.control}/device-flow", json={"interval": -1}, timeout=10)
    assert bad.status_code == 400 and "interval" in bad.json()["errors"]


def test_reset_wipes_grants_codes_and_devices(zevvy, token):
    api(zevvy, "POST", "/devices", token, json={"name": "x"})
    zevvy.reset()
    counts = zevvy.state()["counts"]
    assert counts["devices"] == 0 and counts["grants_active"] == 0
    assert api(zevvy, "GET", "/devices", token).status_code == 401
    assert authorize(zevvy)["interval"] == 5  # the flow's settings are Keycloak's again


def test_trainer_page_lists_pending_codes_and_revokes_grants(zevvy):
    answer = authorize(zevvy)
    tokens(zevvy)
    trainer = zevvy.http
    page = trainer.get(f"{zevvy.root}/", timeout=10)
    assert page.status_code == 200
    assert answer["user_code"] in page.text and "Approve" in page.text
    assert answer["device_code"] not in page.text
    grant_id = zevvy.state()["grants"][0]["id"]
    revoked = trainer.post(f"{zevvy.root}/grants/{grant_id}/revoke", timeout=10)
    assert revoked.status_code == 200  # followed the redirect back to the page
    assert zevvy.state()["counts"]["grants_active"] == 0
