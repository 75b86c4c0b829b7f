"""The Zählerfreunde partner API in Python (no Django here).

Guide: ../shared/provider-docs/000_*.txt; paths, fields and answers from the platform's
public OpenAPI spec (zaehlerfreunde-openapi.yaml, the authority where they differ).
Paths are relative to the base URL, which ends in `/partner` on the real platform.

Every answer is checked against what the spec promises: a 2xx that is not (a `200
text/html` maintenance page, JSON without the new object's id, a list where an object
belongs) raises TransientError with the body's first words, never a KeyError.
"""

import html
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote

import requests

from ..errors import AuthError, TransientError
from ..http import (
    CallRecord,
    HttpTransport,
    auth_answer,
    expect_no_content_or_json,
    raise_for_status,
    redacted_text,
)
from ..tokens import MemoryTokenStore, Token, TokenStore

# The guide: "the token is valid for one day; when it has expired, simply request a
# new one". The response carries no expiry, so we assume exactly one day.
TOKEN_LIFETIME_SECONDS = 24 * 3600
PAGE_SIZE = 100
FIRST_WORDS = 200

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
# UpdateSpace's properties: what `PUT /spaces/{id}` can change.
UPDATE_SPACE_FIELDS = frozenset(
    ("name", "addressLineOne", "addressLineTwo", "postcode", "city", "category", "parentSpaceId")
)

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)


def first_words(response: requests.Response, limit: int = FIRST_WORDS) -> str:
    """The start of a body as a person would read it: tags dropped, spaces collapsed,
    secrets redacted."""
    text = " ".join(html.unescape(_TAG.sub(" ", redacted_text(response.content))).split())
    if not text:
        return "(empty body)"
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call, e.g. "Bad Request: The postcode must have
    4 or 5 digits. (Postcode: '80A' is not a valid postcode.)".

    No source shows an error answer: the spec declares only 200s. So this reads what
    the common shapes carry: RFC 9457 problem details (`title`, `detail`, `errors`
    mapping each field to its messages, as the sandbox answers), or a `message`; a body
    that is not JSON, or none of these, by its first words. Nothing else depends on it.
    """
    try:
        body = response.json()
    except ValueError:
        words = first_words(response)
        reason = response.reason or f"HTTP {response.status_code}"
        return reason if words == "(empty body)" else f"{reason}: {words}"
    if not isinstance(body, dict):
        return str(body)[:500]
    title = str(body.get("title") or body.get("message") or "")
    detail = str(body.get("detail") or "")
    head = f"{title}: {detail}" if title and detail and detail != title else (title or detail)
    fields = []
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, messages in errors.items():
            text = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
            fields.append(f"{field}: {text}" if field else text)
    if fields:
        head = f"{head} ({'; '.join(fields)})" if head else "; ".join(fields)
    return (head or str(body))[:1000]


def _unexpected(
    response: requests.Response, call: str, promised: str, *, quote: bool = True
) -> TransientError:
    """A 2xx that is not what the spec promises: most often a maintenance page or a
    proxy answering for the platform, so worth another try later; the outbox ends it
    in needs-attention if it persists.

    An HTML page never comes from the JSON API itself but from a proxy or maintenance
    switch in front of it: the call did not reach the API, so a create may simply be
    sent again. JSON without the promised id came from the API: it may have acted."""
    kind = response.headers.get("Content-Type") or "no content type"
    # An auth endpoint's odd answer is never quoted: a token may hide in it.
    said = first_words(response) if quote else auth_answer(response)
    return TransientError(
        f"{call} answered {response.status_code} ({kind}), not {promised}: {said}",
        status=response.status_code,
        request_may_have_arrived="html" not in kind.lower(),
    )


def expect_object(
    response: requests.Response, call: str, *ids: str, promised: str = "", quote: bool = True
) -> dict:
    """The JSON object the spec promises, with each of `ids` a non-empty string; `quote`
    False for an auth endpoint, whose odd answers are never quoted."""
    promised = promised or "a JSON object" + (f" with {', '.join(ids)}" if ids else "")
    try:
        body = response.json()
    except ValueError:
        raise _unexpected(response, call, promised, quote=quote) from None
    if not isinstance(body, dict):
        raise _unexpected(response, call, promised, quote=quote)
    for key in ids:
        if not isinstance(body.get(key), str) or not body[key]:
            raise _unexpected(response, call, promised, quote=quote)
    return body


def expect_acknowledged(response: requests.Response, call: str) -> None:
    """For calls the spec answers with a bare 200 (no content; link and unlink, which
    it does not list, alike): an empty body or JSON. Anything else is no success, an
    HTML page least of all (it never comes from the API: the request did not reach it)."""
    try:
        expect_no_content_or_json(response)
    except TransientError:
        raise _unexpected(response, call, "no content or JSON") from None


def _segment(value: str) -> str:
    # User ids are plain strings (Auth0's "auth0|…"): never let one change the path.
    return quote(str(value), safe="")


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
        # A refused token is the credentials' fault, whatever 4xx says so: staff must
        # reconnect. (A 403 elsewhere is one object's failure, not the platform's.)
        if response.status_code in (400, 401, 403):
            reason = describe_error(response)
            raise AuthError(f"token refused: {reason}", status=response.status_code)
        raise_for_status(response, describe_error)
        body = expect_object(response, "POST /auth/token", "accessToken", quote=False)
        return Token(body["accessToken"], time.time() + TOKEN_LIFETIME_SECONDS)

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
            # Expired or revoked early: one fresh token, one more try, then give up. (The
            # spec declares no 401; its bearer scheme answers a refused token so.)
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send_with(token, method, path, **kwargs)
        raise_for_status(response, describe_error)
        return response

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}"}
        return self.http.send(method, path, headers=headers, **kwargs)

    def _object(self, method: str, path: str, *ids: str, **kwargs) -> dict:
        return expect_object(self._call(method, path, **kwargs), f"{method} {path}", *ids)

    def _acknowledged(self, method: str, path: str, **kwargs) -> None:
        expect_acknowledged(self._call(method, path, **kwargs), f"{method} {path}")

    # --- spaces -------------------------------------------------------------------------
    def create_space(self, payload: dict) -> str:
        return self._object("POST", "/spaces", "spaceId", json=payload)["spaceId"]

    def update_space(self, space_id: str, payload: dict) -> None:
        """Only the fields in `payload` change; `None` clears addressLineTwo or
        parentSpaceId (a unit becomes a building). A field UpdateSpace does not have
        (isParticipatingInLttProject, taken on create only) is not sent: the spec does
        not say the platform ignores a property it does not know."""
        path = f"/spaces/{_segment(space_id)}"
        body = {key: value for key, value in payload.items() if key in UPDATE_SPACE_FIELDS}
        response = self._call("PUT", path, json=body)
        # The spec answers SpaceId; we know the id already, so an empty 200 is fine too,
        # but a page or a list is not the API's answer.
        if response.content:
            expect_object(response, f"PUT {path}")

    def delete_space(self, space_id: str) -> None:
        """Deletes the space and the devices linked to it (the spec). What happens to its
        units no source says (the sandbox refuses with 409 while it has any): the
        outbox deletes bottom-up, so it never asks."""
        self._acknowledged("DELETE", f"/spaces/{_segment(space_id)}")

    def list_spaces(self) -> Iterator[dict]:
        yield from self._pages("/spaces", "spaces")

    # --- devices ------------------------------------------------------------------------
    def create_device(self, space_id: str, payload: dict) -> str:
        path = f"/spaces/{_segment(space_id)}/devices"
        return self._object("POST", path, "deviceId", json=payload)["deviceId"]

    def list_devices(self, space_id: str) -> Iterator[dict]:
        yield from self._pages(f"/spaces/{_segment(space_id)}/devices", "devices")

    def update_device_details(self, space_id: str, device_id: str, payload: dict) -> None:
        """DeviceDetails: deviceName, isMainDevice, grid, externalDeviceId,
        meteringLocationId, serialNumber; only those sent change. Type and medium cannot
        change (the platform ignores them)."""
        path = f"/spaces/{_segment(space_id)}/devices/{_segment(device_id)}/details"
        self._acknowledged("POST", path, json=payload)

    def link_device(self, space_id: str, device_id: str, body: dict | None = None) -> None:
        """Show an existing device in a space too (optional body: isMainDevice,
        excludedFromCost). A device may be in several spaces: moving it is link to the
        new space plus unlink from the old; it keeps its id and readings."""
        path = f"/spaces/{_segment(space_id)}/devices/{_segment(device_id)}"
        kwargs = {} if body is None else {"json": body}
        self._acknowledged("POST", path, **kwargs)

    def unlink_device(self, space_id: str, device_id: str) -> None:
        """Remove a device from a space without deleting it. When it is not in that
        space: 404 (NotFoundError) in the sandbox; the spec declares no answer at all
        for this call, so a caller that takes 404 as "already done" relies on that."""
        self._acknowledged("DELETE", f"/spaces/{_segment(space_id)}/devices/{_segment(device_id)}")

    def delete_device(self, device_id: str) -> None:
        self._acknowledged("DELETE", f"/devices/{_segment(device_id)}")

    def post_readings(self, items: list[dict]) -> None:
        """items: [{"deviceId" | "externalDeviceId", "readings": [{"obisCode",
        "timestamp" (datetime), "value", "status"?, "meteringInterval"?}]}]"""
        body = [
            {**item, "readings": [self._reading(r) for r in item["readings"]]} for item in items
        ]
        self._acknowledged("POST", "/devices/readings", json=body)

    def _reading(self, reading: dict) -> dict:
        timestamp = reading["timestamp"]
        if isinstance(timestamp, datetime):
            if timestamp.tzinfo is None:
                # An epoch of a naive time depends on the host's zone: refuse, not guess.
                raise ValueError("reading timestamps must be timezone-aware datetimes")
            scale = 1000 if self.timestamp_unit == "milliseconds" else 1
            timestamp = int(timestamp.timestamp() * scale)
        return {**reading, "timestamp": timestamp}

    # --- invites and users ----------------------------------------------------------------
    def create_invite(self, space_id: str, payload: dict) -> str:
        """payload: sendInviteEmail, userEmail, accessRoleId (optional: default role)."""
        path = f"/spaces/{_segment(space_id)}/invites"
        return self._object("POST", path, "inviteLink", json=payload)["inviteLink"]

    def list_space_users(self, space_id: str) -> Iterator[dict]:
        """The users who see the space (e.g. a tenant who accepted an invite)."""
        yield from self._pages(f"/spaces/{_segment(space_id)}/users", "users")

    def add_space_user(self, space_id: str, user_id: str, access_role_id: str) -> None:
        path = f"/spaces/{_segment(space_id)}/users/{_segment(user_id)}"
        self._acknowledged("POST", path, json={"accessRoleId": access_role_id})

    def remove_space_user(self, space_id: str, user_id: str) -> None:
        """Withdraw a user's access to the space (the user is not deleted); 404
        (NotFoundError) in the sandbox when they have none (the spec declares only 200)."""
        self._acknowledged("DELETE", f"/spaces/{_segment(space_id)}/users/{_segment(user_id)}")

    def remove_all_space_users(self, space_id: str) -> None:
        path = f"/spaces/{_segment(space_id)}/users"
        response = self._call("DELETE", path)
        if response.content:  # the spec answers SpaceId
            expect_object(response, f"DELETE {path}")

    def list_access_roles(self) -> list[dict]:
        """The roles an invite's accessRoleId may name: {id, name, description,
        permissionIds}. We expect an `id` on each listed role, which the spec's
        AccessRole (also the create body) leaves optional: a role without one could
        not be named anyway."""
        response = self._call("GET", "/access-roles")
        body = expect_object(response, "GET /access-roles")
        return self._items(body, "accessRoles", "GET /access-roles", response)

    # --- reads --------------------------------------------------------------------------
    def check(self) -> None:
        """Authenticate afresh (a cached token proves nothing about the credentials) and
        make one harmless read."""
        self.tokens.refresh(self.fetch_token, stale=self.tokens.load())
        self._object("GET", "/spaces", params={"page": 0, "pageSize": 1})

    def _pages(self, path: str, key: str) -> Iterator[dict]:
        page = 0
        while True:
            params = {"page": page, "pageSize": PAGE_SIZE}
            response = self._call("GET", path, params=params)
            call = f"GET {path}?page={page}"
            promised = f"a JSON object with {key} and totalNumPages"
            body = expect_object(response, call, promised=promised)
            total = body.get("totalNumPages")
            if not isinstance(total, int) or isinstance(total, bool):
                raise _unexpected(response, call, promised)
            items = self._items(body, key, call, response)
            yield from items
            page += 1
            # An empty page ends it too: a wrong total must not make us walk forever.
            if page >= total or not items:
                return

    @staticmethod
    def _items(body: dict, key: str, call: str, response: requests.Response) -> list[dict]:
        """`body[key]`: a list of objects, each with a string `id` (what callers use)."""
        items = body.get(key)
        ok = isinstance(items, list) and all(
            isinstance(i, dict) and isinstance(i.get("id"), str) for i in items
        )
        if not ok:
            raise _unexpected(response, call, f"a JSON object with a list of {key}")
        return items
