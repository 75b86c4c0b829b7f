"""Which platforms exist, which are enabled, and how to reach each.

Adding a platform is adding its folder and one line in PLATFORMS. A platform whose
<NAME>_BASE_URL is unset talks to its embedded sandbox, served by this portal under
/sandbox/<name>/, with the sandbox's demo credentials.

The registry also hands each platform's `make_client` what the portal shares between
platforms (the token store, the call-log hook), so a platform's folder needs nothing
from the outbox's modules.
"""

from dataclasses import dataclass, field
from functools import cache
from importlib import import_module

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .errors import NotConfigured


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    sandbox_path: str  # the API's path under the sandbox's mount point
    sync_module: str  # dotted path of its sync.py (client factory and handlers)
    sandbox_urls: str = ""  # dotted path of its sandbox's URLconf, mounted at /sandbox/<name>/
    # Options (settings.PROVIDER_OPTIONS) the sandbox needs when left empty, as format
    # strings with {sandbox} (the sandbox's mount URL), {client_id} and {client_secret}.
    sandbox_options: dict = field(default_factory=dict)
    # A platform the portal only reads keeps a catalogue of what it holds: the dotted
    # path of its `fetch(client) -> list[CatalogueItem]` module (providers/catalogue.py).
    catalogue_module: str = ""
    # A platform that takes meter readings: the dotted path of its readings.py, whose
    # DESTINATION the forwarding engine (onboarding/readings/forwarding.py) sends through.
    readings_module: str = ""
    # What the platform sends to us: the dotted path of a URLconf, mounted at
    # /webhooks/<name>/ (portal/urls.py), always (not only with the sandboxes).
    inbound_urls: str = ""
    # Access granted by a person through a device login (RFC 8628, providers/
    # device_flow.py) rather than by credentials in the settings.
    person_connects: bool = False

    @property
    def sandbox_mount(self) -> str:
        return f"/sandbox/{self.name}"


PLATFORMS = {
    "zaehlerfreunde": Platform(
        name="zaehlerfreunde",
        label="Zählerfreunde",
        sandbox_path="/sandbox/zaehlerfreunde/partner",
        sync_module="providers.zaehlerfreunde.sync",
        sandbox_urls="providers.zaehlerfreunde.sandbox.urls",
        readings_module="providers.zaehlerfreunde.readings",
    ),
    "smartme": Platform(
        name="smartme",
        label="smart-me",
        sandbox_path="/sandbox/smartme",  # the API is at the root, like api.smart-me.com
        sync_module="providers.smartme.sync",
        sandbox_urls="providers.smartme.sandbox.urls",
        sandbox_options={"username": "{client_id}", "password": "{client_secret}"},
        catalogue_module="providers.smartme.catalogue",
        inbound_urls="providers.smartme.urls",  # the real-time webhook (protobuf)
    ),
    "climkit": Platform(
        name="climkit",
        label="Climkit",
        sandbox_path="/sandbox/climkit/api/v1",
        sync_module="providers.climkit.sync",
        sandbox_urls="providers.climkit.sandbox.urls",
        sandbox_options={"username": "{client_id}", "password": "{client_secret}"},
        catalogue_module="providers.climkit.catalogue",
    ),
    "spark": Platform(
        name="spark",
        label="Volue Spark",
        sandbox_path="/sandbox/spark/energy-coordination/v1",
        sync_module="providers.spark.sync",
        sandbox_urls="providers.spark.sandbox.urls",
        sandbox_options={"token_url": "{sandbox}/identity/connect/token"},
        inbound_urls="providers.spark.events.urls",  # signed webhooks
    ),
    "zevvy": Platform(
        name="zevvy",
        label="zevvy",
        sandbox_path="/sandbox/zevvy/api",
        sync_module="providers.zevvy.sync",
        sandbox_urls="providers.zevvy.sandbox.urls",
        readings_module="providers.zevvy.readings",
        person_connects=True,
        sandbox_options={
            "token_url": "{sandbox}/auth/realms/zevvy/protocol/openid-connect/token",
            "device_authorization_url": (
                "{sandbox}/auth/realms/zevvy/protocol/openid-connect/auth/device"
            ),
        },
    ),
}
KNOWN = ("zaehlerfreunde", "smartme", "climkit", "spark", "zevvy")


@dataclass(frozen=True)
class Connection:
    base_url: str
    client_id: str
    client_secret: str
    is_sandbox: bool
    options: dict = field(default_factory=dict)  # the platform's own settings


def enabled() -> list[str]:
    """Enabled platforms this release implements, in the order PROVIDERS gives."""
    return [name for name in settings.PROVIDERS if name in PLATFORMS]


def not_configured(name: str) -> str:
    """Why this platform must not be reached as configured, or "": in production
    (DEBUG off) a platform without a base URL would talk to the embedded sandbox, unless
    the sandboxes are served on purpose (SERVE_SANDBOXES=true, a training deployment).
    `check --deploy` says so before start; this keeps it so at run time too."""
    if settings.DEBUG or settings.PROVIDER_CONFIG[name]["base_url"] or settings.SERVE_SANDBOXES:
        return ""
    return (
        f"{label(name)} is enabled but {name.upper()}_BASE_URL is not set: without "
        "it the portal would talk to a sandbox. Set the platform's base URL and credentials, "
        "or remove it from PROVIDERS."
    )


def reachable() -> list[str]:
    """Enabled platforms the portal may send to now (enabled and configured)."""
    return [name for name in enabled() if not not_configured(name)]


def not_yet_implemented() -> list[str]:
    return [name for name in settings.PROVIDERS if name not in PLATFORMS]


def label(name: str) -> str:
    platform = PLATFORMS.get(name)
    return platform.label if platform else name


def connection(name: str) -> Connection:
    configured = settings.PROVIDER_CONFIG[name]
    options = dict(configured.get("options", {}))
    if configured["base_url"]:
        return Connection(
            configured["base_url"].rstrip("/"),
            configured["client_id"],
            configured["client_secret"],
            is_sandbox=False,
            options=options,
        )
    platform = PLATFORMS[name]
    client_id = configured["client_id"] or settings.SANDBOX_CLIENT_ID
    client_secret = configured["client_secret"] or settings.SANDBOX_CLIENT_SECRET
    values = {
        "sandbox": settings.SANDBOX_BASE_URL + platform.sandbox_mount,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    for option, template in platform.sandbox_options.items():
        options[option] = options.get(option) or template.format(**values)
    return Connection(
        settings.SANDBOX_BASE_URL + platform.sandbox_path,
        client_id,
        client_secret,
        is_sandbox=True,
        options=options,
    )


def person_connects(name: str) -> bool:
    """Whether a person grants the portal access to this platform (a device login)."""
    platform = PLATFORMS.get(name)
    return bool(platform and platform.person_connects)


def sync_module(name: str):
    return import_module(PLATFORMS[name].sync_module)


def client(name: str):
    """One client per process and platform: its HTTP session keeps connections alive.
    A platform that is not configured has none: nothing is sent, not even to a sandbox."""
    reason = not_configured(name)
    if reason:
        raise NotConfigured(reason)
    return _client(name)


@cache
def _client(name: str):
    from onboarding.operations.metrics import call_observer
    from onboarding.sync.recorder import hook_for
    from onboarding.sync.tokens import DatabaseTokenStore

    return sync_module(name).make_client(
        connection(name),
        token_store=DatabaseTokenStore(name),
        on_call=call_observer(name, then=hook_for(name)),  # counted for /metrics, then logged
    )


def catalogue_module(name: str):
    """The platform's catalogue module (`fetch(client)`), or None if it has none."""
    platform = PLATFORMS.get(name)
    if platform is None or not platform.catalogue_module:
        return None
    return import_module(platform.catalogue_module)


def readings_module(name: str):
    """The platform's readings destination module, or None if it takes no readings."""
    platform = PLATFORMS.get(name)
    if platform is None or not platform.readings_module:
        return None
    return import_module(platform.readings_module)


def catalogue_platforms() -> list[str]:
    """Enabled platforms the portal reads into its catalogue (smart-me, Climkit)."""
    return [name for name in enabled() if PLATFORMS[name].catalogue_module]


def handlers(name: str) -> dict:
    """{model class: handler} for the models this platform takes."""
    return sync_module(name).HANDLERS


def handler(name: str, model):
    return handlers(name).get(model)


def providers_for(model) -> list[str]:
    return [name for name in enabled() if model in handlers(name)]


client.cache_clear = _client.cache_clear  # as when client() was the cached function


@receiver(setting_changed)
def _forget_clients(**kwargs):
    _client.cache_clear()
