"""OAuth 2 client credentials for smart-me, fetched with authlib (no Django here).

authlib builds the grant (form body, client authentication) and parses the answer;
every token call is reported through the same `on_call` hook as the API calls, with the
body redacted by providers.http, and any failure becomes one of our typed errors.
"""

import time
from collections.abc import Callable

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session

from ..errors import AuthError, PermanentError, TransientError
from ..http import CallRecord, _body_for_log, auth_answer, raise_for_status
from ..tokens import Token
from .errors import describe_error

# NOTES.md: the discovery document says `expires_in` 3600; assume it when it is missing.
DEFAULT_LIFETIME_SECONDS = 3600
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class ClientCredentials:
    """Fetches a fresh access token each time it is called."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        auth_method: str = "client_secret_basic",
        scope: str = "",
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        path_for_log: str = "",
    ):
        if auth_method not in AUTH_METHODS:
            raise ValueError(f"token auth method must be one of {', '.join(AUTH_METHODS)}")
        self.token_url = token_url
        self.scope = scope
        self.timeout = timeout
        self.on_call = on_call
        self.path_for_log = path_for_log or token_url
        # client_secret_basic by default: the secret travels in a header, never in a
        # body that a log could keep. NOTES.md says smart-me accepts both.
        self.session = OAuth2Session(
            client_id, client_secret, token_endpoint_auth_method=auth_method
        )
        self.session.headers["Accept"] = "application/json"

    def __call__(self) -> Token:
        started = time.monotonic()
        try:
            extra = {"scope": self.scope} if self.scope else {}
            body = self.session.fetch_token(
                self.token_url,
                grant_type="client_credentials",
                timeout=self.timeout,
                **extra,
                hooks={"response": [self._check]},
            )
        except (AuthError, PermanentError, TransientError):
            raise
        except requests.RequestException as exc:
            self._report(started, None, "", type(exc).__name__)
            raise TransientError(f"token request: {type(exc).__name__}") from exc
        except (AuthlibBaseError, ValueError) as exc:
            # A 2xx that authlib could not read as a token (HTML, not JSON, an error
            # object with status 200): the platform is not answering as promised.
            raise TransientError(f"token endpoint answered no token: {exc}") from exc
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise TransientError(
                "token endpoint answered without access_token (its answer is not shown: "
                "a token may hide in it)"
            )
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME_SECONDS)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME_SECONDS
        return Token(value, time.time() + lifetime)

    def _check(self, response: requests.Response, *args, **kwargs):
        """Response hook: report the call, turn a refusal into a typed error before
        authlib sees it."""
        self._report(
            time.monotonic() - response.elapsed.total_seconds(),
            response.status_code,
            _body_for_log(response.request.body) if response.request is not None else "",
            "",
            response_body=_body_for_log(response.content),
        )
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        is_json = "json" in content_type
        if status in (400, 401, 403) and is_json:
            # RFC 6749: invalid_client / unauthorized_client / invalid_grant.
            raise AuthError(f"token refused: {describe_error(response)}", status=status)
        if 400 <= status < 500 and status != 429 and not is_json:
            # No OAuth answer at all (a web server's error page): the token path is wrong,
            # not the credentials.
            raise PermanentError(
                f"no OAuth token endpoint at {self.path_for_log}: {auth_answer(response)}",
                status=status,
            )
        raise_for_status(response, describe_error)
        if not is_json:
            raise TransientError(
                f"token endpoint answered {content_type or 'no content type'}, not JSON: "
                f"{auth_answer(response)}",
                status=status,
            )
        return response

    def _report(self, started, status, request_body, error, response_body=""):
        if self.on_call is None:
            return
        self.on_call(
            CallRecord(
                method="POST",
                path=self.path_for_log,
                status=status,
                duration_ms=round((time.monotonic() - started) * 1000),
                request_body=request_body,
                response_body=response_body,
                error=error,
            )
        )
