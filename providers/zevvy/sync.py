"""Our models as zevvy sees them: Device → a zevvy device (`name`, `reference`).

The reference is our key for the device on zevvy: `find_existing` looks for it before a
create whose answer never came is repeated, and the readings forwarding addresses the
device by it (`/deviceRef/{reference}/...`). So it must never change and never be empty:
it is `<prefix><our primary key>` (default `portal-device-42`), not the external device
id, which staff may leave empty or correct. The prefix (ZEVVY_REFERENCE_PREFIX) lets a
staging and a production portal share one zevvy account without taking each other's
devices for their own.
"""

from django.conf import settings

from onboarding.models import Device

from ..errors import PermanentError
from ..handlers import Handler
from .client import ZevvyClient
from .oauth import SCOPES

NAME = "zevvy"


def make_client(connection, *, token_store, on_call) -> ZevvyClient:
    options = connection.options
    return ZevvyClient(
        connection.base_url,
        connection.client_id,
        connection.client_secret,
        token_url=options.get("token_url", ""),
        device_authorization_url=options.get("device_authorization_url", ""),
        scope=options.get("scope") or SCOPES,
        token_store=token_store,
        timeout=(settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        on_call=on_call,
    )


def reference_prefix() -> str:
    from providers import registry

    return registry.connection(NAME).options.get("reference_prefix") or "portal-device-"


class DeviceHandler(Handler):
    """A device needs nothing else on zevvy first: zevvy's devices stand alone."""

    def payload(self, device: Device, parent_id: str | None) -> dict:
        return {"name": device.name, "reference": f"{reference_prefix()}{device.pk}"}

    def create(self, client: ZevvyClient, device, payload, parent_id) -> str:
        try:
            return client.create_device(payload["name"], payload["reference"])["id"]
        except PermanentError as exc:
            if exc.status != 409:
                raise
            # The reference is taken: by our own earlier create whose answer was lost
            # (the only way our key gets there), so that device is ours to adopt.
            found = client.find_device(payload["reference"])
            if found is None:
                raise
            return found["id"]

    def update(self, client: ZevvyClient, remote_id, payload, parent_id) -> None:
        # PUT replaces name and reference; the reference sent is the one it already has.
        client.update_device(remote_id, payload["name"], payload["reference"])

    def find_existing(self, client: ZevvyClient, device, payload, parent_id) -> str | None:
        found = client.find_device(payload["reference"])
        return found["id"] if found else None

    def delete(self, client: ZevvyClient, remote_id) -> None:
        # zevvy removes the device's registers and measurements with it.
        client.delete_device(remote_id)


HANDLERS = {Device: DeviceHandler()}
