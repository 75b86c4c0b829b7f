"""The zevvy API in Python (no Django here).

Guide: ../shared/provider-docs/004_*.txt, with NOTES.md. The guide documents the device
flow, creating a device (`name`, optional `reference`, as JSON, the access token in the
header) and `_bulk_create` of measurements by `deviceName` / `registerName`; NOTES.md
adds the `deviceRef`/`registerRef` path form an open-source client uses (201 on success,
409 for readings the platform already has).

Where the guide is silent (it names no path besides `_bulk_create` and shows no answer
bodies), we do what a Spring-style REST service with `_bulk_create` endpoints most
plausibly does, and say so next to the code:
- devices live at `/devices` (`POST` creates, `GET ?reference=` finds, `PUT`/`DELETE
  /devices/{id}` change and remove it: the `device` scope is "for managing devices").
  NO PUBLIC SOURCE SHOWS THE LISTING, THE UPDATE OR THE DELETE (NOTES.md: the guide
  shows only the create): we keep them, and when zevvy refuses one as a call it does
  not offer (405, or a 404 that names no device) the client raises NotSupported with
  what staff should do instead (`UNPUBLISHED`), never an opaque HTTP error;
- a create answers 201 with the device as JSON (`id`, `name`, `reference`);
- a list answers either a JSON array or a Spring page (`content` + `page.totalPages`);
  both are read;
- errors are Spring Boot's `{"status", "error", "message", "path"}` or OAuth's
  `{"error", "error_description"}`; both are read.
"""

import time
from collections.abc import Callable, Iterator
from datetime import UTC
from urllib.parse import quote

import requests

from ..errors import NotSupported, ReconnectRequired, TransientError
from ..http import (
    CallRecord,
    HttpTransport,
    expect_no_content_or_json,
    first_words,
    json_body,
    json_field,
    raise_for_status,
    unexpected,
)
from ..tokens import MemoryTokenStore, Token, TokenStore
from .oauth import (
    SCOPES,
    AuthorizationPending,
    DeviceAuthorization,
    DeviceFlowEnded,
    OAuthGrants,
)

__all__ = [
    "AuthorizationPending",
    "DeviceAuthorization",
    "DeviceFlowEnded",
    "ReconnectRequired",
    "ZevvyClient",
]

PAGE_SIZE = 100
NOT_CONNECTED = "not connected: run manage.py connect_zevvy"
# The calls no public source shows (NOTES.md), and what staff do when zevvy refuses one.
UNPUBLISHED = {
    "list": (
        "zevvy does not offer a device listing ({call} answered {status}; no public "
        "source shows one), so the portal cannot look for the device {key} a create "
        "whose answer was lost may have made. Look in zevvy for a device named or "
        "referenced {key}: if it is there, leave it and dismiss this row; if not, Retry."
    ),
    "update": (
        "zevvy does not accept changes to a device over its API ({call} answered "
        "{status}; no public source shows one). Change device {key} in zevvy by hand; "
        "the portal keeps its change here."
    ),
    "delete": (
        "zevvy does not offer deleting a device over its API ({call} answered {status}; "
        "no public source shows one). Delete device {key} in zevvy by hand, then "
        "dismiss this row."
    ),
}


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call, in whichever shape it came."""
    try:
        body = response.json()
    except ValueError:
        return first_words(response, 300)
    if not isinstance(body, dict):
        return str(body)[:300]
    message = body.get("message") or body.get("error_description") or body.get("detail") or ""
    fields = body.get("errors")
    details = []
    if isinstance(fields, list):
        for item in fields:
            if isinstance(item, dict):
                name = item.get("field") or item.get("name") or ""
                text = item.get("message") or item.get("defaultMessage") or ""
                details.append(f"{name}: {text}" if name else str(text))
            else:
                details.append(str(item))
    elif isinstance(fields, dict):
        details = [f"{k}: {v}" for k, v in fields.items()]
    reason = " ".join(filter(None, [str(message), "; ".join(details)]))
    return reason or str(body.get("error") or body)[:300]


def names_the_device(response: requests.Response) -> bool:
    """A 404 about a device that is gone (its message says so), not one for a path the
    server does not route: Spring Boot's own 404 is `{"error": "Not Found", "path"}`
    with no message, or a web server's page."""
    try:
        body = response.json()
    except ValueError:
        return False
    message = body.get("message") if isinstance(body, dict) else None
    return isinstance(message, str) and "device" in message.lower()


def refused_as_unpublished(response: requests.Response, operation: str, key: str) -> None:
    """NotSupported, in words, when zevvy answers an unpublished call with 405, or with
    a 404 that names no device: it does not offer the call at all."""
    status = response.status_code
    if status == 405 or (status == 404 and not names_the_device(response)):
        call = f"{response.request.method} {response.request.path_url.split('?')[0]}"
        raise NotSupported(UNPUBLISHED[operation].format(call=call, status=status, key=key))


def read_at(value) -> str:
    """A measurement time as the open-source client sends it: UTC, milliseconds, `Z`."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("measurement times must be timezone-aware")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class ZevvyClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        token_url: str,
        device_authorization_url: str,
        scope: str = SCOPES,
        token_store: TokenStore | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
        allow_http_loopback: bool = False,
    ):
        self.http = HttpTransport(base_url, timeout=timeout, on_call=on_call, session=session)
        self.grants = OAuthGrants(
            allow_http_loopback=allow_http_loopback,
            client_id=client_id,
            client_secret=client_secret,
            token_url=token_url,
            device_authorization_url=device_authorization_url,
            scope=scope,
            timeout=timeout,
            on_call=on_call,
        )
        self.tokens = token_store or MemoryTokenStore()

    # --- connecting (a person's act) ----------------------------------------------------
    def start_device_authorization(self) -> DeviceAuthorization:
        return self.grants.start_device_authorization()

    def poll_device_token(self, authorization: DeviceAuthorization, interval: float) -> Token:
        """One poll; on success the token is stored (replacing any earlier grant's)."""
        token = self.grants.poll_device_token(authorization, interval)
        # The store replaces what it holds only if it still holds what we name as stale:
        # so name what it holds now, read afresh (a remembered copy may be outdated).
        self.tokens.forget()
        self.tokens.refresh(lambda: token, stale=self.tokens.load())
        return token

    def wait_for_device_token(
        self,
        authorization: DeviceAuthorization,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[AuthorizationPending], None] | None = None,
        max_transient_failures: int = 5,
    ) -> Token:
        """Poll at the server's interval until approved, denied or expired.

        A passing failure (5xx, timeout) does not end the wait while the code lives;
        `max_transient_failures` in a row do, with the last reason.
        """
        interval = authorization.interval
        failures = 0
        while True:
            sleep(interval)
            try:
                return self.poll_device_token(authorization, interval)
            except AuthorizationPending as pending:
                failures = 0
                interval = pending.interval
                if on_wait is not None:
                    on_wait(pending)
            except TransientError:
                failures += 1
                if failures >= max_transient_failures or authorization.expired():
                    raise

    # --- tokens -------------------------------------------------------------------------
    def _token(self) -> Token:
        token = self.tokens.load()
        if token is None:
            raise ReconnectRequired(NOT_CONNECTED)
        if not token.value or not token.is_fresh():
            # No access token (dropped when access was refused) or about to expire.
            token = self._renew(token)
        return token

    def ensure_token(self) -> None:
        """Have a fresh token before a create (the outbox calls it first): a refused or
        failed renewal is then known not to have sent the create."""
        self._token()

    def _renew(self, stale: Token | None) -> Token:
        """Refresh under the store's lock; another worker's fresh token is taken as is."""
        if stale is None:
            raise ReconnectRequired(NOT_CONNECTED)
        return self.tokens.refresh(lambda: self.grants.refresh(self._current(stale)), stale)

    def _current(self, stale: Token) -> Token:
        # Called under the store's lock, which fetches only while it holds `stale` or an
        # expired token: a stored one may carry a newer refresh token (rotated by a
        # worker before us), so it wins over the one we held.
        current = self.tokens.load()
        return current if current is not None and current.refresh_token else stale

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        token = self._token()
        response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 401:
            # Expired or revoked early: one renewed token, one more try, then give up.
            token = self._renew(token)
            response = self._send_with(token, method, path, **kwargs)
        return response

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}", **kwargs.pop("headers", {})}
        return self.http.send(method, path, headers=headers, **kwargs)

    def _json(self, response: requests.Response, *, key: str | None = None, kind: type = dict):
        """The JSON answer the guide promises for a 2xx, or a TransientError."""
        raise_for_status(response, describe_error)
        if key is not None:
            json_field(response, key)  # raises unless the body has it
        return json_body(response, kind)

    # --- devices ------------------------------------------------------------------------
    def create_device(self, name: str, reference: str | None = None) -> dict:
        """Create a device; returns it (with its `id`)."""
        payload = {"name": name}
        if reference:
            payload["reference"] = reference
        return self._json(self._call("POST", "/devices", json=payload), key="id")

    # The four calls below appear in no public source (module docstring): each tells
    # staff in words when zevvy refuses it as a call it does not offer.
    def get_device(self, device_id: str) -> dict:
        path = f"/devices/{quote(device_id, safe='')}"
        response = self._call("GET", path)
        refused_as_unpublished(response, "list", device_id)
        return self._json(response, key="id")

    def update_device(self, device_id: str, name: str, reference: str | None = None) -> None:
        payload = {"name": name}
        if reference:
            payload["reference"] = reference
        response = self._call("PUT", f"/devices/{quote(device_id, safe='')}", json=payload)
        refused_as_unpublished(response, "update", reference or device_id)
        raise_for_status(response, describe_error)
        # No source shows this call's answer; the sandbox answers the device (200 JSON).
        # A maintenance page is no rename: the row must not say synced.
        expect_no_content_or_json(response)

    def delete_device(self, device_id: str, *, key: str = "") -> None:
        response = self._call("DELETE", f"/devices/{quote(device_id, safe='')}")
        refused_as_unpublished(response, "delete", key or device_id)
        raise_for_status(response, describe_error)
        # No source shows this call's answer; the sandbox answers 204.
        expect_no_content_or_json(response)

    def list_devices(self, *, reference: str | None = None) -> Iterator[dict]:
        page = 0
        while True:
            params = {"page": page, "size": PAGE_SIZE}
            if reference:
                params["reference"] = reference
            response = self._call("GET", "/devices", params=params)
            refused_as_unpublished(response, "list", reference or "(any)")
            body = self._json(response, kind=object)
            if isinstance(body, list):  # an unpaged list: all of it at once
                yield from body
                return
            if not isinstance(body, dict) or not isinstance(body.get("content"), list):
                raise unexpected(response, "a list of devices or a page of them")
            yield from body["content"]
            info = body.get("page") if isinstance(body.get("page"), dict) else body
            page += 1
            if page >= int(info.get("totalPages") or 0):
                return

    def find_device(self, reference: str) -> dict | None:
        """The device with our reference, or None. Filtered here too: a server that
        ignored the query parameter would otherwise hand us someone else's device."""
        for device in self.list_devices(reference=reference):
            if device.get("reference") == reference:
                return device
        return None

    # --- measurements -------------------------------------------------------------------
    def bulk_create_measurements(self, measurements: list[dict]) -> bool:
        """The guide's `_bulk_create`: devices and registers are found by name and
        created when missing. measurements: [{"deviceName", "registerName", "readAt"
        (aware datetime or ISO string), "value"}]. True when stored, False when zevvy
        already had every one of them (409)."""
        body = [{**m, "readAt": read_at(m["readAt"])} for m in measurements]
        return self._measurements("/measurements/_bulk_create", body)

    def bulk_create_measurements_by_ref(
        self, device_ref: str, register_ref: str, readings: list[dict]
    ) -> bool:
        """NOTES.md's path form: readings [{"readAt", "value"}] for a register found by
        its device's and its own reference. 409 = already there = done (False)."""
        path = (
            f"/deviceRef/{quote(device_ref, safe='')}/registerRef/{quote(register_ref, safe='')}"
            "/measurements/_bulk_create"
        )
        body = [{"readAt": read_at(r["readAt"]), "value": r["value"]} for r in readings]
        return self._measurements(path, body)

    def _measurements(self, path: str, body: list[dict]) -> bool:
        """Send `body`; True once zevvy holds every measurement of it.

        NOTES.md documents a 409 only as "readings it already has". Read strictly, zevvy
        may refuse a whole batch for one reading it has, storing none of the others (its
        sandbox does): a 409 is then not "done" for a batch that also holds new readings.
        So a refused batch of more than one is halved and each half sent again, down to
        single readings, whose 409 does mean "already there": nothing new is ever taken
        for stored. The cost falls on repeats only: a batch zevvy holds entirely costs
        2n - 1 calls, a fresh one 1. Returns False when zevvy had all of them already."""
        response = self._call("POST", path, json=body)
        if response.status_code == 409:
            if len(body) == 1:
                return False
            middle = len(body) // 2
            first = self._measurements(path, body[:middle])
            second = self._measurements(path, body[middle:])
            return first or second
        raise_for_status(response, describe_error)
        if response.status_code not in (200, 201, 204):
            raise unexpected(response, "201 Created")
        # The guide shows a JSON answer without its fields, NOTES.md only the 201: a
        # maintenance page with 200 stored nothing, so the readings must go again.
        expect_no_content_or_json(response)
        return True

    # --- health -------------------------------------------------------------------------
    def check(self) -> None:
        """Renew the access token (a cached one proves nothing about the grant) and make
        one harmless read."""
        self.grants.check_configuration()
        current = self.tokens.load()
        if current is None:
            raise ReconnectRequired(NOT_CONNECTED)
        self._renew(current)
        response = self._call("GET", "/devices", params={"page": 0, "size": 1})
        self._json(response, kind=object)
