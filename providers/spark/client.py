"""Volue Spark's Energy Coordination API in Python (no Django here).

Guide: ../shared/provider-docs/003_*.txt; the rest from NOTES.md. The base URL ends in
`/energy-coordination/v1` on the real platform; tokens come from a separate identity
server (`SPARK_TOKEN_URL`, `https://auth.identity.volue.com/connect/token` in the guide).

The guide names the creates (users, meters, vehicles, resources, webhooks, reports, the
webhook test) and nothing else. Where it is silent (lists, deletes, a user's update, what
a list answers) the paths below are the REST shapes Spark's public docs use, and every
path can be replaced with the `paths` argument: NOTES.md warns that the current API has
moved beyond the guide.
"""

from collections.abc import Callable, Iterator

import requests

from ..errors import AuthError, PermanentError, TransientError
from ..http import CallRecord, HttpTransport, first_words, raise_for_status, unexpected
from ..tokens import MemoryTokenStore, Token, TokenStore
from .identity import ClientCredentials

# The guide: "The token is valid for 30 minutes". Used only when a token answer has no
# `expires_in`; otherwise the server's own figure counts.
TOKEN_LIFETIME_SECONDS = 30 * 60
PAGE_SIZE = 100

PATHS = {
    "users": "/users",
    "user": "/users/{userId}",
    "meters": "/users/{userId}/meters",
    "meter": "/users/{userId}/meters/{meterId}",
    "vehicles": "/users/{userId}/vehicles",
    "vehicle": "/users/{userId}/vehicles/{vehicleId}",
    "resources": "/users/{userId}/resources",
    "resource": "/users/{userId}/resources/{resourceId}",
    "webhooks": "/webhooks",
    "webhook": "/webhooks/{webhookId}",
    "webhook_test": "/webhooks/{webhookId}/test",
    "reports": "/reports",
}

# Resource types the portal registers (Resource.Kind in onboarding mirrors it). The guide
# shows HotWaterTank; Spark's resource docs name batteries, heat pumps and electric
# boilers; its reference spec adds Charger, HVAC, SolarInverter and Generic.
RESOURCE_TYPES = (
    "HotWaterTank",
    "HeatPump",
    "Battery",
    "ElectricBoiler",
    "Charger",
    "HVAC",
    "SolarInverter",
    "Generic",
)
LOCATION_TYPES = ("Residential", "Commercial", "Other")

# Webhook bodies: the guide's (`url`, `operations`, `eventTypes`) or the current API's
# (`webhookUrl`, `name`, `notificationTypes`, NOTES.md). A setting picks; the sandbox
# takes either.
WEBHOOK_FIELDS = ("current", "guide")


class ConflictError(PermanentError):
    """409: the key we chose is taken (a repeated create, or another user's object)."""


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call.

    Spark is an ASP.NET service: validation errors come as problem details
    (`application/problem+json`, `{"title", "detail", "errors": {"field": [...]}}`), and
    its reference spec shows other 400s as a bare JSON string. Anything else is shown raw.
    """
    try:
        body = response.json()
    except ValueError:
        return first_words(response, 300) if response.text else (response.reason or "")
    if isinstance(body, str):
        return body[:500]
    if not isinstance(body, dict):
        return str(body)[:500]
    parts = [str(body.get(key)) for key in ("title", "detail", "message") if body.get(key)]
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, messages in errors.items():
            text = "; ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
            parts.append(f"{field}: {text}")
    return " ".join(parts) or str(body)[:500]


class SparkClient:
    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        token_store: TokenStore | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        paths: dict[str, str] | None = None,
        webhook_fields: str = "current",
        scope: str | None = None,
        session: requests.Session | None = None,
    ):
        unknown = set(paths or {}) - set(PATHS)
        if unknown:
            raise ValueError(f"unknown Spark path names: {', '.join(sorted(unknown))}")
        if webhook_fields not in WEBHOOK_FIELDS:
            raise ValueError(f"webhook_fields must be one of {', '.join(WEBHOOK_FIELDS)}")
        self.http = HttpTransport(base_url, timeout=timeout, on_call=on_call, session=session)
        self.identity = ClientCredentials(
            token_url,
            client_id,
            client_secret,
            default_lifetime=TOKEN_LIFETIME_SECONDS,
            scope=scope,
            timeout=timeout,
            on_call=on_call,
            label="Spark's identity server",
        )
        self.tokens = token_store or MemoryTokenStore()
        self.paths = {**PATHS, **(paths or {})}
        self.webhook_fields = webhook_fields
        # Set by whoever built the client from bad settings: every call then refuses with
        # this sentence (as an AuthError: the platform cannot be used until it is fixed).
        self.settings_error = ""

    # --- auth ---------------------------------------------------------------------------
    def fetch_token(self) -> Token:
        if self.settings_error:
            raise AuthError(self.settings_error)
        return self.identity.fetch()

    def _token(self) -> Token:
        token = self.tokens.load()
        if token is None or not token.is_fresh():
            token = self.tokens.refresh(self.fetch_token, stale=token)
        return token

    def ensure_token(self) -> None:
        """Have a fresh token before a write (the outbox calls it before a create, so a
        failing identity server is known not to have let the create leave)."""
        self._token()

    def _call(self, method: str, name: str, ids: dict | None = None, **kwargs):
        path = self.paths[name].format(**(ids or {}))
        token = self._token()
        response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 401:
            # Expired or revoked early: one fresh token, one more try, then give up.
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 409:
            raise ConflictError(f"conflict: {describe_error(response)}", status=409)
        raise_for_status(response, describe_error)
        return response

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}"}
        return self.http.send(method, path, headers=headers, **kwargs)

    # --- what an answer must hold ---------------------------------------------------------
    @staticmethod
    def _object(response: requests.Response, *keys: str) -> dict:
        """The JSON object the guide promises, with `keys` filled; anything else (a 200
        maintenance page, a body without the id) is a transient failure, not a success."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or any(body.get(k) in (None, "") for k in keys):
            promised = f"JSON with {', '.join(map(repr, keys))}" if keys else "a JSON object"
            raise unexpected(response, promised)
        return body

    @staticmethod
    def _items(response: requests.Response, key: str) -> tuple[list[dict], dict]:
        """A list answer: a bare array, or an object with the list under `key` (and maybe
        `pagination`, as Spark's reference spec pages its user list)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, list):
            return [i for i in body if isinstance(i, dict)], {}
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return [i for i in body[key] if isinstance(i, dict)], body.get("pagination") or {}
        raise unexpected(response, f"a list of {key}")

    # --- users --------------------------------------------------------------------------
    def create_user(self, payload: dict | None = None) -> str:
        # The guide gives no fields for a user: the platform hands out the userId.
        response = self._call("POST", "users", json=payload or {})
        return str(self._object(response, "userId")["userId"])

    def get_user(self, user_id: str) -> dict:
        return self._object(self._call("GET", "user", {"userId": user_id}))

    def list_users(self) -> Iterator[dict]:
        page = 1  # Spark's reference spec counts pages from 1
        while True:
            response = self._call("GET", "users", params={"page": page, "pageSize": PAGE_SIZE})
            users, pagination = self._items(response, "users")
            yield from users
            total = int(pagination.get("totalPages") or 0)
            if not users or page >= total:
                return
            page += 1

    def update_user(self, user_id: str, payload: dict) -> None:
        # Spark's user docs: "Updating a User: POST /users/:id".
        self._call("POST", "user", {"userId": user_id}, json=payload)

    def delete_user(self, user_id: str) -> None:
        self._call("DELETE", "user", {"userId": user_id})

    # --- meters -------------------------------------------------------------------------
    def create_meter(self, user_id: str, payload: dict) -> str:
        response = self._call("POST", "meters", {"userId": user_id}, json=payload)
        return str(self._object(response, "meterId")["meterId"])

    def list_meters(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "meters", {"userId": user_id}), "meters")[0]

    def delete_meter(self, user_id: str, meter_id: str) -> None:
        self._call("DELETE", "meter", {"userId": user_id, "meterId": meter_id})

    # --- vehicles -----------------------------------------------------------------------
    def create_vehicle(self, user_id: str, payload: dict) -> dict:
        """Register a vehicle under our `vehicleId`; the answer's object (the guide shows
        none, so only a JSON object is required of it)."""
        return self._object(self._call("POST", "vehicles", {"userId": user_id}, json=payload))

    def list_vehicles(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "vehicles", {"userId": user_id}), "vehicles")[0]

    def delete_vehicle(self, user_id: str, vehicle_id: str) -> None:
        self._call("DELETE", "vehicle", {"userId": user_id, "vehicleId": vehicle_id})

    # --- resources ----------------------------------------------------------------------
    def create_resource(self, user_id: str, payload: dict) -> dict:
        return self._object(self._call("POST", "resources", {"userId": user_id}, json=payload))

    def list_resources(self, user_id: str) -> list[dict]:
        return self._items(self._call("GET", "resources", {"userId": user_id}), "resources")[0]

    def delete_resource(self, user_id: str, resource_id: str) -> None:
        self._call("DELETE", "resource", {"userId": user_id, "resourceId": resource_id})

    # --- webhooks -----------------------------------------------------------------------
    def create_webhook(
        self,
        url: str,
        secret: str,
        *,
        name: str = "",
        notification_types: list[str] | None = None,
        event_types: list[str] | None = None,
        operations: list[str] | None = None,
    ) -> dict:
        """Subscribe `url`; returns the platform's webhook (its id under `webhookId`)."""
        if self.webhook_fields == "guide":
            body = {
                "url": url,
                "webhookSecret": secret,
                "operations": operations or ["Create", "Update", "Delete"],
                "eventTypes": event_types or ["PriceDelta"],
            }
        else:
            body = {"webhookUrl": url, "webhookSecret": secret, "name": name or None}
            body["notificationTypes"] = notification_types or ["PriceCurveCreated"]
        answer = self._object(self._call("POST", "webhooks", json=body))
        answer.setdefault("webhookId", answer.get("id"))
        if not answer["webhookId"]:
            raise TransientError(f"POST /webhooks answered without a webhookId: {answer!r:.120}")
        return answer

    def list_webhooks(self) -> list[dict]:
        return self._items(self._call("GET", "webhooks"), "webhooks")[0]

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", "webhook", {"webhookId": webhook_id})

    def test_webhook(self, webhook_id: str) -> dict:
        """Ask Spark to send a signed test event to the webhook's URL."""
        response = self._call("POST", "webhook_test", {"webhookId": webhook_id})
        if not response.content:
            return {}
        return self._object(response)

    # --- reports ------------------------------------------------------------------------
    def create_report(self, payload: dict) -> dict:
        """`POST /reports` → `{"id", "eventId", "createdAt"}` (NOTES.md)."""
        return self._object(self._call("POST", "reports", json=payload), "id")

    # --- health -------------------------------------------------------------------------
    def check(self) -> None:
        """Authenticate afresh (a cached token proves nothing about the credentials) and
        make one harmless read."""
        self.tokens.refresh(self.fetch_token, stale=self.tokens.load())
        self._items(self._call("GET", "users", params={"page": 1, "pageSize": 1}), "users")
