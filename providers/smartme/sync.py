"""smart-me in the portal: the client factory. The portal pushes nothing to smart-me
(HANDLERS is empty); it reads the account into its catalogue (catalogue.py)."""

from django.conf import settings

from .client import (
    API_KEY,
    BASIC,
    DEFAULT_SCOPE,
    DEFAULT_TOKEN_PATH,
    OAUTH,
    ConfigurationError,
    Credentials,
    SmartMeClient,
)

NAME = "smartme"
HANDLERS: dict = {}


def credentials(connection) -> Credentials:
    options = connection.options
    api_key = options.get("api_key", "")
    if not api_key and connection.is_sandbox:
        api_key = settings.SANDBOX_SMARTME_API_KEY
    return Credentials(
        username=options.get("username", ""),
        password=options.get("password", ""),
        api_key=api_key,
        client_id=connection.client_id,
        client_secret=connection.client_secret,
    )


def make_client(connection, *, token_store, on_call) -> SmartMeClient:
    options = connection.options
    return SmartMeClient(
        connection.base_url,
        credentials(connection),
        auth_mode=options.get("auth", ""),
        token_path=options.get("token_path") or DEFAULT_TOKEN_PATH,
        token_auth_method=options.get("token_auth_method") or "client_secret_basic",
        scope=options.get("scope", DEFAULT_SCOPE),
        token_store=token_store,
        timeout=(settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        on_call=on_call,
    )


def credential_settings(connection) -> str:
    """The settings an operator fixes when smart-me refuses us (onboarding/diagnose.py)."""
    try:
        mode = credentials(connection).mode(connection.options.get("auth", ""))
    except ConfigurationError:  # no usable credentials at all
        return (
            "SMARTME_USERNAME and SMARTME_PASSWORD, SMARTME_API_KEY, or SMARTME_CLIENT_ID and "
            "SMARTME_CLIENT_SECRET (SMARTME_AUTH picks one)"
        )
    return {
        BASIC: "SMARTME_USERNAME and SMARTME_PASSWORD",
        API_KEY: "SMARTME_API_KEY",
        OAUTH: (
            "SMARTME_CLIENT_ID and SMARTME_CLIENT_SECRET (and SMARTME_TOKEN_PATH, SMARTME_SCOPE)"
        ),
    }[mode]
