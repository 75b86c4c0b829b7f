"""Our models as Zählerfreunde sees them: Space → space, Device → device of a space,
Invite → invite to a space. Each handler builds the payload, creates, updates where the
platform can, finds an object we may already have created, and deletes."""

import hashlib
from contextlib import suppress

from django.conf import settings

from onboarding.models import Device, Invite, Space

from ..errors import NotFoundError, NotSupported
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

    fixed_fields = {
        "is_participating_in_ltt_project": "Zählerfreunde takes the Mieterstrom flag only "
        "when the space is created; it cannot change it afterwards.",
    }

    def payload(self, space: Space, parent_id: str | None) -> dict:
        address = space.address()
        payload = {
            "name": space.name,
            "category": space.category,
            "addressLineOne": address["address_line_one"],
            "postcode": address["postcode"],
            "city": address["city"],
            # The platform's update is partial: a field left out keeps its old value, so
            # a cleared second line, or a unit turned into a building, is sent as null.
            "addressLineTwo": address["address_line_two"] or None,
            "parentSpaceId": parent_id or None,
        }
        if space.is_participating_in_ltt_project is not None:
            payload["isParticipatingInLttProject"] = space.is_participating_in_ltt_project
        return payload

    def create(self, client, space, payload, parent_id) -> str:
        return client.create_space(_without_nulls(payload))

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
        # The spec deletes a space's devices with it and promises nothing about its units
        # or invites: the outbox deletes those first, bottom-up, each by its own row.
        client.delete_space(remote_id)


class DeviceHandler(Handler):
    parent_field = "space"
    fixed_fields = {
        "device_type": "Zählerfreunde cannot change a device's type once it has the device: "
        "delete the device and add it again with the right type.",
        "medium": "Zählerfreunde cannot change a device's medium once it has the device: "
        "delete the device and add it again with the right medium.",
    }
    # What `POST /spaces/{id}/devices/{id}/details` can change (the spec's DeviceDetails).
    DETAILS = {
        "deviceName": "deviceName",
        "isMainDevice": "isMainDevice",
        "externalDeviceId": "externalDeviceId",
        "meteringLocationId": "meteringLocationId",
        "serialNumber": "serialNumber",
    }

    def rank(self, device: Device) -> int:
        return 2

    def payload(self, device: Device, parent_id: str | None) -> dict:
        payload = {
            "deviceName": device.name,
            "isMainDevice": device.is_main_device,
            "deviceType": device.device_type,
            "deviceMedium": device.medium,
        }
        optional = {
            "externalDeviceId": device.external_device_id,
            "meteringLocationId": device.metering_location_id,
            "serialNumber": device.serial_number,
        }
        payload.update({key: value for key, value in optional.items() if value})
        return payload

    def create(self, client, device, payload, parent_id) -> str:
        return client.create_device(parent_id, payload)

    def update(self, client, remote_id, payload, parent_id) -> None:
        # Type and medium cannot change there (services refuse such a save up front).
        # The details endpoint changes only what is sent; "" clears an optional id (null
        # is refused there).
        details = {theirs: payload.get(ours, "") for ours, theirs in self.DETAILS.items()}
        client.update_device_details(parent_id, remote_id, details)

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        # Link to the new unit first, then unlink from the old one: the device is never
        # without a space, and it keeps its id and its readings. Both are safe to repeat.
        # The main flag belongs to the link, so it goes with the new one.
        body = {"isMainDevice": obj.is_main_device} if obj is not None else None
        client.link_device(new_parent_id, remote_id, body)
        with suppress(NotFoundError):  # already unlinked (a repeated move)
            client.unlink_device(old_parent_id, remote_id)

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

    # A lookup only finds an invite the tenant accepted; otherwise a person decides.
    supports_lookup = False
    supports_delete = False
    delete_refusal = (
        "Zählerfreunde has no API to withdraw an invite; it stays valid there. "
        "Delete the whole unit to remove the tenant's access."
    )
    fixed_fields = {
        "space": "Zählerfreunde cannot move an invite to another unit: the tenant's link "
        "stays valid for the unit it was made for. Make a new invite for the new unit.",
        "email": "Zählerfreunde cannot change an invite once made: the tenant keeps the "
        "link sent before. Invite the new address as a new invite.",
        "send_invite_email": "The invite already exists on Zählerfreunde; whether it "
        "e-mailed the tenant cannot change afterwards.",
    }

    def rank(self, invite: Invite) -> int:
        return 2

    def payload(self, invite: Invite, parent_id: str | None) -> dict:
        payload = {"sendInviteEmail": invite.send_invite_email, "userEmail": invite.email}
        access_role = settings.PROVIDER_CONFIG[NAME]["options"].get("access_role_id")
        if access_role:
            payload["accessRoleId"] = access_role
        return payload

    def create(self, client, invite, payload, parent_id) -> str:
        link = client.create_invite(parent_id, payload)
        # The link grants access to the tenant's data: it is kept on the invite (seen by
        # staff who may see invites), and the outbox row only holds a fingerprint of it.
        status = Invite.Status.EMAILED if invite.send_invite_email else Invite.Status.LINK_READY
        Invite.objects.filter(pk=invite.pk).update(invite_link=link, status=status)
        return link_fingerprint(link)

    def update(self, client, remote_id, payload, parent_id) -> None:
        raise NotSupported(
            "Zählerfreunde cannot change an invite once made: the tenant keeps the link sent "
            "before. Invite the new address as a new invite."
        )

    def find_existing(self, client, invite, payload, parent_id) -> str | None:
        """Zählerfreunde cannot list invites, but a tenant who accepted one is a user of
        the space: then the invite did arrive and is done."""
        wanted = payload["userEmail"].casefold()
        for user in client.list_space_users(parent_id):
            if str(user.get("email") or "").casefold() == wanted:
                Invite.objects.filter(pk=invite.pk).update(status=Invite.Status.ACCEPTED)
                return f"user:{user.get('id') or user.get('userId')}"
        if payload["sendInviteEmail"]:
            ask = (
                f"Ask {payload['userEmail']} whether an invite e-mail from Zählerfreunde "
                "arrived. If it did, accept this row as is; if not, Retry sends a new one."
            )
        else:
            ask = (
                "No e-mail was to be sent, so the link it made (if any) never reached us. "
                "Retry makes a new link; a lost one may still work."
            )
        raise NotSupported(
            "The invite may or may not have been created (no answer came back), and the "
            f"tenant has not accepted one yet, so Zählerfreunde cannot tell. {ask}"
        )


def link_fingerprint(link: str) -> str:
    """A stand-in remote id for an invite: says it exists without giving access."""
    return "invite:" + hashlib.sha256(link.encode()).hexdigest()[:16]


def _without_nulls(payload: dict) -> dict:
    """A create leaves optional fields out instead of sending them as null."""
    return {key: value for key, value in payload.items() if value is not None}


HANDLERS = {Space: SpaceHandler(), Device: DeviceHandler(), Invite: InviteHandler()}
