"""Devices: create in a space, list a space's devices, change details, link to and
unlink from spaces, delete.

A device may be linked to several spaces or to none (see models.py); it keeps its id
and its readings through any link and unlink, and only `DELETE /devices/{id}` (or the
delete of a space it is linked to) removes it.
"""

from django.db import IntegrityError, transaction
from django.db.models import Max, Min

from . import validation
from .api import api_endpoint, find_device, find_space, page
from .models import Device, SpaceDevice
from .problems import empty_ok, json_ok, parse_json, problem, validation_problem
from .representations import device_json


def _conflict(external: str):
    # The guide lets readings address a device by its external id, so the platform
    # must keep it unique per partner; a second device with it is a 409 Conflict (the
    # guide is silent on the code; 409 is what such a uniqueness clash plausibly gets).
    return problem(
        409,
        detail=f"A device with externalDeviceId '{external}' already exists.",
        errors={"ExternalDeviceId": [f"'{external}' is already used by another device."]},
    )


def _not_linked(device_id: str, space_id: str):
    return problem(404, detail=f"Device '{device_id}' is not linked to space '{space_id}'.")


def _one_main_device(link: SpaceDevice) -> None:
    """NewDevice: "If true, this device is set as THE main device of the space", and
    `GET /spaces/{id}/readings` reads "the main device of the space" for one medium.
    So one main device per space and medium: a new one demotes the previous one."""
    if not link.is_main_device:
        return
    SpaceDevice.objects.filter(
        space_id=link.space_id, is_main_device=True, device__medium=link.device.medium
    ).exclude(pk=link.pk).update(is_main_device=False)


@api_endpoint("/spaces/{spaceId}/devices", methods=("GET", "POST"))
def space_devices(request, space_id):
    space, error = find_space(space_id)
    if error:
        return error
    if request.method == "GET":
        links = space.device_links.select_related("device").annotate(
            first_reading=Min("device__readings__timestamp"),
            latest_reading=Max("device__readings__timestamp"),
        )
        return page(links, request.GET, "devices", device_json)
    errors, clean = validation.check_device(parse_json(request))
    if errors:
        return validation_problem(errors)
    external = clean["device"]["external_device_id"]
    if external and Device.objects.filter(external_device_id=external).exists():
        return _conflict(external)
    try:
        with transaction.atomic():
            device = Device.objects.create(**clean["device"])
            link = SpaceDevice.objects.create(space=space, device=device, **clean["link"])
            _one_main_device(link)
    except IntegrityError:  # a concurrent create took the external id first
        return _conflict(external)
    return json_ok({"deviceId": str(device.uuid)})


@api_endpoint("/spaces/{spaceId}/devices/{deviceId}", methods=("POST", "DELETE"))
def space_device(request, space_id, device_id):
    """Link an existing device to a space (body optional) / unlink it without deleting."""
    space, error = find_space(space_id)
    if error:
        return error
    device, error = find_device(device_id)
    if error:
        return error
    if request.method == "DELETE":
        removed, _ = SpaceDevice.objects.filter(space=space, device=device).delete()
        # Not linked: 404, which a client deleting the link may take as "already done".
        return empty_ok() if removed else _not_linked(device_id, space_id)

    errors, flags = validation.check_link(parse_json(request) if request.body else {})
    if errors:
        return validation_problem(errors)
    with transaction.atomic():
        # Linking a device that is already linked is not an error: it sets the flags
        # sent (a client retrying after a timeout must not fail). New links take the
        # spec's defaults (false) for flags not sent.
        link = SpaceDevice.objects.filter(space=space, device=device).first()
        if link is None:
            try:
                with transaction.atomic():
                    link = SpaceDevice.objects.create(space=space, device=device, **flags)
            except IntegrityError:  # a concurrent link of the same pair
                link = SpaceDevice.objects.get(space=space, device=device)
        elif flags:
            for field, value in flags.items():
                setattr(link, field, value)
            link.save(update_fields=list(flags))
        _one_main_device(link)
    return empty_ok()


@api_endpoint("/spaces/{spaceId}/devices/{deviceId}/details", methods=("POST",))
def device_details(request, space_id, device_id):
    """DeviceDetails: only the fields sent change; type and medium cannot."""
    space, error = find_space(space_id)
    if error:
        return error
    device, error = find_device(device_id)
    if error:
        return error
    link = SpaceDevice.objects.filter(space=space, device=device).select_related("device").first()
    if link is None:
        return _not_linked(device_id, space_id)
    errors, clean = validation.check_device_details(parse_json(request))
    if errors:
        return validation_problem(errors)
    external = clean["device"].get("external_device_id")
    others = Device.objects.filter(external_device_id=external).exclude(pk=device.pk)
    if external and others.exists():
        return _conflict(external)
    try:
        with transaction.atomic():
            for field, value in clean["device"].items():
                setattr(device, field, value)
            if clean["device"]:
                device.save(update_fields=list(clean["device"]))
            for field, value in clean["link"].items():
                setattr(link, field, value)
            if clean["link"]:
                link.save(update_fields=list(clean["link"]))
            link.device = device
            _one_main_device(link)
    except IntegrityError:
        return _conflict(external)
    return empty_ok()


@api_endpoint("/devices/{deviceId}", methods=("DELETE",))
def device_detail(request, device_id):
    device, error = find_device(device_id)
    if error:
        return error
    device.delete()  # its links and readings with it
    return empty_ok()
