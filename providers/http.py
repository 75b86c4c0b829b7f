"""HTTP plumbing shared by every provider client (no Django here).

One `requests.Session` per client, a default timeout on every call, urllib3 retries for
idempotent reads only (writes are retried by the outbox, which knows whether a create
may already have happened), responses and failures mapped to the typed errors of
providers.errors, and every call reported to an optional `on_call` hook with its
secrets redacted and its bodies truncated.
"""

import json
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import AuthError, NotFoundError, PermanentError, TransientError
from .redaction import BARE_SECRET, REDACTED, SECRET_KEY, mask_secrets

BODY_LIMIT = 4000

# Called right before each request leaves (set by the outbox around an attempt: it
# renews the row's claim after a wait, or stops the attempt if the claim was taken over).
before_send: ContextVar[Callable[[], None] | None] = ContextVar("before_send", default=None)


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
        return {k: (REDACTED if SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _redact_text(text: str) -> str:
    """A body that is not JSON: form-encoded pairs, or a bare token, or plain text."""
    stripped = text.strip()
    if BARE_SECRET.match(stripped):
        return REDACTED
    if "=" in stripped and not any(c in stripped for c in " \n<"):
        pairs = parse_qsl(stripped, keep_blank_values=True)
        if pairs:
            return urlencode(
                [(k, REDACTED if SECRET_KEY.search(k) else v) for k, v in pairs], safe="*"
            )
    return text


def _body_for_log(body) -> str:
    """Every body type a client sends or receives, secrets redacted, truncated."""
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
            text = _redact_text(body)
            return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"
    if (
        isinstance(body, list | tuple)
        and body
        and all(isinstance(p, tuple) and len(p) == 2 for p in body)
    ):
        body = dict(body)  # form data given as pairs
    if isinstance(body, str):  # a JSON string: a bare token in quotes
        return REDACTED if BARE_SECRET.match(body) else body[:BODY_LIMIT]
    text = json.dumps(redact(body), ensure_ascii=False)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"


def first_words(response: requests.Response, limit: int = 80) -> str:
    """The start of a body, for saying what came back instead of what was promised: from
    the body as the call log keeps it (secrets redacted), never the raw one."""
    text = " ".join(redacted_text(response.content).split())
    return (text[:limit] + "…") if len(text) > limit else (text or "an empty body")


def redacted_text(body) -> str:
    """A body (bytes, text, JSON) as words an error message may quote: keys that hold
    secrets redacted, then anything still looking like a credential masked."""
    return mask_secrets(_body_for_log(body))


def auth_answer(response: requests.Response) -> str:
    """What an auth endpoint answered, without a word of its body: an odd answer from a
    token endpoint is where a token hides under a name the redaction does not know."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    size = len(response.content or b"")
    return f"HTTP {response.status_code} ({kind}, {size} bytes, not shown)"


def unexpected(response: requests.Response, promised: str) -> TransientError:
    """A 2xx that is not what the platform promises (a maintenance page served with 200,
    a body without the field): most likely a proxy or an outage, so try again later."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    return TransientError(
        f"HTTP {response.status_code} ({kind}) instead of {promised}: {first_words(response)}",
        status=response.status_code,
    )


def json_field(response: requests.Response, field: str):
    """`response.json()[field]`, or TransientError when the body does not have it."""
    try:
        body = response.json()
    except ValueError:
        raise unexpected(response, f"JSON with {field!r}") from None
    if not isinstance(body, dict) or body.get(field) in (None, ""):
        raise unexpected(response, f"JSON with {field!r}")
    return body[field]


def json_body(response: requests.Response, kind: type = dict):
    """`response.json()` if it is a `kind` (dict or list), else TransientError."""
    try:
        body = response.json()
    except ValueError:
        raise unexpected(response, f"a JSON {kind.__name__}") from None
    if not isinstance(body, kind):
        raise unexpected(response, f"a JSON {kind.__name__}")
    return body


def expect_no_content_or_json(response: requests.Response) -> None:
    """A 2xx of a call whose success carries no data (an update, a delete, a link): an
    empty body (204, or 200 with none) or JSON is the platform's answer. Anything else
    (a maintenance page served with 200) is not, so it is no success: TransientError."""
    if not response.content.strip():
        return
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            response.json()
        except ValueError:
            pass  # a JSON type whose body is cut off or garbled is no answer either
        else:
            return
    raise unexpected(response, "no content or JSON")


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
    # requests reads the environment's proxy settings on every request unless told not
    # to (urllib's getproxies, a few hundred microseconds each: measured in
    # bench/sync_bench.py). They do not change while a process runs, so HttpTransport
    # resolves them once per host (environment_proxies) and the session trusts nothing
    # else from the environment, except the CA bundle, read here once.
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.verify = bundle or True
    return session


@lru_cache(maxsize=64)
def _proxies_for(scheme: str, netloc: str) -> dict:
    return requests.utils.get_environ_proxies(f"{scheme}://{netloc}/")


def _reads_environment(session) -> bool:
    """Whether requests reads the proxies from the environment itself on each call (a
    plain Session made elsewhere); ours (make_session), also inside a wrapper that sends
    through it (Spark's GatewayAwareSession), leave it to HttpTransport."""
    inner = getattr(session, "session", session)
    return getattr(inner, "trust_env", True)


def environment_proxies(url: str) -> dict:
    """The proxies the environment names for this URL's host (HTTPS_PROXY, NO_PROXY, …),
    as requests itself would choose them, worked out once per process and host."""
    parts = urlsplit(url)
    return _proxies_for(parts.scheme, parts.netloc)


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
        if when.tzinfo is None:
            # Every HTTP-date is GMT (RFC 9110 5.6.7); the asctime form just does not say so.
            when = when.replace(tzinfo=UTC)
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
        if (guard := before_send.get()) is not None:
            guard()
        kwargs.setdefault("timeout", self.timeout)
        url = self.base_url + path
        if not _reads_environment(self.session):  # ours: the environment's proxies, once
            kwargs.setdefault("proxies", environment_proxies(url))
        started = time.monotonic()
        record = CallRecord(
            method=method,
            path=path,
            status=None,
            duration_ms=0,
            request_body=_body_for_log(kwargs.get("json", kwargs.get("data"))),
        )
        try:
            response = self.session.request(method, url, **kwargs)
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
        if response.status_code >= 400:  # support staff filter the log by its error column
            record.error = f"HTTP {response.status_code} {response.reason or ''}".strip()
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
    if status == 401:
        raise AuthError(f"HTTP {status}: {reason}", status=status)
    if status == 403:
        # Forbidden for this object (another partner's space, a role we lack): this
        # row's failure. Only a refused token disconnects the platform (401, or the
        # token endpoint's own refusal, which the client maps to AuthError).
        raise PermanentError(f"forbidden: {reason}", status=status)
    if status == 404:
        raise NotFoundError(f"not found: {reason}", status=status)
    raise PermanentError(reason, status=status)
