"""Our models as zevvy sees them: Device → a zevvy device (`name`, `reference`).

The reference is our key for the device on zevvy: `find_existing` looks for it before a
create whose answer never came is repeated, and the readings forwarding addresses the
device by it (`/deviceRef/{reference}/...`). So it must never change and never be empty:
it is `<prefix><our primary key>` (default `portal-device-42`), not the external device
id, which staff may leave empty or correct. The prefix (ZEVVY_REFERENCE_PREFIX) lets a
staging and a production portal share one zevvy account without taking each other's
devices for their own.

The device's zevvy *name* is our device's name, so staff find it in zevvy as they know
it, and a rename is sent (PUT). The guide's `_bulk_create` finds a device by
`deviceName` and creates one when none has it, so readings forwarded by name use that
same name, and only once zevvy holds it: they wait while a rename is on its way, and
while two of our devices share the name (zevvy could not tell them apart), saying so
(readings.py). Readings by reference (the default) need neither.
"""

from django.conf import settings

from onboarding.models import Device

from ..errors import PermanentError
from ..handlers import LISTS_ALL, Handler, Remote
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
        # http verification links only from the embedded sandbox or in embedded mode.
        allow_http_loopback=connection.is_sandbox or settings.DEBUG,
    )


def reference_prefix() -> str:
    from providers import registry

    return registry.connection(NAME).options.get("reference_prefix") or "portal-device-"


def reference(device: Device) -> str:
    """Our key for the device on zevvy, and its name there (module docstring)."""
    return f"{reference_prefix()}{device.pk}"


def zevvy_name(device: Device) -> str:
    """The device's name on zevvy: ours, or its reference while it has none."""
    return device.name.strip() or reference(device)


class DeviceHandler(Handler):
    """A device needs nothing else on zevvy first: zevvy's devices stand alone."""

    # Nothing public shows a device listing (NOTES.md); reconcile reads the one the client
    # already relies on for its lookups: `GET /devices` (paged, Spring's `content`/`page`).
    listing = LISTS_ALL
    compared = {"name": "name", "reference": "reference"}

    def payload(self, device: Device, parent_id: str | None) -> dict:
        key = reference(device)
        return {"name": zevvy_name(device), "reference": key}

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
        # PUT replaces name and reference (the reference never changes); no public
        # source shows the PUT (client.py).
        client.update_device(remote_id, payload["name"], payload["reference"])

    def find_existing(self, client: ZevvyClient, device, payload, parent_id) -> str | None:
        found = client.find_device(payload["reference"])
        return found["id"] if found else None

    def delete(self, client: ZevvyClient, remote_id) -> None:
        # zevvy removes the device's registers and measurements with it (its sandbox
        # does; no public source shows the DELETE, client.py).
        client.delete_device(remote_id)

    def list_remote(self, client: ZevvyClient, parent_ids=None):
        for remote in client.list_devices():
            if not remote.get("id"):
                continue  # nothing to match it by, nor to fix it through
            reference = str(remote.get("reference") or "")
            yield Remote(
                id=str(remote["id"]),
                fields={"name": remote.get("name"), "reference": reference or None},
                keys=(reference,) if reference else (),
                label=str(remote.get("name") or ""),
            )

    def claims(self, remote: Remote) -> bool:
        # The account is a person's: their own devices (and those the readings' by-name
        # form made) carry no reference of ours and are none of our business.
        return any(key.startswith(reference_prefix()) for key in remote.keys)

    def keys(self, device, payload) -> tuple[str, ...]:
        return (payload["reference"],)


HANDLERS = {Device: DeviceHandler()}
