"""The partner API (`/partner/...`), as the guide and the public spec describe it.

Where the guide is silent the sandbox does what an ASP.NET Core service (which the
platform is) does by default, and says so next to the code:
- a successful create answers 200 with the new id (`return Ok(new { spaceId })`), not 201:
  the spec's examples show no Location header and the generated curl expects JSON;
- updates, deletes and readings answer 200 with an empty body (`return Ok()`); the
  guide's curl for readings sends `accept: */*`, which Swagger generates for an action
  without a declared response body;
- a route id that is not a GUID is a 400 (model binding fails), an unknown one a 404.
"""

import logging
import math
import secrets

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from providers.sandbox_kit.endpoint import api_endpoint as kit_endpoint

from . import validation
from .auth import credentials_ok, issue_token, token_problem
from .models import Device, Invite, Reading, SentEmail, Space
from .problems import empty_ok, json_ok, not_found, parse_json, problem, validation_problem

log = logging.getLogger(__name__)
PLATFORM = "zaehlerfreunde"


def _error(status: int, detail: str):
    return problem(status, detail=detail)


def api_endpoint(template: str, *, methods: tuple[str, ...], authenticated: bool = True):
    """The shared sandbox wrapper (faults, latency, counts) with this platform's auth
    and its problem-details error shape."""
    return kit_endpoint(
        PLATFORM,
        template,
        methods=methods,
        error=_error,
        authenticate=token_problem if authenticated else None,
        is_token_endpoint=not authenticated,
    )


# --- representations ------------------------------------------------------------------


def space_json(space: Space) -> dict:
    return {
        "id": str(space.uuid),
        "name": space.name,
        "addressLineOne": space.address_line_one,
        "addressLineTwo": space.address_line_two,
        "postcode": space.postcode,
        "city": space.city,
        "category": space.category,
        "parentSpaceId": str(space.parent.uuid) if space.parent_id else None,
        "isParticipatingInLttProject": space.is_participating_in_ltt_project,
    }


def device_json(device: Device) -> dict:
    external = device.external_device_id
    return {
        "id": str(device.uuid),
        "name": device.name,
        "status": device.status,
        "externalDeviceIds": [external] if external else [],
        # Deprecated in the spec but still filled, as old clients read it.
        "externalDeviceId": external,
        "deviceType": device.device_type,
        "medium": device.medium,
        "isMainDevice": device.is_main_device,
        "spaceId": str(device.space.uuid),
        "meteringLocationId": device.metering_location_id,
        "serialNumber": device.serial_number,
        "conversionFactor": device.conversion_factor,
        "excludedFromCost": device.excluded_from_cost,
    }


def _page(queryset, query, key: str, to_json):
    errors, page, size = validation.check_paging(query)
    if errors:
        return validation_problem(errors)
    total = queryset.count()
    items = queryset[page * size : (page + 1) * size]
    return json_ok({key: [to_json(i) for i in items], "totalNumPages": math.ceil(total / size)})


def _route_uuid(value: str, name: str):
    """The GUID in the route, or the 400 ASP.NET's model binding gives for a bad one."""
    parsed = validation.parse_uuid(value)
    if parsed is None:
        return None, validation_problem({name: [f"The value '{value}' is not valid."]})
    return parsed, None


def _find_space(space_id: str):
    """(space, None) or (None, error response)."""
    parsed, error = _route_uuid(space_id, "spaceId")
    if error:
        return None, error
    space = Space.objects.filter(uuid=parsed).select_related("parent").first()
    if space is None:
        return None, not_found("Space", space_id)
    return space, None


def _resolve_parent(clean: dict, errors: dict, space: Space | None = None) -> Space | None:
    parent_uuid = clean.pop("parent_uuid", None)
    if parent_uuid is None:
        return None
    parent = Space.objects.filter(uuid=parent_uuid).first()
    if parent is None:
        # 400 rather than 404: the resource addressed by the URL exists, the body
        # refers to something that does not, which is a validation error of the body.
        errors.setdefault("ParentSpaceId", []).append(f"Space '{parent_uuid}' does not exist.")
        return None
    if space is not None:
        # A space may not move below itself or one of its descendants (the tree would
        # become a cycle); the platform surely refuses that too.
        node = parent
        while node is not None:
            if node.pk == space.pk:
                errors.setdefault("ParentSpaceId", []).append(
                    "A space cannot be its own parent or the child of one of its descendants."
                )
                return None
            node = node.parent
    return parent


# --- auth -----------------------------------------------------------------------------


@api_endpoint("/auth/token", methods=("POST",), authenticated=False)
def token(request):
    data = parse_json(request)
    if not isinstance(data, dict):
        return validation_problem({"$": ["The JSON value could not be converted to an object."]})
    errors = {}
    for field in ("clientId", "clientSecret"):
        value = data.get(field)
        if not isinstance(value, str) or not value:
            errors[validation.pascal(field)] = [
                f"The {validation.pascal(field)} field is required."
            ]
    if errors:
        return validation_problem(errors)
    if not credentials_ok(data["clientId"], data["clientSecret"]):
        return problem(401, detail="Invalid client credentials.")
    return json_ok({"accessToken": issue_token()})


# --- spaces ---------------------------------------------------------------------------


@api_endpoint("/spaces", methods=("GET", "POST"))
def spaces(request):
    if request.method == "GET":
        return _page(Space.objects.select_related("parent"), request.GET, "spaces", space_json)
    errors, clean = validation.check_space(parse_json(request))
    parent = _resolve_parent(clean, errors)
    if errors:
        return validation_problem(errors)
    space = Space.objects.create(parent=parent, **clean)
    # 200 with the id, as ASP.NET's `Ok(...)`; see the module docstring.
    return json_ok({"spaceId": str(space.uuid)})


@api_endpoint("/spaces/{spaceId}", methods=("PUT", "DELETE"))
def space_detail(request, space_id):
    space, error = _find_space(space_id)
    if error:
        return error
    if request.method == "DELETE":
        # Devices (with their readings), invites and child spaces go with it (CASCADE).
        space.delete()
        return empty_ok()
    # PUT replaces the space: the same required fields as a create.
    errors, clean = validation.check_space(parse_json(request))
    parent = _resolve_parent(clean, errors, space)
    if errors:
        return validation_problem(errors)
    for field, value in clean.items():
        setattr(space, field, value)
    space.parent = parent
    space.save()
    return empty_ok()


# --- devices --------------------------------------------------------------------------


@api_endpoint("/spaces/{spaceId}/devices", methods=("GET", "POST"))
def space_devices(request, space_id):
    space, error = _find_space(space_id)
    if error:
        return error
    if request.method == "GET":
        devices = space.devices.select_related("space")
        return _page(devices, request.GET, "devices", device_json)
    errors, clean = validation.check_device(parse_json(request))
    if errors:
        return validation_problem(errors)
    external = clean["external_device_id"]
    conflict = problem(
        409,
        detail=f"A device with externalDeviceId '{external}' already exists.",
        errors={"ExternalDeviceId": [f"'{external}' is already used by another device."]},
    )
    # The guide lets readings address a device by its external id, so the platform
    # must keep it unique per partner; a second device with it is a 409 Conflict (the
    # guide is silent on the code; 409 is what such a uniqueness clash plausibly gets).
    if external and Device.objects.filter(external_device_id=external).exists():
        return conflict
    try:
        with transaction.atomic():
            device = Device.objects.create(space=space, **clean)
    except IntegrityError:  # a concurrent create took the external id first
        return conflict
    return json_ok({"deviceId": str(device.uuid)})


@api_endpoint("/devices/{deviceId}", methods=("DELETE",))
def device_detail(request, device_id):
    parsed, error = _route_uuid(device_id, "deviceId")
    if error:
        return error
    deleted, _ = Device.objects.filter(uuid=parsed).delete()
    if not deleted:
        return not_found("Device", device_id)
    return empty_ok()


def _find_device(batch: dict, errors: dict) -> Device | None:
    prefix = batch["prefix"]
    device = None
    if batch["device_id"] is not None:
        parsed = validation.parse_uuid(batch["device_id"])
        device = Device.objects.filter(uuid=parsed).first() if parsed else None
        if device is None:
            errors.setdefault(f"{prefix}.DeviceId", []).append(
                f"Device '{batch['device_id']}' does not exist."
            )
            return None
    if batch["external_device_id"] is not None:
        by_external = Device.objects.filter(external_device_id=batch["external_device_id"]).first()
        if by_external is None:
            errors.setdefault(f"{prefix}.ExternalDeviceId", []).append(
                f"No device has externalDeviceId '{batch['external_device_id']}'."
            )
            return None
        if device is not None and device.pk != by_external.pk:
            errors.setdefault(prefix, []).append(
                "deviceId and externalDeviceId refer to different devices."
            )
            return None
        device = by_external
    return device


@api_endpoint("/devices/readings", methods=("POST",))
def readings(request):
    errors, batches = validation.check_readings(parse_json(request))
    devices = []
    for batch in batches:
        if batch["device_id"] is None and batch["external_device_id"] is None:
            continue  # already reported by the validation
        devices.append((_find_device(batch, errors), batch))
    # One bad entry rejects the whole batch (400, nothing stored): a partial import the
    # client cannot see would be worse than a clear error naming the entry. An unknown
    # device is a 400 too, as it is a field of the body, not the addressed resource.
    if errors:
        return validation_problem(errors)
    with transaction.atomic():
        for device, batch in devices:
            for reading in batch["readings"]:
                # Re-sending the same reading (device, OBIS code, time) replaces it, so
                # a client that retries after a timeout does not double its data.
                Reading.objects.update_or_create(
                    device=device,
                    obis_code=reading["obis_code"],
                    timestamp=reading["timestamp"],
                    defaults={
                        "value": reading["value"],
                        "status": reading["status"],
                        "metering_interval": reading["metering_interval"],
                    },
                )
    return empty_ok()


# --- invites --------------------------------------------------------------------------


@api_endpoint("/spaces/{spaceId}/invites", methods=("POST",))
def space_invites(request, space_id):
    space, error = _find_space(space_id)
    if error:
        return error
    errors, clean = validation.check_invite(parse_json(request))
    if errors:
        return validation_problem(errors)
    token = secrets.token_urlsafe(24)
    link = request.build_absolute_uri(reverse("zaehlerfreunde_sandbox:invite", args=[token]))
    invite = Invite.objects.create(space=space, token=token, link=link, **clean)
    if invite.send_invite_email:
        _send_invite_email(invite)
    return json_ok({"inviteLink": link})


def _send_invite_email(invite: Invite) -> None:
    subject = f"Einladung zu Zählerfreunde: {invite.space.name}"
    body = (
        "Hallo,\n\n"
        f"Sie wurden eingeladen, auf den Space „{invite.space.name}“ "
        f"({invite.space.address_line_one}, {invite.space.postcode} {invite.space.city}) "
        "bei Zählerfreunde zuzugreifen.\n\n"
        f"Einladung annehmen: {invite.link}\n\n"
        "Ihr Zählerfreunde-Team (Sandbox)\n"
    )
    # A sandbox never sends real e-mail (it would relay anyone's wording from the
    # utility's address): the "sent" e-mail is kept for the trainer page and /emails.
    SentEmail.objects.create(invite=invite, to=invite.user_email, subject=subject, body=body)


def invite_page(request, token):
    """Where an invite link leads: the platform's "accept your invite" page, in small."""
    invite = get_object_or_404(Invite.objects.select_related("space"), token=token)
    return render(request, "zaehlerfreunde_sandbox/invite.html", {"invite": invite})
