"""Our models as Zählerfreunde sees them: Space → space, Device → device of a space,
Invite → invite to a space. Each handler builds the payload, creates, updates where the
platform can, finds an object we may already have created, and deletes."""

from django.conf import settings

from onboarding.models import Device, Invite, Space

from ..errors import NotSupported
from ..handlers import Handler
from .client import ZaehlerfreundeClient

NAME = "zaehlerfreunde"


def make_client(connection, *, token_store, on_call) -> ZaehlerfreundeClient:
    return ZaehlerfreundeClient(
        connection.base_url,
        connection.client_id,
        connection.client_secret,
        token_store=token_store,
        timeout=(settings.PROVIDER_CONNECT_TIMEOUT_SECONDS, settings.PROVIDER_TIMEOUT_SECONDS),
        on_call=on_call,
        timestamp_unit=settings.ZAEHLERFREUNDE_TIMESTAMP_UNIT,
    )


class SpaceHandler(Handler):
    parent_field = "parent"

    def rank(self, space: Space) -> int:
        return 0 if space.is_building else 1

    def dependants(self, space: Space):
        return [
            (Space, space.units.values("pk")),
            (Device, space.devices.values("pk")),
            (Invite, space.invites.values("pk")),
        ]

    def payload(self, space: Space, parent_id: str | None) -> dict:
        address = space.address()
        payload = {
            "name": space.name,
            "category": space.category,
            "addressLineOne": address["address_line_one"],
            "postcode": address["postcode"],
            "city": address["city"],
        }
        if address["address_line_two"]:
            payload["addressLineTwo"] = address["address_line_two"]
        if parent_id:
            payload["parentSpaceId"] = parent_id
        return payload

    def create(self, client, space, payload, parent_id) -> str:
        return client.create_space(payload)

    def update(self, client, remote_id, payload, parent_id) -> None:
        client.update_space(remote_id, payload)

    def find_existing(self, client, space, payload, parent_id) -> str | None:
        # Spaces carry no key of ours; a unit's name is unique in its building and a
        # building's name is unique among ours, so name + parent + postcode identifies it.
        for remote in client.list_spaces():
            if (
                remote.get("name") == payload["name"]
                and (remote.get("parentSpaceId") or None) == payload.get("parentSpaceId")
                and remote.get("postcode") == payload["postcode"]
            ):
                return remote["id"]
        return None

    def delete(self, client, remote_id) -> None:
        # The platform removes a space's devices, invites and units with it.
        client.delete_space(remote_id)


class DeviceHandler(Handler):
    parent_field = "space"

    def rank(self, device: Device) -> int:
        return 2

    def payload(self, device: Device, parent_id: str | None) -> dict:
        payload = {
            "deviceName": device.name,
            "isMainDevice": device.is_main_device,
            "deviceType": device.device_type,
            "deviceMedium": device.medium,
        }
        if device.external_device_id:
            payload["externalDeviceId"] = device.external_device_id
        return payload

    def create(self, client, device, payload, parent_id) -> str:
        return client.create_device(parent_id, payload)

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported(
            "Zählerfreunde has no API to change a device: this change stays in the portal. "
            "To apply it there, delete the device and add it again."
        )

    def find_existing(self, client, device, payload, parent_id) -> str | None:
        ours = payload.get("externalDeviceId")
        for remote in client.list_devices(parent_id):
            # `externalDeviceId` is deprecated in favour of the list `externalDeviceIds`.
            theirs = set(remote.get("externalDeviceIds") or []) | {remote.get("externalDeviceId")}
            if ours and ours in theirs:
                return remote["id"]
            if not ours and remote.get("name") == payload["deviceName"]:
                return remote["id"]
        return None

    def delete(self, client, remote_id) -> None:
        client.delete_device(remote_id)


class InviteHandler(Handler):
    parent_field = "space"

    supports_lookup = False
    supports_delete = False
    delete_refusal = (
        "Zählerfreunde has no API to withdraw an invite; it stays valid there. "
        "Delete the whole unit to remove the tenant's access."
    )

    def rank(self, invite: Invite) -> int:
        return 2

    def payload(self, invite: Invite, parent_id: str | None) -> dict:
        return {"sendInviteEmail": invite.send_invite_email, "userEmail": invite.email}

    def create(self, client, invite, payload, parent_id) -> str:
        return client.create_invite(parent_id, payload)

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported(
            "Zählerfreunde cannot change an invite once made: the tenant keeps the link sent "
            "before. Invite the new address as a new invite."
        )

    def find_existing(self, client, invite, payload, parent_id) -> str | None:
        raise NotSupported(
            "The invite may or may not have been created (no answer came back), and "
            "Zählerfreunde has no way to look invites up. Ask the tenant whether an invite "
            "e-mail arrived; if not, use 'Retry' to send it again."
        )

    def after_create(self, invite, remote_id) -> None:
        status = Invite.Status.EMAILED if invite.send_invite_email else Invite.Status.LINK_READY
        Invite.objects.filter(pk=invite.pk).update(invite_link=remote_id, status=status)


HANDLERS = {Space: SpaceHandler(), Device: DeviceHandler(), Invite: InviteHandler()}
