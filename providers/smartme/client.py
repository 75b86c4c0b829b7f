"""The smart-me REST API in Python, as far as the portal reads it (no Django here).

Guide: ../shared/provider-docs/001_*.txt (paths as its examples call them, against the
base URL https://api.smart-me.com); field names and types from NOTES.md. The portal only
reads smart-me: the devices of the account, by energy type, and the M-Bus gateways
with the meters behind them.

Auth is whichever is configured (`Credentials.mode`): HTTP Basic with the account's
username and password, `Authorization: ApiKey <key>` (NOTES.md), or an OAuth 2
client-credentials token (authlib, providers/smartme/oauth.py) cached in the TokenStore
and refreshed before it expires.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests

from ..errors import AuthError, TransientError
from ..http import CallRecord, HttpTransport, raise_for_status, retry_after_seconds
from ..tokens import MemoryTokenStore, Token, TokenStore
from .errors import describe_error, first_words
from .oauth import ClientCredentials
from .values import MBUS_GATEWAY

BASIC, API_KEY, OAUTH = "basic", "apikey", "oauth"
AUTH_MODES = (BASIC, API_KEY, OAUTH)
# NOTES.md: smart-me's own Python sample and its discovery document use
# `https://api.smart-me.com/oauth/token` (`/oauth/token` on the API's base URL), with
# `scope=device.read`; the guide says `/api/oauth/token/` and names no scope. The
# defaults are the platform's own sample; SMARTME_TOKEN_PATH (a full URL works too, e.g.
# the .NET sample's https://www.smart-me.com/api/oauth/token) and SMARTME_SCOPE change them.
DEFAULT_TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
DEFAULT_SCOPE = "device.read"
# A 429 names its wait (NOTES.md: `Retry-After` in seconds): a read waits that long and
# is sent again, up to RATE_LIMIT_RETRIES times, unless the wait is longer than
# max_wait (then it is the caller's TransientError, with retry_after, for later).
RATE_LIMIT_RETRIES = 3


class ConfigurationError(AuthError):
    """No usable credentials are configured: nothing was sent."""


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    api_key: str = ""
    client_id: str = ""
    client_secret: str = ""

    def mode(self, forced: str = "") -> str:
        """The auth mode to use: `forced` if given, else the first one configured,
        OAuth before API key before Basic (the narrowest credential first: a client
        registered for this integration, then a key, then the account's password)."""
        if forced:
            if forced not in AUTH_MODES:
                raise ConfigurationError(
                    f"unknown auth mode {forced!r}; use one of {', '.join(AUTH_MODES)}"
                )
            missing = self._missing(forced)
            if missing:
                raise ConfigurationError(f"auth mode {forced} needs {missing}")
            return forced
        for mode in (OAUTH, API_KEY, BASIC):
            if not self._missing(mode):
                return mode
        raise ConfigurationError(
            "no credentials: set a client id and secret, an API key, or a username and password"
        )

    def _missing(self, mode: str) -> str:
        needed = {
            OAUTH: ("client_id", "client_secret"),
            API_KEY: ("api_key",),
            BASIC: ("username", "password"),
        }[mode]
        return " and ".join(name for name in needed if not getattr(self, name))


class SmartMeClient:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        auth_mode: str = "",
        token_path: str = DEFAULT_TOKEN_PATH,
        token_auth_method: str = "client_secret_basic",  # noqa: S107 - a method name
        scope: str = DEFAULT_SCOPE,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        token_store: TokenStore | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
    ):
        self.http = HttpTransport(base_url, timeout=timeout, on_call=on_call, session=session)
        self.credentials = credentials
        self.mode = credentials.mode(auth_mode)
        self.tokens = token_store or MemoryTokenStore()
        self.max_wait = max_wait
        self.sleep = sleep
        self.fetch_token: Callable[[], Token] | None = None
        if self.mode == OAUTH:
            token_path = token_path or DEFAULT_TOKEN_PATH
            is_url = token_path.startswith(("http://", "https://"))
            self.fetch_token = ClientCredentials(
                token_path if is_url else self.http.base_url + "/" + token_path.lstrip("/"),
                credentials.client_id,
                credentials.client_secret,
                auth_method=token_auth_method,
                scope=scope,
                timeout=timeout,
                on_call=on_call,
                path_for_log=token_path,
            )

    # --- auth ---------------------------------------------------------------------------
    def _token(self) -> Token:
        token = self.tokens.load()
        if token is None or not token.is_fresh():
            token = self.tokens.refresh(self.fetch_token, stale=token)
        return token

    def _authorization(self, token: Token | None) -> str:
        if self.mode == OAUTH:
            return f"Bearer {token.value}"
        if self.mode == API_KEY:
            return f"ApiKey {self.credentials.api_key}"
        return requests.auth._basic_auth_str(self.credentials.username, self.credentials.password)

    def _get(self, path: str, **params) -> requests.Response:
        """A read, honouring a 429's Retry-After (RATE_LIMIT_RETRIES), whether the API
        or the token endpoint answered it."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self._get_once(path, params)
            except TransientError as exc:  # the token request was rate limited
                if exc.status == 429 and self._waited(exc.retry_after, attempt):
                    continue
                raise
            if response.status_code == 429 and self._waited(retry_after_seconds(response), attempt):
                continue
            raise_for_status(response, describe_error)
            return response
        raise AssertionError("unreachable")

    def _waited(self, seconds: float | None, attempt: int) -> bool:
        """Wait out a 429 if it said how long and that is short enough; else False."""
        if attempt >= RATE_LIMIT_RETRIES or seconds is None or seconds > self.max_wait:
            return False
        self.sleep(seconds)
        return True

    def _get_once(self, path: str, params: dict) -> requests.Response:
        token = self._token() if self.mode == OAUTH else None
        response = self._send(token, path, params)
        if response.status_code == 401 and self.mode == OAUTH:
            # Expired or revoked early: one fresh token, one more try, then give up.
            token = self.tokens.refresh(self.fetch_token, stale=token)
            response = self._send(token, path, params)
        return response

    def _send(self, token: Token | None, path: str, params: dict) -> requests.Response:
        headers = {"Authorization": self._authorization(token)}
        return self.http.send("GET", path, headers=headers, params=params or None)

    # --- reads --------------------------------------------------------------------------
    def list_devices(self) -> list[dict]:
        """Every device of the account (`GET /Devices`)."""
        return _device_list(self._get("/Devices"))

    def devices_by_energy(self, energy_type: int) -> list[dict]:
        """The devices of one DeviceEnergyType (`GET /DevicesByEnergy?meterEnergyType=N`)."""
        return _device_list(self._get("/DevicesByEnergy", meterEnergyType=int(energy_type)))

    def device(self, device_id: str) -> dict:
        """One device (`GET /Devices/{id}`), as the guide's M-Bus sample reads each meter."""
        response = self._get(f"/Devices/{quote(device_id, safe='')}")
        return _device(_json(response), response)

    def mbus_gateways(self) -> list[dict]:
        return self.devices_by_energy(MBUS_GATEWAY)

    def mbus_gateway(self, gateway_id: str) -> dict:
        """An M-Bus gateway and the meters behind it (`GET /gateway/mbus/{id}`):
        Name, SerialNumber, ReadoutInterval, State, LastSeen, Meters [{Id, Name,
        SecondaryAddress, State}], as the guide's sample reads them."""
        response = self._get(f"/gateway/mbus/{quote(gateway_id, safe='')}")
        body = _json(response)
        meters = body.get("Meters") if isinstance(body, dict) else None
        if not isinstance(meters, list) or not all(
            isinstance(m, dict) and isinstance(m.get("Id"), str) for m in meters
        ):
            raise _unexpected(response, "an M-Bus gateway with its Meters")
        return body

    def check(self) -> None:
        """Authenticate afresh (a cached token proves nothing about the credentials) and
        make one harmless, small read: the account's M-Bus gateways."""
        if self.mode == OAUTH:
            self.tokens.refresh(self.fetch_token, stale=self.tokens.load())
        self.mbus_gateways()


# --- what the guide promises ----------------------------------------------------------


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        raise _unexpected(response, "JSON") from None


def _device(item, response: requests.Response) -> dict:
    if not isinstance(item, dict) or not isinstance(item.get("Id"), str) or not item["Id"]:
        raise _unexpected(response, "a device with an Id")
    return item


def _device_list(response: requests.Response) -> list[dict]:
    body = _json(response)
    if not isinstance(body, list):
        raise _unexpected(response, "a list of devices")
    return [_device(item, response) for item in body]


def _unexpected(response: requests.Response, expected: str) -> TransientError:
    """A 2xx that is not what the guide promises (a maintenance page, a proxy's login
    form, another shape): transient, since it is the platform or the path that is off,
    not our data; the message carries the body's first words so staff can tell which."""
    return TransientError(
        f"{response.request.method} {response.url}: expected {expected}, got "
        f"HTTP {response.status_code} {first_words(response.text)}",
        status=response.status_code,
    )
