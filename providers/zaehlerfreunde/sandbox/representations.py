"""The sandbox's objects as JSON: the spec's schemas for the API, a fuller picture for
the control side's state."""

from django.conf import settings

from .models import AccessRole, Device, Invite, SentEmail, Space, SpaceDevice, User

# The one partner the sandbox has, and the API account its spaces and devices belong to
# (Space.ownerUserId, Device.ownerUserId, User.partnerId are required by the spec).
PARTNER_ID = "6f0b8f3e-2c4d-4f7a-9e61-0d5a3b8c1e27"


def owner_user_id() -> str:
    return f"api|{settings.SANDBOX_CLIENT_ID}"


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _without_empty(data: dict, *optional: str) -> dict:
    """`data` without the `optional` fields that have no value. The spec's answer
    schemas mark no field nullable: an optional one without a value is left out (as a
    generated server's `omitempty` does), never sent as null."""
    return {k: v for k, v in data.items() if k not in optional or v not in (None, "")}


def country_of(postcode: str) -> str:
    # Space.country is required but NewSpace has no country: the platform derives it.
    # Five digits is Germany; four is Switzerland or Austria, and the portal's
    # utility is Swiss, so the sandbox says CH.
    return "DE" if len(postcode or "") == 5 else "CH"


def space_json(space: Space) -> dict:
    """Space schema. Expects `memberships__user` prefetched on lists."""
    return _without_empty(space_state_json(space), "addressLineTwo", "parentSpaceId")


def space_state_json(space: Space) -> dict:
    """For the control side: the Space schema's fields, null where a space has none."""
    return {
        "id": str(space.uuid),
        "name": space.name,
        "addressLineOne": space.address_line_one,
        "addressLineTwo": space.address_line_two,
        "postcode": space.postcode,
        "city": space.city,
        "ownerUserId": owner_user_id(),
        "category": space.category,
        "categoryIcon": f"/img/space-categories/{space.category.lower()}.svg",
        "associatedUsersId": [m.user.user_id for m in space.memberships.all()],
        "country": country_of(space.postcode),
        "parentSpaceId": str(space.parent.uuid) if space.parent_id else None,
        "isParticipatingInLttProject": bool(space.is_participating_in_ltt_project),
    }


def _metadata(device: Device) -> list[dict]:
    # The Device schema has no meteringLocationId or serialNumber property; its
    # `metaData` label/value list is where the platform shows such facts. The labels
    # are the sandbox's choice (the request field names).
    pairs = [("meteringLocationId", device.metering_location_id)]
    pairs.append(("serialNumber", device.serial_number))
    return [{"label": label, "value": value} for label, value in pairs if value]


def device_json(link: SpaceDevice) -> dict:
    """Device schema, as seen in the space of `link` (the main flag is per space).

    Expects `first_reading` / `latest_reading` annotated (None when not)."""
    device = link.device
    external = device.external_device_id
    first = getattr(link, "first_reading", None)
    latest = getattr(link, "latest_reading", None)
    data = {
        "id": str(device.uuid),
        "name": device.name,
        # CONNECTED / CONNECTING / FAILED: an API-fed device is connecting until its
        # first reading arrives.
        "status": "CONNECTED" if latest else "CONNECTING",
        # Required strings, not nullable: before the first reading there is no time to
        # give, and a required string can only be empty (the spec shows no other value).
        "latestReadingTime": _iso(latest) or "",
        "firstReadingTime": _iso(first) or "",
        "provider": "EXTERNAL",
        "providerName": "Partner-API",
        "providerDescription": "Messwerte über die Partner-API",
        "providerLogoUrl": "/img/providers/external.svg",
        "deviceType": device.device_type,
        "deviceTypeDescription": device.device_type.replace("_", " ").title(),
        "deviceTypeImageUrl": f"/img/device-types/{device.device_type.lower()}.png",
        "deviceTypeIcon": f"/img/device-types/{device.device_type.lower()}.svg",
        "isMainDeviceAllowed": True,
        "isMainDevice": link.is_main_device,
        "metaData": _metadata(device),
        "createdAt": _iso(device.created_at),
        "medium": device.medium,
        "imageUrl": f"/img/device-types/{device.device_type.lower()}.png",
        "ownerUserId": owner_user_id(),
        # Deprecated in the spec but still filled, as old clients read it.
        "externalDeviceId": external,
        "externalDeviceIds": [external] if external else [],
        "directions": ["IN"],
    }
    return _without_empty(data, "externalDeviceId")


def device_state_json(device: Device) -> dict:
    """For the control side: everything, including the spaces a device is linked to."""
    links = list(device.links.all())
    external = device.external_device_id
    return {
        "id": str(device.uuid),
        "name": device.name,
        "deviceType": device.device_type,
        "medium": device.medium,
        "externalDeviceIds": [external] if external else [],
        "meteringLocationId": device.metering_location_id,
        "serialNumber": device.serial_number,
        "conversionFactor": device.conversion_factor,
        "grid": device.grid,
        "spaceIds": [str(link.space.uuid) for link in links],
        "links": [
            {
                "spaceId": str(link.space.uuid),
                "isMainDevice": link.is_main_device,
                "excludedFromCost": link.excluded_from_cost,
            }
            for link in links
        ],
        "readings": device.readings.count(),
    }


def user_json(user: User) -> dict:
    """User schema (all fields required there)."""
    return {
        "id": user.user_id,
        "name": user.name,
        "email": user.email,
        "partnerId": PARTNER_ID,
        "lastLogin": _iso(user.last_login),
        "phoneNumber": user.phone_number,
        "createdAt": _iso(user.created_at),
        "loginCount": float(user.login_count),
        "picture": user.picture,
    }


def role_json(role: AccessRole) -> dict:
    return {
        "id": str(role.uuid),
        "name": role.name,
        "description": role.description,
        "permissionIds": list(role.permission_ids),
    }


def invite_json(invite: Invite) -> dict:
    return {
        "id": str(invite.uuid),
        "spaceId": str(invite.space.uuid),
        "userEmail": invite.user_email,
        "accessRoleId": str(invite.access_role.uuid),
        "sendInviteEmail": invite.send_invite_email,
        "inviteLink": invite.link,
        "createdAt": _iso(invite.created_at),
        "acceptedAt": _iso(invite.accepted_at),
        "acceptedBy": invite.accepted_by.user_id if invite.accepted_by_id else None,
    }


def email_json(email: SentEmail) -> dict:
    return {
        "id": email.pk,
        "to": email.to,
        "subject": email.subject,
        "body": email.body,
        "inviteLink": email.invite.link if email.invite_id else None,
        "sent_at": _iso(email.sent_at),
    }
