"""The Climkit developer API in Python (no Django here).

Guide: ../shared/provider-docs/002_*.txt; response and request shapes from NOTES.md.
Paths are relative to the base URL, which ends in `/api/v1` on the real platform.

Every request, the login included, first takes its turn from `acquire` (one budget of
1 request/s for the whole deployment, providers/ratelimit.py), right before it leaves:
after the token is in hand, so the time between the turn and the platform seeing the
request stays as short and even as possible. Nothing retries behind the limiter's back:
the session has no urllib3 retries (a retried read would be a second, unbudgeted call);
the outbox and beat retry instead.
"""

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

import requests

from ..errors import AuthError, PermanentError, TransientError
from ..http import CallRecord, HttpTransport, make_session, raise_for_status
from ..ratelimit import BudgetSpec, shared_budget
from ..tokens import MemoryTokenStore, Token, TokenStore

NAME = "climkit"
# The guide: "ein 15 Minuten gültiges Token". The answer's `valid_until` is the truth;
# this is only the fallback should it be missing.
TOKEN_LIFETIME_SECONDS = 15 * 60
SAMPLING_FREQUENCIES = ("15T", "H", "D", "M", "Y")
# site_data's meter types (the guide); `meter_info` lists electricity, heating,
# cold_water, hot_water and, per NOTES.md, charge_point.
METER_TYPES = ("electricity", "heating", "cooling", "cold_water", "hot_water", "charge_point")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # NOTES.md: "2022-07-17T12:00:00", UTC, no zone
_TAG = re.compile(r"<[^>]*>")


def describe_error(response: requests.Response) -> str:
    """The platform's reason for a failed call.

    The guide shows no error bodies. The API speaks MongoDB extended JSON
    (`{"$date": …}`), so it is most plausibly a Flask service with flask-jwt-extended,
    whose errors are `{"msg": "…"}`; other keys and plain text are shown as they come.
    """
    try:
        body = response.json()
    except ValueError:
        return first_words(response.text) or response.reason or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("msg", "message", "error", "detail", "description"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key][:500]
    return str(body)[:500]


def _is_json(response: requests.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def first_words(text: str, limit: int = 120) -> str:
    """A body's first words, tags stripped: enough to recognise a maintenance page."""
    words = " ".join(_TAG.sub(" ", text or "").split())
    return words if len(words) <= limit else words[:limit] + "…"


def utc_param(value: datetime) -> str:
    """A request time as the guide wants it: ISO format, UTC, without a zone."""
    if value.tzinfo is None:
        # A naive time could be local or UTC; guessing would shift a whole series.
        raise ValueError("Climkit times must be timezone-aware datetimes")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_timestamp(value) -> datetime:
    """A returned timestamp as an aware datetime, keeping the offset it came with.

    NOTES.md: `"2026-03-22 05:30:00+01:00"` (space separator, offset). A string without
    an offset is taken as UTC (the guide's times are UTC). Sensor data gives an integer
    (the guide: `<int timestamp>`): epoch milliseconds, as pandas writes them, or seconds
    for a value too small to be milliseconds after 1973.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, dict) and "$date" in value:  # MongoDB extended JSON
        return parse_timestamp(_mongo_date(value))
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def _mongo_date(value: dict):
    inner = value["$date"]
    if isinstance(inner, dict) and "$numberLong" in inner:  # canonical form
        return int(inner["$numberLong"])
    return inner


class ClimkitClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        token_store: TokenStore | None = None,
        acquire: Callable[[], object] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
    ):
        self.http = HttpTransport(
            base_url, timeout=timeout, on_call=on_call, session=session or make_session(0)
        )
        self.username = username
        self.password = password
        self.tokens = token_store or MemoryTokenStore()
        # Without a shared budget (a bare client), this process alone keeps 1/s.
        self.acquire = acquire or shared_budget(BudgetSpec(NAME)).acquire

    # --- auth ---------------------------------------------------------------------------
    def fetch_token(self) -> Token:
        response = self._send(
            "POST", "/auth", json={"username": self.username, "password": self.password}
        )
        if response.status_code == 401 or (
            response.status_code in (400, 403) and _is_json(response)
        ):
            reason = describe_error(response)
            raise AuthError(
                f"Climkit refused the username or password: {reason}", status=response.status_code
            )
        if response.status_code in (400, 403):
            # A web page, not the API's answer: a proxy or a wrong base URL, not a password.
            raise PermanentError(
                f"POST /auth answered {response.status_code} with something that is not the "
                f"API: {first_words(response.text)}",
                status=response.status_code,
            )
        raise_for_status(response, describe_error)
        body = self._json(response, "POST /auth", dict)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._garbage(response, "POST /auth", "no access_token")
        return Token(token, self._valid_until(body.get("valid_until"), response))

    def _valid_until(self, value, response) -> float:
        if value is None:
            return time.time() + TOKEN_LIFETIME_SECONDS
        try:
            return parse_timestamp(value).timestamp()
        except (ValueError, TypeError, KeyError) as exc:
            raise self._garbage(response, "POST /auth", "unreadable valid_until") from exc

    def _token(self) -> Token:
        token = self.tokens.load()
        if token is None or not token.is_fresh():
            token = self.tokens.refresh(self.fetch_token, stale=token)
        return token

    # --- sending ------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        self.acquire()  # our turn in the deployment's 1 request/s, right before it leaves
        return self.http.send(method, path, **kwargs)

    def _call(self, method: str, path: str, shape: type, **kwargs):
        token = self._token()
        response = self._send_with(token, method, path, **kwargs)
        if response.status_code == 401:
            # Expired or revoked early: one fresh token, one more try, then give up.
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send_with(token, method, path, **kwargs)
        raise_for_status(response, describe_error)
        return self._json(response, f"{method} {path}", shape)

    def _send_with(self, token: Token, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.value}", "Content-Type": "application/json"}
        return self._send(method, path, headers=headers, **kwargs)

    def _json(self, response: requests.Response, what: str, shape: type):
        """The body as the guide promises it (a list or an object), else a TransientError:
        a 200 maintenance page or a half-written answer is the platform's trouble, not
        ours, and is worth trying again later."""
        try:
            body = response.json()
        except ValueError:
            raise self._garbage(response, what, "not JSON") from None
        if not isinstance(body, shape):
            raise self._garbage(response, what, f"expected a JSON {shape.__name__}")
        return body

    @staticmethod
    def _garbage(response: requests.Response, what: str, why: str) -> TransientError:
        return TransientError(
            f"{what}: Climkit answered {response.status_code} but {why}: "
            f"{first_words(response.text) or '(empty body)'}",
            status=response.status_code,
        )

    def _items(self, response_items: list, what: str, required: tuple[str, ...]) -> list[dict]:
        for item in response_items:
            if not isinstance(item, dict) or any(key not in item for key in required):
                raise TransientError(
                    f"{what}: Climkit answered an item without {', '.join(required)}: "
                    f"{first_words(str(item))}"
                )
        return response_items

    def _series(self, items: list, what: str) -> list[dict]:
        """Time series items with `timestamp` parsed (offset kept); other fields as given."""
        parsed = []
        for item in self._items(items, what, ("timestamp",)):
            try:
                at = parse_timestamp(item["timestamp"])
            except (ValueError, TypeError, KeyError) as exc:
                raise TransientError(
                    f"{what}: Climkit answered an unreadable timestamp: "
                    f"{first_words(str(item['timestamp']))}"
                ) from exc
            parsed.append({**item, "timestamp": at})
        return parsed

    # --- sites --------------------------------------------------------------------------
    def all_installations(self) -> list[str]:
        """The ids of every site this API user may read (NOTES.md: a list of strings)."""
        ids = self._call("GET", "/all_installations", list)
        if not all(isinstance(i, str) for i in ids):
            raise TransientError(
                f"GET /all_installations: expected site ids, got {first_words(str(ids))}"
            )
        return ids

    def installation_infos(self, site_id: str) -> dict:
        path = f"/installation_infos/{_segment(site_id)}"
        return self._call("GET", path, dict)

    # --- meters -------------------------------------------------------------------------
    def meter_info(self, site_id: str) -> list[dict]:
        path = f"/meter_info/{_segment(site_id)}"
        return self._items(self._call("GET", path, list), f"GET {path}", ("id",))

    def site_data(
        self,
        site_id: str,
        meter_type: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        sampling_frequency: str | None = None,
    ) -> list[dict]:
        """Validated site totals: conso_total, prod_total, from_ext, self, to_ext."""
        if meter_type not in METER_TYPES:
            raise ValueError(f"meter_type must be one of {', '.join(METER_TYPES)}")
        path = f"/site_data/{_segment(site_id)}/{meter_type}"
        body = _range_body(start, end, sampling_frequency)
        return self._series(self._call("POST", path, list, json=body), f"POST {path}")

    def meter_data(
        self,
        site_id: str,
        meter_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        sampling_frequency: str | None = None,
    ) -> list[dict]:
        """Validated meter series: total, self, ext (timestamp at the end of a 15T
        period, at the start of longer ones, as the guide says)."""
        path = f"/meter_data/{_segment(site_id)}/{_segment(meter_id)}"
        body = _range_body(start, end, sampling_frequency)
        return self._series(self._call("POST", path, list, json=body), f"POST {path}")

    def meter_data_raw(
        self,
        site_id: str,
        meter_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict]:
        """Raw meter indices: en_im/en_ex (kWh), heat_energy_kwh or vol_m3."""
        path = f"/meter_data_raw/{_segment(site_id)}/{_segment(meter_id)}"
        body = _range_body(start, end, None)
        return self._series(self._call("POST", path, list, json=body), f"POST {path}")

    # --- sensors ------------------------------------------------------------------------
    def sensors_list(self, site_id: str) -> list[dict]:
        path = f"/{_segment(site_id)}/sensors_list"
        return self._items(self._call("GET", path, list), f"GET {path}", ("id",))

    def sensor_data(
        self,
        site_id: str,
        sensor_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict]:
        """A sensor's series ({timestamp, value}); without a range, its latest data."""
        path = f"/{_segment(site_id)}/sensor_data/{_segment(sensor_id)}"
        params = _range_body(start, end, None)  # the guide: GET parameters here
        return self._series(self._call("GET", path, list, params=params), f"GET {path}")

    # --- health -------------------------------------------------------------------------
    def check(self) -> None:
        """Log in afresh (a cached token proves nothing about the credentials) and make
        one harmless read."""
        self.tokens.refresh(self.fetch_token, stale=self.tokens.load())
        self.all_installations()


def _segment(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a Climkit id must be a non-empty string")
    return quote(value, safe="")


def _range_body(start, end, sampling_frequency) -> dict:
    if sampling_frequency is not None and sampling_frequency not in SAMPLING_FREQUENCIES:
        raise ValueError(f"sampling_frequency must be one of {', '.join(SAMPLING_FREQUENCIES)}")
    if start is not None and end is not None and start > end:
        raise ValueError("start must not be after end")
    body = {}
    if start is not None:
        body["t_s"] = utc_param(start)
    if end is not None:
        body["t_e"] = utc_param(end)
    if sampling_frequency is not None:
        body["sampling_frequency"] = sampling_frequency
    return body
