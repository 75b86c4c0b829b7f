"""What the zevvy tests share: the sandbox's control side, and a person approving or
denying a device login on the sandbox's verification page, over plain HTTP."""

import re

import requests
from django.conf import settings as django_settings

from .conftest import SandboxControl

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class ZevvySandbox(SandboxControl):
    def __init__(self, base: str):
        super().__init__(base, "zevvy")
        self.realm = f"{self.root}/auth/realms/zevvy"
        self.api = f"{self.root}/api"
        self.token_url = f"{self.realm}/protocol/openid-connect/token"
        self.device_authorization_url = f"{self.realm}/protocol/openid-connect/auth/device"

    def device_flow(self, **values) -> dict:
        response = self.http.post(f"{self.control}/device-flow", json=values, timeout=10)
        response.raise_for_status()
        return response.json()

    def unpublished_device_calls(self, offered: bool) -> None:
        """Whether the sandbox offers the device listing, update and delete no public
        source shows (off: 405 / Spring's plain 404, as a zevvy without them)."""
        response = self.http.post(
            f"{self.control}/api", json={"unpublished_device_calls": offered}, timeout=10
        )
        response.raise_for_status()

    def revoke_grants(self) -> int:
        response = self.http.post(f"{self.control}/grants/revoke", json={}, timeout=10)
        response.raise_for_status()
        return response.json()["revoked"]

    def expire_device_codes(self) -> int:
        response = self.http.post(f"{self.control}/device-codes/expire", timeout=10)
        response.raise_for_status()
        return response.json()["expired"]

    def decide(self, verification_uri_complete: str, decision: str = "approve") -> str:
        """What the person does: open the page (the complete URI carries the code),
        press Approve or Deny. A separate HTTP client, as a person's browser would be;
        the control token stands in for their zevvy login."""
        return decide_on_page(verification_uri_complete, decision)


def decide_on_page(verification_uri_complete: str, decision: str = "approve") -> str:
    person = requests.Session()
    person.headers["X-Sandbox-Token"] = django_settings.SANDBOX_CONTROL_TOKEN
    page = person.get(verification_uri_complete, timeout=10)
    page.raise_for_status()
    user_code = re.search(r'name="user_code" value="([^"]*)"', page.text).group(1)
    response = person.post(
        verification_uri_complete.split("?")[0],
        data={
            "user_code": user_code,
            "decision": decision,
            "csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1),
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.text
