"""Which platforms exist, which are enabled, and how to reach each.

Adding a platform is adding its folder and one line in PLATFORMS. A platform whose
<NAME>_BASE_URL is unset talks to its embedded sandbox, served by this portal under
/sandbox/<name>/, with the sandbox's demo credentials.
"""

from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    sandbox_path: str  # the API's path under the sandbox's mount point
    sync_module: str  # dotted path of its sync.py (client factory and handlers)


PLATFORMS = {
    "zaehlerfreunde": Platform(
        name="zaehlerfreunde",
        label="Zählerfreunde",
        sandbox_path="/sandbox/zaehlerfreunde/partner",
        sync_module="providers.zaehlerfreunde.sync",
    ),
}
KNOWN = ("zaehlerfreunde", "smartme", "climkit", "spark", "zevvy")


@dataclass(frozen=True)
class Connection:
    base_url: str
    client_id: str
    client_secret: str
    is_sandbox: bool


def enabled() -> list[str]:
    """Enabled platforms this release implements, in the order PROVIDERS gives."""
    return [name for name in settings.PROVIDERS if name in PLATFORMS]


def not_yet_implemented() -> list[str]:
    return [name for name in settings.PROVIDERS if name not in PLATFORMS]


def label(name: str) -> str:
    platform = PLATFORMS.get(name)
    return platform.label if platform else name


def connection(name: str) -> Connection:
    configured = settings.PROVIDER_CONFIG[name]
    if configured["base_url"]:
        return Connection(
            configured["base_url"].rstrip("/"),
            configured["client_id"],
            configured["client_secret"],
            is_sandbox=False,
        )
    return Connection(
        settings.SANDBOX_BASE_URL + PLATFORMS[name].sandbox_path,
        configured["client_id"] or settings.SANDBOX_CLIENT_ID,
        configured["client_secret"] or settings.SANDBOX_CLIENT_SECRET,
        is_sandbox=True,
    )


def sync_module(name: str):
    return import_module(PLATFORMS[name].sync_module)


@cache
def client(name: str):
    """One client per process and platform: its HTTP session keeps connections alive."""
    return sync_module(name).make_client(connection(name))


def handlers(name: str) -> dict:
    """{model class: handler} for the models this platform takes."""
    return sync_module(name).HANDLERS


def handler(name: str, model):
    return handlers(name).get(model)


def providers_for(model) -> list[str]:
    return [name for name in enabled() if model in handlers(name)]


@receiver(setting_changed)
def _forget_clients(**kwargs):
    client.cache_clear()
