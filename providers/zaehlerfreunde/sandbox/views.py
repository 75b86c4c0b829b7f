"""The partner API's token, spaces and readings (`/partner/...`), as the guide and the
public spec describe them; devices are in device_views, users and invites in
user_views. The conventions all views share are in api.py."""

from django.db import transaction
from django.db.models import ProtectedError

from . import options, validation
from .api import api_endpoint, find_space, page
from .auth import credentials_ok, issue_token
from .models import Device, Reading, Space
from .problems import empty_ok, json_ok, parse_json, problem, validation_problem
from .representations import space_json

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


def _parent(parent_uuid, errors: dict, space: Space | None = None) -> Space | None:
    """The parent space named in a body, or None with the reason added to `errors`."""
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


def _postcode_problem(clean: dict):
    if not options.current().dach_postcodes_only:
        return None  # the spec's postcode is any string
    reason = validation.check_postcode(clean.get("postcode"))
    if reason is None:
        return None
    return problem(
        400, detail="The postcode must have 4 or 5 digits.", errors={"Postcode": [reason]}
    )


def _listed_spaces():
    return Space.objects.select_related("parent").prefetch_related("memberships__user")


@api_endpoint("/spaces", methods=("GET", "POST"))
def spaces(request):
    if request.method == "GET":
        return page(_listed_spaces(), request.GET, "spaces", space_json)
    errors, clean = validation.check_space(parse_json(request))
    parent_uuid = clean.pop("parent_uuid", None)
    parent = _parent(parent_uuid, errors) if parent_uuid else None
    if errors:
        return validation_problem(errors)
    if refusal := _postcode_problem(clean):
        return refusal
    space = Space.objects.create(parent=parent, **clean)
    # 200 with the id, as ASP.NET's `Ok(...)`; see api.py.
    return json_ok({"spaceId": str(space.uuid)})


@api_endpoint("/spaces/{spaceId}", methods=("PUT", "DELETE"))
def space_detail(request, space_id):
    space, error = find_space(space_id)
    if error:
        return error
    if request.method == "DELETE":
        return _delete_space(space, space_id)
    return _update_space(request, space)


def _update_space(request, space: Space):
    """UpdateSpace: only the fields sent change; null clears addressLineTwo/parentSpaceId."""
    errors, clean = validation.check_space_update(parse_json(request))
    parent_sent = "parent_uuid" in clean
    parent_uuid = clean.pop("parent_uuid", None)
    parent = _parent(parent_uuid, errors, space) if parent_uuid else None
    if errors:
        return validation_problem(errors)
    if refusal := _postcode_problem(clean):
        return refusal
    for field, value in clean.items():
        setattr(space, field, value)
    if parent_sent:
        space.parent = parent  # None when parentSpaceId was null: now a building
    space.save()
    # The spec answers the update with SpaceId.
    return json_ok({"spaceId": str(space.uuid)})


def _delete_space(space: Space, space_id: str):
    """The spec: "The devices connected to the space are also deleted." Nothing more.

    - Sub-spaces: refused with 409 while the space has any (see models.py: a
      self-referencing foreign key cannot cascade). A client deletes bottom-up.
    - Devices linked to the space are deleted (with their readings and their links to
      any other space): the spec's sentence read literally, the harsher reading, so a
      client that wants to keep a device moves it out first (unlink).
    - Invites go with their space (a required foreign key cascades in EF Core): their
      links then lead to "no longer valid". Memberships go too; users stay.
    """
    units = space.children.count()
    conflict = problem(
        409,
        detail=(
            f"Space '{space_id}' still has {units} sub-space(s); delete them or give them "
            "another parent first."
        ),
    )
    if units:
        return conflict
    try:
        with transaction.atomic():
            Device.objects.filter(links__space=space).delete()
            space.delete()
    except ProtectedError:  # a unit was added between the count and the delete
        return conflict
    return empty_ok()


# --- readings -------------------------------------------------------------------------


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
    unit = options.current().timestamp_unit
    errors, batches = validation.check_readings(parse_json(request), timestamp_unit=unit)
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
