"""Our models as Zählerfreunde sees them: Space → space, Device → device of a space,
Invite → invite to a space. Each handler builds the payload, creates, updates where the
platform can, finds an object we may already have created, and deletes."""

import hashlib
from contextlib import suppress

from django.conf import settings

from onboarding.models import Device, Invite, Space

from ..errors import NotFoundError, NotSupported
from ..handlers import LISTS_ALL, LISTS_PER_PARENT, Handler, Remote
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

    LTT = "isParticipatingInLttProject"
    LTT_FIXED = (
        "Zählerfreunde takes the Mieterstrom flag only when the space is created; it "
        "cannot change it afterwards."
    )
    # Not refused: our answer may be the right one (it was "Unknown" when the unit was
    # made). Saved here, staff told before saving, the badge says "not sent".
    create_only = {"is_participating_in_ltt_project": LTT_FIXED}

    # GET /spaces (paged) lists every space of the partner, with the fields compared.
    listing = LISTS_ALL
    compared = {
        "name": "name",
        "category": "category",
        "addressLineOne": "address line one",
        "addressLineTwo": "address line two",
        "postcode": "postcode",
        "city": "city",
        "parentSpaceId": "building",
        LTT: "Mieterstrom flag",
    }
    unpushable = {LTT: LTT_FIXED}

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

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        """A unit moved to another building: the update that follows sends its new
        parentSpaceId (UpdateSpace takes it), so there is nothing to call here."""

    def list_remote(self, client, parent_ids=None):
        for remote in client.list_spaces():
            # Only what it said: an optional field left out is not "empty there".
            fields = {key: remote.get(key) for key in self.compared if key in remote}
            yield Remote(
                id=remote["id"],
                fields=fields,
                parent_id=remote.get("parentSpaceId") or None,
                keys=(_space_key(fields),),
                label=str(remote.get("name") or ""),
            )

    def keys(self, space, payload) -> tuple[str, ...]:
        # No key of ours travels with a space: name, building and postcode identify it,
        # as for the lookup after a lost create (find_existing).
        return (_space_key(payload),)

    def compared_view(self, payload: dict) -> dict:
        ours = super().compared_view(payload)
        if self.LTT not in payload:
            ours.pop(self.LTT)  # "Unknown" here: nothing to compare with
        return ours

    def not_sent(self, space: Space, created: dict | None = None) -> str | None:
        ours = space.is_participating_in_ltt_project
        if ours is None or created is None:
            return None
        # Created without the flag, the platform holds its default, false.
        held = bool(created.get(self.LTT))
        if ours == held:
            return None
        return (
            f"Zählerfreunde holds the Mieterstrom flag as {'yes' if held else 'no'}: it "
            "takes it only when the space is created, so the change did not reach it."
        )


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

    # GET /spaces/{id}/devices (paged): a space's devices, the only listing of devices.
    listing = LISTS_PER_PARENT
    compared = {
        "deviceName": "name",
        "isMainDevice": "main meter",
        "deviceType": "type",
        "deviceMedium": "medium",
        "externalDeviceId": "external device id",
    }
    unpushable = {
        "deviceType": fixed_fields["device_type"],
        "deviceMedium": fixed_fields["medium"],
    }

    def rank(self, device: Device) -> int:
        return 2

    def list_remote(self, client, parent_ids=None):
        for space_id in parent_ids or ():
            for remote in client.list_devices(space_id):
                keys = _external_ids(remote)
                fields = {
                    "deviceName": remote.get("name"),
                    "isMainDevice": remote.get("isMainDevice"),
                    "deviceType": remote.get("deviceType"),
                    "deviceMedium": remote.get("medium"),
                }
                if "externalDeviceIds" in remote or "externalDeviceId" in remote:
                    # Optional in the spec's Device: compared only where it is shown.
                    fields["externalDeviceId"] = keys[0] if keys else None
                yield Remote(
                    id=remote["id"],
                    fields=fields,
                    parent_id=space_id,
                    keys=keys,
                    label=str(remote.get("name") or ""),
                )

    def keys(self, device, payload) -> tuple[str, ...]:
        ours = payload.get("externalDeviceId")
        return (ours,) if ours else ()

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
        # The details endpoint changes only what is sent. No source says how an id is
        # cleared: DeviceDetails marks nothing nullable, so we send "" and rely on it
        # clearing (the sandbox reads it so, and refuses null).
        details = {theirs: payload.get(ours, "") for ours, theirs in self.DETAILS.items()}
        client.update_device_details(parent_id, remote_id, details)

    def move(self, client, remote_id, old_parent_id, new_parent_id, obj=None) -> None:
        # Link to the new unit first, then unlink from the old one: the device is never
        # without a space, and it keeps its id and its readings. Both are safe to repeat.
        # The main flag belongs to the link, so it goes with the new one.
        body = {"isMainDevice": obj.is_main_device} if obj is not None else None
        client.link_device(new_parent_id, remote_id, body)
        # Already unlinked (a repeated move): a 404 in the sandbox; no source shows it.
        with suppress(NotFoundError):
            client.unlink_device(old_parent_id, remote_id)

    def find_existing(self, client, device, payload, parent_id) -> str | None:
        ours = payload.get("externalDeviceId")
        for remote in client.list_devices(parent_id):
            if ours and ours in _external_ids(remote):
                return remote["id"]
            if not ours and remote.get("name") == payload["deviceName"]:
                return remote["id"]
        return None

    def delete(self, client, remote_id) -> None:
        client.delete_device(remote_id)


class InviteHandler(Handler):
    parent_field = "space"

    # A lookup only finds an invite the tenant accepted; otherwise a person decides where
    # Zählerfreunde e-mailed the tenant (find_existing).
    supports_lookup = False
    # Deleting the space voids its invites there (nothing is left to be invited to).
    voided_with_parent = True
    delete_effect = (
        "The tenant's access to the unit ends: removed from the space if they accepted "
        "the invite. An invite not yet accepted cannot be withdrawn (Zählerfreunde has no "
        "API for it): you are told if its link is still open."
    )
    fixed_fields = {
        "space": "Zählerfreunde cannot move an invite to another unit: the tenant's link "
        "stays valid for the unit it was made for. Make a new invite for the new unit.",
        "email": "Zählerfreunde cannot change an invite once made: the tenant keeps the "
        "link sent before. Invite the new address as a new invite.",
        "send_invite_email": "The invite already exists on Zählerfreunde; whether it "
        "e-mailed the tenant cannot change afterwards.",
    }

    unlisted_reason = (
        "Zählerfreunde cannot list invites (only the users who accepted one); an invite "
        "is made again with its unit."
    )

    def delete_object(self, client, remote_id, invite: Invite, parent_id) -> None:
        """End the invited person's access: the spec has no call to withdraw an invite,
        but one that was accepted made the tenant a user of the space, and
        `DELETE /spaces/{id}/users/{userId}` removes them ("he can no longer view space
        data"). An invite nobody accepted yet leaves nobody to remove; its link still
        works unless it never left the portal."""
        if not parent_id:
            return  # the space never reached Zählerfreunde: neither did the invite
        user_id = self._member(client, parent_id, remote_id, invite.email)
        if user_id is not None:
            with suppress(NotFoundError):  # removed meanwhile: what we wanted
                client.remove_space_user(parent_id, user_id)
            return
        if not invite.send_invite_email and not invite.emails.filter(error="").exists():
            return  # the portal was to e-mail the link and never did: nobody holds it
        raise NotSupported(
            f"{invite.email} has not accepted the Zählerfreunde invite, and Zählerfreunde "
            "has no API to withdraw one: its link stays valid until someone uses it. Retry "
            "looks again and removes whoever accepted it; deleting the unit on "
            "Zählerfreunde voids the link."
        )

    @staticmethod
    def _member(client, space_id: str, remote_id: str, email: str) -> str | None:
        """The id of the space's user who accepted this invite, or None."""
        known = remote_id.removeprefix("user:") if remote_id.startswith("user:") else None
        wanted = email.casefold()
        for user in client.list_space_users(space_id):
            user_id = str(user.get("id") or user.get("userId") or "")
            if user_id and (user_id == known or str(user.get("email") or "").casefold() == wanted):
                return user_id
        return None

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
        if not payload["sendInviteEmail"]:
            # The portal e-mails this link itself, and the lost answer held the only copy
            # of it: an invite made then reaches nobody, so a new one is made at once.
            return None
        raise NotSupported(
            "The invite may or may not have been created (no answer came back), and the "
            f"tenant has not accepted one yet, so Zählerfreunde cannot tell. Ask "
            f"{payload['userEmail']} whether an invite e-mail from Zählerfreunde arrived. "
            "If it did, accept this row as is; if not, Retry sends a new one."
        )


def _space_key(fields: dict) -> str:
    return "\x1f".join(str(fields.get(k) or "") for k in ("name", "parentSpaceId", "postcode"))


def _external_ids(remote: dict) -> tuple[str, ...]:
    # `externalDeviceId` is deprecated in favour of the list `externalDeviceIds`.
    ids = [*(remote.get("externalDeviceIds") or []), remote.get("externalDeviceId")]
    return tuple(dict.fromkeys(i for i in ids if i))


def link_fingerprint(link: str) -> str:
    """A stand-in remote id for an invite: says it exists without giving access."""
    return "invite:" + hashlib.sha256(link.encode()).hexdigest()[:16]


def _without_nulls(payload: dict) -> dict:
    """A create leaves optional fields out instead of sending them as null."""
    return {key: value for key, value in payload.items() if value is not None}


HANDLERS = {Space: SpaceHandler(), Device: DeviceHandler(), Invite: InviteHandler()}
