"""OAuth 2 client credentials (RFC 6749 §4.4) against any compliant token endpoint.

authlib builds the grant (form-encoded, `client_secret_post`, as Spark's guide sends it)
and reads the answer; the HTTP goes through our HttpTransport, so the call has our
timeouts, lands in the call log like every other call, and the log shows neither the
secret (authlib adds it to the body only when the request is prepared, after the log
took its copy) nor the token (the transport redacts `access_token` in answers).

What a compliant server may answer, and what we make of it:
- 200 with `access_token`, `token_type` Bearer and `expires_in` → a Token valid that long
  (without `expires_in`, which the RFC only recommends, the platform's documented
  lifetime);
- an RFC 6749 §5.2 error (`invalid_client`, `unauthorized_client`, `invalid_grant`,
  `invalid_scope`, `unsupported_grant_type`, `invalid_request`) → AuthError with the
  server's `error_description`: staff must fix the credentials or settings;
- 429, 5xx, `temporarily_unavailable`, no answer at all → TransientError;
- any other answer (an HTML page, a JSON without a token) → TransientError when 2xx,
  AuthError when 4xx, each with its status and type but no word of its body (a token
  may hide in an odd answer).
"""

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
from authlib.oauth2.client import OAuth2Client

from ..errors import AuthError, TransientError
from ..http import CallRecord, HttpTransport, auth_answer, retry_after_seconds
from ..tokens import Token

TRANSIENT_OAUTH_ERRORS = {"temporarily_unavailable", "server_error"}


class _RequestsStyleClient(OAuth2Client):
    # The requests flavour of client authentication: applied to the prepared request.
    client_auth_class = OAuth2ClientAuth


class _ThroughTransport:
    """The `session` authlib posts to: our transport, with the path of the token URL."""

    def __init__(self, transport: HttpTransport, path: str):
        self.transport = transport
        self.path = path

    def post(self, url, data=None, headers=None, auth=None, **kwargs):
        return self.transport.send("POST", self.path, data=data, headers=headers, auth=auth)


class ClientCredentials:
    """Fetches access tokens with the client-credentials grant; one `fetch()` per token."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        default_lifetime: float,
        scope: str | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
        label: str = "the identity server",
    ):
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.default_lifetime = default_lifetime
        self.scope = scope or None
        self.label = label
        parts = urlsplit(token_url or "")
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.http = HttpTransport(
            f"{parts.scheme}://{parts.netloc}", timeout=timeout, on_call=on_call, session=session
        )

    def fetch(self) -> Token:
        self._refuse_incomplete_settings()
        oauth = _RequestsStyleClient(
            session=_ThroughTransport(self.http, self.path),
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
            scope=self.scope,
        )
        oauth.register_compliance_hook("access_token_response", self._judge)
        try:
            answer = oauth.fetch_token(self.token_url, grant_type="client_credentials")
        except TransientError as exc:
            if exc.status is not None:  # the server answered: _judge said why
                raise
            where = urlsplit(self.token_url).netloc
            reason = "unreachable" if not exc.request_may_have_arrived else "gave no answer"
            raise TransientError(
                f"{self.label} at {where} {reason} ({exc.message.split(': ')[-1]})",
                request_may_have_arrived=exc.request_may_have_arrived,
            ) from exc
        return Token(answer["access_token"], time.time() + self._lifetime(answer))

    def _refuse_incomplete_settings(self) -> None:
        parts = urlsplit(self.token_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AuthError(f"no token URL is configured for {self.label} (got {self.token_url!r})")
        if not self.client_id or not self.client_secret:
            raise AuthError("no client id or client secret is configured")

    def _lifetime(self, answer: dict) -> float:
        try:
            seconds = float(answer.get("expires_in"))
        except (TypeError, ValueError):
            return self.default_lifetime  # the RFC only recommends expires_in
        return seconds if seconds > 0 else self.default_lifetime

    def _judge(self, response: requests.Response) -> requests.Response:
        """Turn every answer that is not a usable token into a typed error, before authlib
        parses it (authlib would raise untyped errors, or choke on a non-ASCII reason)."""
        status = response.status_code
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(
                f"{self.label} answered {auth_answer(response)}",
                status=status,
                retry_after=retry_after_seconds(response),
                request_may_have_arrived=status != 429,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            reason = str(body["error"])
            description = str(body.get("error_description") or "").strip()
            message = f"{self.label} refused the token request: {reason}"
            message += f" ({description})" if description else ""
            if reason in TRANSIENT_OAUTH_ERRORS:
                raise TransientError(message, status=status)
            raise AuthError(message, status=status)
        if status >= 400:
            raise AuthError(f"{self.label} answered {auth_answer(response)}", status=status)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise TransientError(
                f"{self.label} answered without an access token: {auth_answer(response)}",
                status=status,
            )
        token_type = str(body.get("token_type") or "Bearer")
        if token_type.lower() != "bearer":
            raise AuthError(f"{self.label} issued a {token_type!r} token; only Bearer is usable")
        return response
