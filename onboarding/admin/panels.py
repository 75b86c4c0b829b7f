"""Sections that other rooms add to a domain model's admin page.

A platform's folder (or the readings app) registers a panel from its own admin.py, so
the domain admin imports none of them:

    @panels.add(Device, "Climkit pull", shown=lambda device: bool(device.climkit_meter_id))
    @admin.display(description="Pulled / gaps (last 7 days)")
    def climkit_pull(device): ...

SyncedAdmin appends each panel shown for the object as a read-only section of its own,
in the order they were registered (INSTALLED_APPS order, as the admin discovers them).
"""

from collections.abc import Callable
from dataclasses import dataclass


def _always(obj) -> bool:
    return True


@dataclass(frozen=True)
class Panel:
    title: str
    render: Callable  # (obj) -> safe HTML; its admin.display description labels the row
    shown: Callable = _always  # (obj) -> bool


_PANELS: dict[type, list[Panel]] = {}


def add(model, title: str, *, shown: Callable = _always):
    def register(render):
        _PANELS.setdefault(model, []).append(Panel(title, render, shown))
        return render

    return register


def for_model(model) -> list[Panel]:
    return _PANELS.get(model, [])
