"""What the forwarding engine hands a platform's readings destination, and how it finds one.

A platform that takes readings has a `readings.py` in its folder (the registry names
it) with a `DESTINATION` object: `waiting_for(forwarding, device, outbox)` says whether
the device can receive readings there yet, and `send(client, forwarding, device, batch,
outbox)` sends one batch, raising the client's typed errors and returning only once the
platform accepted every reading of it. The engine (forwarding.py) moves the cursor after
that, never before, and knows no platform.

A repeated reading must be harmless at every destination, because a batch is sent again
when its answer was lost (a timeout after the platform stored it); each destination's
module says why it is.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.contrib.contenttypes.models import ContentType

from onboarding.models import Device, SyncRecord
from providers import registry


@dataclass
class Wait:
    """Not yet: why, and when to look again (None: SYNC_DEPENDENCY_WAIT_SECONDS)."""

    reason: str
    seconds: float | None = None


@dataclass(frozen=True)
class OutboxState:
    """What the outbox knows of the device on the destination's platform."""

    remote_id: str = ""
    state: str = ""
    not_before: datetime | None = None

    @property
    def created(self) -> bool:
        return bool(self.remote_id)

    @property
    def changing(self) -> bool:
        """A change of the device is on its way there."""
        return self.state in (SyncRecord.State.PENDING, SyncRecord.State.IN_FLIGHT)


def outbox_state(device: Device, provider: str) -> OutboxState:
    row = (
        SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(Device),
            object_id=device.pk,
            provider=provider,
        )
        .values("remote_id", "state", "not_before")
        .first()
    )
    return OutboxState(**row) if row else OutboxState()


@cache
def destination(name: str):
    """The platform's readings destination, or None if it takes no readings."""
    module = registry.readings_module(name)
    return module.DESTINATION if module else None
