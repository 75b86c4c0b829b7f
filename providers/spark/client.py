"""Volue Spark's Energy Coordination API in Python (no Django here): what both of its
forms share.

Spark has two forms (NOTES.md), and `SPARK_API` picks one:
- `current` (client_current.py): the API Spark serves today, Volue's public spec
  (`../shared/provider-docs/spark-openapi.json`): the partner chooses every id, meters are
  locations, every request schema refuses unknown fields;
- `guide` (client_guide.py): the quickstart guide (`../shared/provider-docs/003_*.txt`):
  the platform makes the user's id, meters are meters, vehicles and resources carry
  metadata.

This module holds what they share: the token from Spark's separate identity server
(`SPARK_TOKEN_URL`), errors, what a 2xx must be to count as Spark's answer, the user list,
webhooks, events and reports. The base URL ends in `/energy-coordination/v1`.
"""

from collections.abc import Callable, Iterator
from urllib.parse import quote

import requests

from ..errors import AuthError, PermanentError, TransientError
from ..http import (
    CallRecord,
    HttpTransport,
    first_words,
    json_body,
    make_session,
    raise_for_status,
    retry_after_seconds,
    unexpected,
)
from ..tokens import MemoryTokenStore, Token, TokenStore
from .identity import ClientCredentials

# The guide: "The token is valid for 30 minutes" (the current docs: 60). Used only when
# a token answer has no `expires_in`; otherwise the server's own figure counts.
TOKEN_LIFETIME_SECONDS = 30 * 60
PAGE_SIZE = 100

# Paths both forms have; each form adds its own (client_guide.PATHS, client_current.PATHS).
PATHS = {
    "users": "/users",
    "user": "/users/{userId}",
    "webhooks": "/webhooks",
    "webhook": "/webhooks/{webhookId}",
    # The guide's test delivery; the spec lists no such path (docs/spark.md).
    "webhook_test": "/webhooks/{webhookId}/test",
    "events": "/events",
    "reports": "/reports",
}

# Webhook bodies: the guide's (`url`, `operations`, `eventTypes`) or the current API's
# (`webhookUrl`, `name`, `notificationTypes`, NOTES.md). A setting picks.
WEBHOOK_FIELDS = ("current", "guide")
JSON_TYPES = ("application/json", "application/problem+json")
# A gateway answering this for Spark shows the request never reached Spark's API: a
# create answered so can simply be sent again (issue 14). Other 5xx may have arrived.
GATEWAY_REFUSED = 502


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


def content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_json(response: requests.Response) -> bool:
    kind = content_type(response)
    return kind in JSON_TYPES or kind.endswith("+json")


def not_spark(response: requests.Response, promised: str) -> TransientError:
    """A 2xx that is not Spark's answer: try again later. An HTML page (the maintenance
    page of a proxy in front of Spark) also shows that Spark's API never processed the
    request, so a create answered by one is not an outcome to look up (issue 14)."""
    error = unexpected(response, promised)
    if content_type(response) in ("text/html", "application/xhtml+xml"):
        error.request_may_have_arrived = False
    return error


class GatewayAwareSession:
    """The session every Spark call goes through: `requests` with one thing kept.

    A gateway that answers 502 and closes the connection before its body is complete
    makes `requests` raise (ChunkedEncodingError) and forget the status line, which was
    the proof that Spark never saw the request. Here the body is read after the status
    line; a 502 whose body breaks off is still a 502 (with no body)."""

    def __init__(self, session: requests.Session | None = None):
        self.session = session or make_session()

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        response = self.session.request(method, url, stream=True, **kwargs)
        try:
            response.content  # noqa: B018 - reads the body now, inside this try
        except requests.RequestException:
            if response.status_code != GATEWAY_REFUSED:
                raise
            response._content = b""  # the body broke off; the status line stands
        finally:
            response.close()
        return response


def _path_value(value) -> str:
    return quote(str(value), safe="")


class SparkClient:
    """Shared by both forms; build one with `client_for(api, ...)`."""

    api = ""
    PATHS = PATHS

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
        unknown = set(paths or {}) - set(self.PATHS)
        if unknown:
            raise ValueError(f"unknown Spark path names: {', '.join(sorted(unknown))}")
        if webhook_fields not in WEBHOOK_FIELDS:
            raise ValueError(f"webhook_fields must be one of {', '.join(WEBHOOK_FIELDS)}")
        self.http = HttpTransport(
            base_url, timeout=timeout, on_call=on_call, session=GatewayAwareSession(session)
        )
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
        self.paths = {**self.PATHS, **(paths or {})}
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
        path = self.paths[name].format(**{k: _path_value(v) for k, v in (ids or {}).items()})
        token = self._token()
        response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 401:
            # Expired or revoked early: one fresh token, one more try, then give up.
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 409:
            raise ConflictError(f"conflict: {describe_error(response)}", status=409)
        if response.status_code == GATEWAY_REFUSED:
            raise TransientError(
                f"HTTP 502 from a gateway in front of Spark: {describe_error(response)}",
                status=502,
                retry_after=retry_after_seconds(response),
                request_may_have_arrived=False,
            )
        raise_for_status(response, describe_error)
        return response

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}"}
        return self.http.send(method, path, headers=headers, **kwargs)

    # --- what a 2xx must be to be Spark's answer (issue 14) -------------------------------
    @staticmethod
    def _json(response: requests.Response, kind: type, promised: str):
        if not is_json(response):
            raise not_spark(response, promised)
        try:
            return json_body(response, kind)
        except TransientError:
            raise unexpected(response, promised) from None

    def _object(self, response: requests.Response, *keys: str) -> dict:
        """The JSON object promised, with `keys` filled."""
        promised = f"JSON with {', '.join(map(repr, keys))}" if keys else "a JSON object"
        body = self._json(response, dict, promised)
        if any(body.get(k) in (None, "") for k in keys):
            raise unexpected(response, promised)
        return body

    def _items(self, response: requests.Response, key: str) -> tuple[list[dict], dict]:
        """A list answer: a bare array, or an object with the list under `key` (and maybe
        `pagination`, as Spark's reference spec pages its user and event lists)."""
        body = self._json(response, object, f"a list of {key}")
        if isinstance(body, list):
            return [i for i in body if isinstance(i, dict)], {}
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return [i for i in body[key] if isinstance(i, dict)], body.get("pagination") or {}
        raise unexpected(response, f"a list of {key}")

    @staticmethod
    def _done(response: requests.Response, promised: str = "no content or JSON") -> None:
        """An answer promising nothing (204, or the spec's `200 application/json` without a
        schema): empty, or JSON. A page in its place (200 + HTML) is no success."""
        if response.status_code == 204 or not response.content:
            return
        if not is_json(response):
            raise not_spark(response, promised)

    # --- users (both forms) -------------------------------------------------------------
    def get_user(self, user_id: str) -> dict:
        return self._object(self._call("GET", "user", {"userId": user_id}), "userId")

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

    def delete_user(self, user_id: str) -> None:
        self._done(self._call("DELETE", "user", {"userId": user_id}))

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

    def update_webhook(self, webhook_id: str, **fields) -> dict:
        """`PATCH /webhooks/{id}` with the spec's field names (`webhookSecret`, …)."""
        response = self._call("PATCH", "webhook", {"webhookId": webhook_id}, json=fields)
        return self._object(response, "webhookId")

    def delete_webhook(self, webhook_id: str) -> None:
        self._done(self._call("DELETE", "webhook", {"webhookId": webhook_id}))

    def test_webhook(self, webhook_id: str) -> dict:
        """Ask Spark to send a signed test event to the webhook's URL (the guide; it
        promises the delivery, not an answer body)."""
        response = self._call("POST", "webhook_test", {"webhookId": webhook_id})
        if not response.content:
            return {}
        return self._object(response)

    # --- events -------------------------------------------------------------------------
    def list_events(self, page: int = 1, page_size: int = PAGE_SIZE) -> tuple[list[dict], dict]:
        """One page of `GET /events`, newest first: (events, pagination)."""
        response = self._call("GET", "events", params={"page": page, "pageSize": page_size})
        return self._items(response, "events")

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
