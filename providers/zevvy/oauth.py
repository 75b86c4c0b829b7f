"""zevvy's OAuth 2 grants through authlib: the device authorization grant (RFC 8628) and
the refresh token grant (RFC 6749 §6), against any standards-compliant server (no Django).

zevvy's authorization server is Keycloak (NOTES.md): device authorization at
`{realm}/protocol/openid-connect/auth/device`, tokens at `{realm}/protocol/openid-connect/
token`, form-encoded, the client authenticated by `client_id` and `client_secret` in the
body (client_secret_post), errors as `{"error", "error_description"}`. Nothing here
depends on Keycloak beyond those URLs, which are settings.

Every call goes through the same HttpTransport as the API calls, so it reaches the call
log (with the transport's redaction) and its failures are the same typed errors; the
codes and tokens themselves are never logged here.
"""

import json
import time
from collections.abc import Callable

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session

from ..device_flow import (
    AuthorizationPending,
    DeviceAuthorization,
    DeviceFlowEnded,
    seconds_or,
)
from ..errors import AuthError, ReconnectRequired, TransientError
from ..http import REDACTED, CallRecord, HttpTransport, auth_answer, raise_for_status
from ..tokens import Token

SCOPES = "offline_access measurement register device"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# RFC 8628 §3.5: on slow_down "the interval MUST be increased by 5 seconds for this and
# all subsequent requests".
SLOW_DOWN_STEP_SECONDS = 5.0
# `expires_in` is only RECOMMENDED in a token answer (RFC 6749 §5.1); without it we
# assume Keycloak's default access token lifespan (5 minutes) and let a 401 refresh it
# earlier if the server thought otherwise.
DEFAULT_ACCESS_TOKEN_SECONDS = 300.0

CONNECT_AGAIN = (
    "connect again: run `manage.py connect_zevvy` or use Connect on the admin's provider "
    "connection page"
)


def token_from_response(body: dict, *, keep_refresh_token: str = "", now=None) -> Token:
    """Our Token from a token answer: absolute expiry times, refresh token kept.

    `refresh_expires_in` is Keycloak's; 0 (what Keycloak sends for an offline token)
    or absent means the server gives no expiry, so none is assumed.
    """
    now = time.time() if now is None else now
    if not isinstance(body, dict) or not body.get("access_token"):
        raise TransientError("zevvy's token answer carries no access_token")
    refresh_in = seconds_or(body.get("refresh_expires_in"), 0.0)
    # RFC 6749 §6: a refresh answer MAY carry a new refresh token; if not, the old
    # one stays valid.
    refresh_token = body.get("refresh_token") or keep_refresh_token
    return Token(
        value=body["access_token"],
        expires_at=now + seconds_or(body.get("expires_in"), DEFAULT_ACCESS_TOKEN_SECONDS),
        refresh_token=refresh_token or "",
        refresh_expires_at=(now + refresh_in) if (refresh_in and refresh_token) else None,
    )


def describe_oauth_error(response: requests.Response) -> str:
    """`error: error_description` from an RFC 6749 §5.2 body, else no word of it (an
    auth endpoint's odd answer may hold a token)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        description = body.get("error_description") or ""
        return f"{body['error']}: {description}" if description else str(body["error"])
    return auth_answer(response)


# Values of these keys never reach the call log in clear, whatever the transport's own
# redaction covers: a user code seen there could be approved with someone else's
# zevvy account, and every other one is a credential.
OAUTH_SECRET_KEYS = frozenset(
    {
        "device_code",
        "user_code",
        "verification_uri_complete",  # it carries the user code
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
    }
)


def _scrub(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, dict):
        body = {k: (REDACTED if k in OAUTH_SECRET_KEYS and v else v) for k, v in body.items()}
        return json.dumps(body, ensure_ascii=False)
    return text


def redacting(on_call: Callable | None) -> Callable | None:
    """The call hook for the authorization server's answers and requests."""
    if on_call is None:
        return None

    def hook(record: CallRecord) -> None:
        record.request_body = _scrub(record.request_body)
        record.response_body = _scrub(record.response_body)
        on_call(record)

    return hook


class _TransportSession(OAuth2Session):
    """authlib's session, sending through our HttpTransport (call log, typed errors)."""

    def __init__(self, transport: HttpTransport, **kwargs):
        super().__init__(**kwargs)
        self._transport = transport

    def request(self, method, url, withhold_token=False, auth=None, **kwargs):
        # Only grant requests pass here, each with its client authentication.
        # requests' post() passes json=None beside the form: drop it, so the call log
        # shows the (redacted) form that was sent.
        if kwargs.get("json") is None:
            kwargs.pop("json", None)
        return self._transport.send(method, url, auth=auth, **kwargs)


def _token_endpoint_answer(response: requests.Response) -> requests.Response:
    """authlib compliance hook: what is not an OAuth answer becomes a typed error.

    authlib reads any JSON object with `error` as an OAuth error; a 429 or 5xx, a
    maintenance page or any 2xx that is not a JSON object is ours to type first.
    """
    status = response.status_code
    if status == 429 or status >= 500:
        raise_for_status(response, describe_oauth_error)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if status < 300:
            raise TransientError(
                f"zevvy's authorization server answered without a token: {auth_answer(response)}",
                status=status,
            )
        raise_for_status(response, describe_oauth_error)
    return response


class OAuthGrants:
    """Requests the two grants; knows nothing of where tokens are kept."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        device_authorization_url: str,
        scope: str = SCOPES,
        timeout: tuple[float, float] = (5.0, 30.0),
        on_call: Callable | None = None,
        session: requests.Session | None = None,
        allow_http_loopback: bool = False,
    ):
        self.token_url = token_url
        self.device_authorization_url = device_authorization_url
        self.scope = scope
        # The verification links staff are shown: https only, but for a sandbox on loopback.
        self.allow_http_loopback = allow_http_loopback
        transport = HttpTransport("", timeout=timeout, on_call=redacting(on_call), session=session)
        self.oauth = _TransportSession(
            transport,
            client_id=client_id,
            client_secret=client_secret,
            # Keycloak takes client_id and client_secret in the form body (NOTES.md).
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
            scope=scope,
        )
        for hook in ("access_token_response", "refresh_token_response"):
            self.oauth.register_compliance_hook(hook, _token_endpoint_answer)
        self._client_auth = self.oauth.client_auth("client_secret_post")

    # --- RFC 8628 §3.1-3.2 --------------------------------------------------------------
    def start_device_authorization(self) -> DeviceAuthorization:
        self.check_configuration()
        response = self.oauth.post(
            self.device_authorization_url,
            data={"scope": self.scope},
            auth=self._client_auth,
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401, 403):
            raise AuthError(
                "zevvy refused to start a device authorization "
                f"({describe_oauth_error(response)}); check ZEVVY_CLIENT_ID and "
                "ZEVVY_CLIENT_SECRET",
                status=response.status_code,
            )
        raise_for_status(response, describe_oauth_error)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError(
                "zevvy's device authorization answer is not JSON: " + auth_answer(response),
                status=response.status_code,
            )
        return DeviceAuthorization.from_response(body, allow_http_loopback=self.allow_http_loopback)

    # --- RFC 8628 §3.4-3.5 --------------------------------------------------------------
    def poll_device_token(self, authorization: DeviceAuthorization, interval: float) -> Token:
        """One token request for the device code.

        Returns the Token once the person approved; raises AuthorizationPending (with
        the interval to wait next), DeviceFlowEnded (denied, expired, refused), or a
        TransientError (unreachable, 5xx, 429).
        """
        self._require_token_url()
        if authorization.expired():
            raise DeviceFlowEnded(_ENDINGS["expired_token"], error="expired_token")
        try:
            body = self.oauth.fetch_token(
                self.token_url,
                grant_type=DEVICE_CODE_GRANT,
                device_code=authorization.device_code,
            )
        except AuthlibBaseError as exc:
            if exc.error == "authorization_pending":
                raise AuthorizationPending(interval) from None
            if exc.error == "slow_down":
                raise AuthorizationPending(
                    interval + SLOW_DOWN_STEP_SECONDS, slow_down=True
                ) from None
            raise DeviceFlowEnded(_ending(exc), error=exc.error or "") from None
        finally:
            self._forget_session_token()
        return token_from_response(dict(body))

    # --- RFC 6749 §6 --------------------------------------------------------------------
    def refresh(self, token: Token) -> Token:
        """A new access token for the refresh token of `token`."""
        self._require_token_url()
        if not token.refresh_token:
            raise ReconnectRequired(
                f"zevvy gave us no refresh token to renew access; {CONNECT_AGAIN}"
            )
        if token.refresh_expires_at is not None and token.refresh_expires_at <= time.time():
            raise ReconnectRequired(f"our zevvy authorization has expired; {CONNECT_AGAIN}")
        try:
            body = self.oauth.refresh_token(self.token_url, refresh_token=token.refresh_token)
        except AuthlibBaseError as exc:
            reason = f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
            if exc.error == "invalid_grant":
                # Revoked, expired or its session ended: only a person can authorize again.
                raise ReconnectRequired(
                    f"zevvy no longer accepts our authorization ({reason}); {CONNECT_AGAIN}"
                ) from None
            raise AuthError(
                f"zevvy refused to renew our access ({reason}); check ZEVVY_CLIENT_ID and "
                "ZEVVY_CLIENT_SECRET"
            ) from None
        finally:
            self._forget_session_token()
        return token_from_response(dict(body), keep_refresh_token=token.refresh_token)

    def _require_token_url(self) -> None:
        if not self.token_url:
            raise AuthError("ZEVVY_TOKEN_URL is not set: set it to zevvy's token endpoint")

    def check_configuration(self) -> None:
        """Both endpoints are known (a deployment can set one and forget the other)."""
        self._require_token_url()
        if not self.device_authorization_url:
            raise AuthError(
                "ZEVVY_DEVICE_AUTHORIZATION_URL is not set: set it to zevvy's device "
                "authorization endpoint"
            )

    def _forget_session_token(self) -> None:
        # authlib keeps the last answer on the session; ours live in the TokenStore only.
        self.oauth.token_auth.token = None  # type: ignore[attr-defined]
        self.oauth.metadata.pop("grant_type", None)


_ENDINGS = {
    "access_denied": "the person at zevvy denied access",
    "expired_token": "the code expired before anyone approved it; start again",
    "invalid_grant": "zevvy no longer knows this code (already used, or expired); start again",
    "invalid_client": (
        "zevvy refused our client id or secret; check ZEVVY_CLIENT_ID and ZEVVY_CLIENT_SECRET"
    ),
    "unauthorized_client": (
        "zevvy does not allow this client the device flow; ask zevvy to enable it"
    ),
}


def _ending(exc: AuthlibBaseError) -> str:
    known = _ENDINGS.get(exc.error or "")
    if known:
        return known
    reason = f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
    return f"zevvy refused the device code ({reason})"
