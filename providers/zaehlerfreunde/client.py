"""The Zählerfreunde partner API in Python (no Django here).

Guide: ../shared/provider-docs/000_*.txt; response fields and list endpoints from the
platform's public OpenAPI spec (NOTES.md). Paths are relative to the base URL, which
ends in `/partner` on the real platform.
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime

import requests

from ..errors import AuthError
from ..http import CallRecord, HttpTransport, raise_for_status
from ..tokens import MemoryTokenStore, Token, TokenStore

# The guide: "the token is valid for one day; when it has expired, simply request a
# new one". The response carries no expiry, so we assume exactly one day.
TOKEN_LIFETIME_SECONDS = 24 * 3600
PAGE_SIZE = 100

SPACE_CATEGORIES = (
    "HOTEL RESTAURANT HOUSEHOLD OFFICE PV_SYSTEM COMMERCIAL BIOGAS RETAIL SINGLE_FAMILY_HOME "
    "PRODUCTION FLAT WIND_ENERGY DOCTORS_OFFICE GROUPING APARTMENT_BUILDING REGION ROOM "
    "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT"
).split()
DEVICE_TYPES = (
    "SMART_METER OPTICAL_METER_SENSOR WALLBOX SMART_PLUG SMART_RELAY ENERGY_METER "
    "NON_SMART_METER HEAT_PUMP MICRO_INVERTER VIRTUAL_METER GAS_METER WATER_METER "
    "HEATING_METER RLM_METER SMART_CAR BATTERY"
).split()
DEVICE_MEDIA = ["ELECTRICITY", "GAS", "WATER", "HEATING"]


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call.

    The guide shows no error bodies. The platform is an ASP.NET service (it serves
    Swagger), so errors most plausibly come as RFC 7807 problem details:
    {"title": "...", "errors": {"Field": ["message", ...]}}. Anything else is shown raw.
    """
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or f"HTTP {response.status_code}")[:500]
    if not isinstance(body, dict):
        return str(body)[:500]
    title = body.get("title") or body.get("message") or body.get("detail") or ""
    errors = body.get("errors")
    details = []
    if isinstance(errors, dict):
        for field, messages in errors.items():
            text = "; ".join(messages) if isinstance(messages, list) else str(messages)
            details.append(f"{field}: {text}")
    return " ".join(filter(None, [title, " ".join(details)])) or str(body)[:500]


class ZaehlerfreundeClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        token_store: TokenStore | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        timestamp_unit: str = "seconds",
        session: requests.Session | None = None,
    ):
        self.http = HttpTransport(base_url, timeout=timeout, on_call=on_call, session=session)
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens = token_store or MemoryTokenStore()
        if timestamp_unit not in ("seconds", "milliseconds"):
            raise ValueError("timestamp_unit must be 'seconds' or 'milliseconds'")
        self.timestamp_unit = timestamp_unit

    # --- auth ---------------------------------------------------------------------------
    def fetch_token(self) -> Token:
        response = self.http.send(
            "POST",
            "/auth/token",
            json={"clientId": self.client_id, "clientSecret": self.client_secret},
        )
        if response.status_code in (400, 401, 403):
            reason = describe_error(response)
            raise AuthError(f"token refused: {reason}", status=response.status_code)
        raise_for_status(response, describe_error)
        return Token(response.json()["accessToken"], time.time() + TOKEN_LIFETIME_SECONDS)

    def _token(self) -> Token:
        token = self.tokens.load()
        if token is None or not token.is_fresh():
            token = self.tokens.refresh(self.fetch_token, stale=token)
        return token

    def ensure_token(self) -> None:
        """Have a fresh token before a write (the outbox calls it before a create)."""
        self._token()

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        token = self._token()
        response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 401:
            # Expired or revoked early: one fresh token, one more try, then give up.
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send_with(token, method, path, **kwargs)
        raise_for_status(response, describe_error)
        return response

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}"}
        return self.http.send(method, path, headers=headers, **kwargs)

    # --- spaces -------------------------------------------------------------------------
    def create_space(self, payload: dict) -> str:
        return self._call("POST", "/spaces", json=payload).json()["spaceId"]

    def update_space(self, space_id: str, payload: dict) -> None:
        self._call("PUT", f"/spaces/{space_id}", json=payload)

    def delete_space(self, space_id: str) -> None:
        self._call("DELETE", f"/spaces/{space_id}")

    def list_spaces(self) -> Iterator[dict]:
        yield from self._pages("/spaces", "spaces")

    # --- devices ------------------------------------------------------------------------
    def create_device(self, space_id: str, payload: dict) -> str:
        return self._call("POST", f"/spaces/{space_id}/devices", json=payload).json()["deviceId"]

    def list_devices(self, space_id: str) -> Iterator[dict]:
        yield from self._pages(f"/spaces/{space_id}/devices", "devices")

    def delete_device(self, device_id: str) -> None:
        self._call("DELETE", f"/devices/{device_id}")

    def post_readings(self, items: list[dict]) -> None:
        """items: [{"deviceId" | "externalDeviceId", "readings": [{"obisCode",
        "timestamp" (datetime), "value", "status"?, "meteringInterval"?}]}]"""
        body = [
            {**item, "readings": [self._reading(r) for r in item["readings"]]} for item in items
        ]
        self._call("POST", "/devices/readings", json=body)

    def _reading(self, reading: dict) -> dict:
        timestamp = reading["timestamp"]
        if isinstance(timestamp, datetime):
            scale = 1000 if self.timestamp_unit == "milliseconds" else 1
            timestamp = int(timestamp.timestamp() * scale)
        return {**reading, "timestamp": timestamp}

    # --- invites ------------------------------------------------------------------------
    def create_invite(self, space_id: str, payload: dict) -> str:
        return self._call("POST", f"/spaces/{space_id}/invites", json=payload).json()["inviteLink"]

    # --- reads --------------------------------------------------------------------------
    def check(self) -> None:
        """Authenticate afresh (a cached token proves nothing about the credentials) and
        make one harmless read."""
        self.tokens.refresh(self.fetch_token, stale=self.tokens.load())
        self._call("GET", "/spaces", params={"page": 0, "pageSize": 1})

    def _pages(self, path: str, key: str) -> Iterator[dict]:
        page = 0
        while True:
            body = self._call("GET", path, params={"page": page, "pageSize": PAGE_SIZE}).json()
            yield from body.get(key, [])
            page += 1
            if page >= int(body.get("totalNumPages") or 0):
                return
