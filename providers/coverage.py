"""Which platform takes which model, enabled or not: what the admin tells staff about
objects no platform has been told about ("Spark takes this, but Spark is not enabled").
The platforms' HANDLERS are the truth; this only adds whether each is in PROVIDERS."""

from dataclasses import dataclass

from django.conf import settings

from . import registry


@dataclass(frozen=True)
class Taker:
    """A platform that takes a model, and whether it is in use here."""

    name: str
    label: str
    status: str  # ENABLED or DISABLED (left out of PROVIDERS)

    ENABLED = "enabled"
    DISABLED = "disabled"

    @property
    def note(self) -> str:
        if self.status == self.DISABLED:
            return f"{self.label} takes this, but {self.label} is not enabled (PROVIDERS)."
        return ""


def label(name: str) -> str:
    return registry.label(name)


def takers(model) -> list[Taker]:
    """Every platform that takes the model, enabled ones first."""
    found = [
        Taker(
            name,
            registry.label(name),
            Taker.ENABLED if name in settings.PROVIDERS else Taker.DISABLED,
        )
        for name in registry.PLATFORMS
        if model in registry.handlers(name)
    ]
    return sorted(found, key=lambda t: t.status != Taker.ENABLED)
