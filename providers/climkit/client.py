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
from ..http import (
    CallRecord,
    HttpTransport,
    auth_answer,
    make_session,
    raise_for_status,
    redacted_text,
)
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
    """A body's first words, tags stripped, secrets redacted: enough to recognise a
    maintenance page."""
    words = " ".join(_TAG.sub(" ", redacted_text(text or "")).split())
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
                f"POST /auth answered something that is not the API: {auth_answer(response)}",
                status=response.status_code,
            )
        raise_for_status(response, describe_error)
        # An odd answer of the login is never quoted: a token may hide in it.
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError(
                f"POST /auth: Climkit answered no access_token: {auth_answer(response)}",
                status=response.status_code,
            )
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
        """The ids of every site this API user may read.

        The guide: "die Liste aller Standorte, dargestellt als Liste von Objekten", with
        no field named. NOTES.md: one public client reads a list of id strings, another
        `site_id` from objects. Accepted: id strings, and objects with `site_id`, `id`
        (as the guide's meters name theirs) or MongoDB's `_id` (a string or extended
        JSON `{"$oid": …}`, the API answering extended JSON elsewhere)."""
        items = self._call("GET", "/all_installations", list)
        ids = [site_id_of(item) for item in items]
        if not all(ids):
            raise TransientError(
                f"GET /all_installations: expected sites (id strings or objects with "
                f"site_id, id or _id), got {first_words(str(items))}"
            )
        return ids

    def installation_infos(self, site_id: str) -> dict:
        path = f"/installation_infos/{_segment(site_id)}"
        return self._call("GET", path, dict)

    # --- meters -------------------------------------------------------------------------
    def meter_info(self, site_id: str) -> list[dict]:
        """The site's meters as the guide lists them, `prim_ad` an int where it reads as
        one (the guide says int; a string of digits is taken too, anything else kept as
        given) and `physical` added: False for a rule meter (`is_rule_meter`, the guide)
        or a virtual one (`is_virtual`, which the guide does not show; read where it
        appears), which have no raw data ("nur für physische Zähler")."""
        path = f"/meter_info/{_segment(site_id)}"
        meters = self._items(self._call("GET", path, list), f"GET {path}", ("id",))
        return [_meter(m) for m in meters]

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


def site_id_of(item) -> str:
    """A site's id from one `/all_installations` item, or "" if it has none."""
    if isinstance(item, dict):
        item = next((item[k] for k in ("site_id", "id", "_id") if item.get(k)), "")
        if isinstance(item, dict):  # {"$oid": "…"}
            item = item.get("$oid", "")
    return item if isinstance(item, str) else ""


def _flag(value) -> bool:
    """A boolean as JSON or as text ("true", "1"): the guide says boolean."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def is_physical(meter: dict) -> bool:
    """Neither a rule meter (the guide's `is_rule_meter`) nor a virtual one
    (`is_virtual`, not in the guide): only a physical meter has raw data."""
    return not (_flag(meter.get("is_rule_meter")) or _flag(meter.get("is_virtual")))


def _meter(meter: dict) -> dict:
    shown = {**meter, "id": str(meter["id"]), "physical": is_physical(meter)}
    prim_ad = meter.get("prim_ad")
    if isinstance(prim_ad, str) and prim_ad.strip().isdigit():
        shown["prim_ad"] = int(prim_ad.strip())
    return shown


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
