"""Which platform takes which model, enabled or not: what the admin tells staff about
objects no platform has been told about.

The registry knows the platforms this release implements (their HANDLERS). For the
platforms still being built, `PLANNED` says which models they will take, so that a
Meter shows "Spark takes this; Spark is not available in this release yet" instead of
"no platform has been told about this" forever. A platform's entry here is ignored as
soon as it is in `registry.PLATFORMS`: from then on its HANDLERS are the truth.
"""

from dataclasses import dataclass

from django.conf import settings

from . import registry

# Model labels ("app_label.modelname"), so this module imports no models.
PLANNED: dict[str, tuple[str, ...]] = {}  # every platform is built now
LABELS = {"smartme": "smart-me", "climkit": "Climkit", "spark": "Spark", "zevvy": "zevvy"}


@dataclass(frozen=True)
class Taker:
    """A platform that takes a model, and whether it is in use here."""

    name: str
    label: str
    status: str  # ENABLED, DISABLED (left out of PROVIDERS), UNAVAILABLE (not built yet)

    ENABLED = "enabled"
    DISABLED = "disabled"
    UNAVAILABLE = "unavailable"

    @property
    def note(self) -> str:
        if self.status == self.DISABLED:
            return f"{self.label} takes this, but {self.label} is not enabled (PROVIDERS)."
        if self.status == self.UNAVAILABLE:
            return f"{self.label} will take this; it is not available in this release yet."
        return ""


def label(name: str) -> str:
    return registry.PLATFORMS[name].label if name in registry.PLATFORMS else LABELS.get(name, name)


def _model_label(model) -> str:
    return model._meta.label_lower


def _takes(name: str, model) -> bool:
    if name in registry.PLATFORMS:
        return model in registry.handlers(name)
    return _model_label(model) in PLANNED.get(name, ())


def takers(model) -> list[Taker]:
    """Every known platform that takes (or will take) the model, enabled ones first."""
    found = []
    for name in registry.KNOWN:
        if not _takes(name, model):
            continue
        if name not in registry.PLATFORMS:
            status = Taker.UNAVAILABLE
        elif name in settings.PROVIDERS:
            status = Taker.ENABLED
        else:
            status = Taker.DISABLED
        found.append(Taker(name, label(name), status))
    return sorted(found, key=lambda t: t.status != Taker.ENABLED)
