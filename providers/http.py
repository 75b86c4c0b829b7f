"""HTTP plumbing shared by every provider client (no Django here).

One `requests.Session` per client, a default timeout on every call, urllib3 retries for
idempotent reads only (writes are retried by the outbox, which knows whether a create
may already have happened), responses and failures mapped to the typed errors of
providers.errors, and every call reported to an optional `on_call` hook with its
secrets redacted and its bodies truncated.
"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import AuthError, NotFoundError, PermanentError, TransientError

BODY_LIMIT = 4000
_SECRET_KEY = re.compile(r"secret|token|password|authorization|apikey|api_key", re.I)
REDACTED = "***"


@dataclass
class CallRecord:
    """What support staff need to answer "what did we send?"."""

    method: str
    path: str
    status: int | None
    duration_ms: int
    request_body: str = ""
    response_body: str = ""
    error: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def redact(value):
    """A copy of a JSON value with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _body_for_log(body) -> str:
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, bytes):
        try:
            body = body.decode()
        except UnicodeDecodeError:
            return f"<{len(body)} bytes>"
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body[:BODY_LIMIT]
    text = json.dumps(redact(body), ensure_ascii=False)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"


def make_session(read_retries: int = 2) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=read_retries,
        connect=read_retries,
        backoff_factor=0.3,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        # A long Retry-After is the outbox's to wait (in the database), not a worker's.
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    return session


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _never_arrived(exc: requests.RequestException) -> bool:
    """True when the platform cannot have seen the request (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc)


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.on_call = on_call
        self.session = session or make_session()

    def send(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send one request; raise TransientError if no response came back."""
        kwargs.setdefault("timeout", self.timeout)
        started = time.monotonic()
        record = CallRecord(
            method=method,
            path=path,
            status=None,
            duration_ms=0,
            request_body=_body_for_log(kwargs.get("json", kwargs.get("data"))),
        )
        try:
            response = self.session.request(method, self.base_url + path, **kwargs)
        except requests.RequestException as exc:
            record.duration_ms = round((time.monotonic() - started) * 1000)
            record.error = type(exc).__name__
            self._report(record)
            raise TransientError(
                f"{method} {path}: {type(exc).__name__}",
                request_may_have_arrived=not _never_arrived(exc),
            ) from exc
        record.duration_ms = round((time.monotonic() - started) * 1000)
        record.status = response.status_code
        record.response_body = _body_for_log(response.content)
        self._report(record)
        return response

    def _report(self, record: CallRecord) -> None:
        if self.on_call is not None:
            self.on_call(record)


def raise_for_status(response: requests.Response, describe: Callable[[requests.Response], str]):
    """Map a non-2xx response to a typed error; `describe` extracts the platform's reason."""
    status = response.status_code
    if status < 400:
        return
    reason = describe(response)
    if status == 429:
        raise TransientError(
            f"rate limited: {reason}",
            status=status,
            retry_after=retry_after_seconds(response),
            request_may_have_arrived=False,
        )
    if status >= 500 or status == 408:
        raise TransientError(
            f"HTTP {status}: {reason}", status=status, retry_after=retry_after_seconds(response)
        )
    if status in (401, 403):
        raise AuthError(f"HTTP {status}: {reason}", status=status)
    if status == 404:
        raise NotFoundError(f"not found: {reason}", status=status)
    raise PermanentError(reason, status=status)
