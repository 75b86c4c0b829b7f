"""The zevvy API (`/sandbox/zevvy/api/...`), as the guide and NOTES.md describe it.

The guide documents creating a device (`name`, optional `reference`, JSON, bearer token)
and `_bulk_create` of measurements by `deviceName`/`registerName`, which creates missing
devices and registers; NOTES.md adds `POST /deviceRef/{ref}/registerRef/{ref}/
measurements/_bulk_create` (201, or 409 for readings already there). Where the guide is
silent, the sandbox does what a Spring Boot REST service plausibly does and says so:
- `POST /devices` answers 201 with the device; a reference already in use is a 409;
- `GET /devices?reference=&page=&size=` answers a Spring page (`content`, `page`);
- `GET`/`PUT`/`DELETE /devices/{id}` (the `device` scope is "for managing devices");
  DELETE removes the device's registers and measurements with it;
- each endpoint needs its scope (`device`, or `measurement` for measurements), else 403;
- a `_bulk_create` is one transaction: NOTES.md documents its 409 as "readings it
  already has", so a batch holding any measurement it already has (same register and
  time) is refused whole with 409 and stores nothing, new ones included; otherwise all
  are stored, 201. (A client must not take a 409 for "all stored".)
- the device listing, update and delete appear in no public source: `_sandbox/api`
  `{"unpublished_device_calls": false}` answers them as a zevvy without them would
  (405 for `GET /devices`, Spring's plain 404 for `/devices/{id}`).
"""

import math
import uuid as uuidlib

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse

from providers.sandbox_kit.endpoint import Answer, api_endpoint

from . import authserver, validation
from .models import ApiSettings, Device, Measurement, Register
from .problems import api_error, json_body, validation_error

PLATFORM = "zevvy"


def _endpoint(template: str, methods: tuple[str, ...]):
    return api_endpoint(
        PLATFORM,
        template,
        methods=methods,
        error=api_error,
        authenticate=authserver.access_token_problem,
    )


def _require_scope(request, scope: str) -> None:
    if scope not in getattr(request, "zevvy_scopes", set()):
        raise Answer(api_error(403, f"The access token lacks the scope '{scope}'."))


def device_json(device: Device) -> dict:
    return {
        "id": str(device.uuid),
        "name": device.name,
        "reference": device.reference,
        "createdAt": device.created_at.isoformat().replace("+00:00", "Z"),
        "registers": [
            {"id": str(r.uuid), "name": r.name, "reference": r.reference}
            for r in device.registers.all()
        ],
    }


def _unpublished_refused(request) -> None:
    """Answer as a zevvy that offers only the published device create (ApiSettings)."""
    config = ApiSettings.objects.filter(pk=1).first()
    if config is None or config.unpublished_device_calls:
        return
    if request.path.rstrip("/").endswith("/devices"):
        response = api_error(405, "Request method 'GET' is not supported")
        response["Allow"] = "POST"
        raise Answer(response)
    # Spring Boot's answer for a path it does not route: no message of its own.
    response = api_error(404, "")
    raise Answer(response)


def _reference_taken(reference: str) -> JsonResponse:
    return api_error(409, f"A device with reference '{reference}' already exists.")


# --- devices ------------------------------------------------------------------------------


@_endpoint("/devices", ("GET", "POST"))
def devices(request):
    _require_scope(request, "device")
    if request.method == "GET":
        _unpublished_refused(request)
        errors, page, size = validation.check_paging(request.GET)
        if errors:
            return validation_error(errors)
        found = Device.objects.prefetch_related("registers")
        if "reference" in request.GET:
            found = found.filter(reference=request.GET["reference"])
        total = found.count()
        items = found[page * size : (page + 1) * size]
        return JsonResponse(
            {
                "content": [device_json(d) for d in items],
                "page": {
                    "size": size,
                    "number": page,
                    "totalElements": total,
                    "totalPages": math.ceil(total / size),
                },
            }
        )
    errors, clean = validation.check_device(json_body(request))
    if errors:
        return validation_error(errors)
    if clean["reference"] and Device.objects.filter(reference=clean["reference"]).exists():
        return _reference_taken(clean["reference"])
    try:
        with transaction.atomic():
            device = Device.objects.create(**clean)
    except IntegrityError:  # a concurrent create took the reference first
        return _reference_taken(clean["reference"])
    return JsonResponse(device_json(device), status=201)


def _find_device(device_id: str) -> Device:
    try:
        parsed = uuidlib.UUID(device_id)
    except ValueError:
        raise Answer(api_error(400, f"'{device_id}' is not a valid device id.")) from None
    device = Device.objects.prefetch_related("registers").filter(uuid=parsed).first()
    if device is None:
        raise Answer(api_error(404, f"Device '{device_id}' not found."))
    return device


@_endpoint("/devices/{id}", ("GET", "PUT", "DELETE"))
def device_detail(request, device_id):
    _require_scope(request, "device")
    _unpublished_refused(request)
    device = _find_device(device_id)
    if request.method == "GET":
        return JsonResponse(device_json(device))
    if request.method == "DELETE":
        device.delete()  # its registers and measurements go with it
        return HttpResponse(status=204)
    # PUT replaces the device's fields: a reference left out is removed.
    errors, clean = validation.check_device(json_body(request))
    if errors:
        return validation_error(errors)
    reference = clean["reference"]
    if reference and Device.objects.filter(reference=reference).exclude(pk=device.pk).exists():
        return _reference_taken(reference)
    device.name, device.reference = clean["name"], reference
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        return _reference_taken(reference)
    return JsonResponse(device_json(device))


# --- measurements -------------------------------------------------------------------------


def _store(pairs: list[tuple[Register, dict]]) -> JsonResponse:
    """All or nothing: 409 if any measurement is already there (NOTES.md: "readings it
    already has"), storing none of the batch; else 201 with all stored. Called inside
    the view's transaction, which the 409 rolls back (registers made for it included)."""
    if len({(r.pk, e["read_at"]) for r, e in pairs}) < len(pairs):
        transaction.set_rollback(True)
        return api_error(400, "The batch names one register and time more than once.")
    existing = sum(
        Measurement.objects.filter(register=register, read_at=entry["read_at"]).exists()
        for register, entry in pairs
    )
    if existing:
        transaction.set_rollback(True)
        return api_error(
            409, f"{existing} of {len(pairs)} measurements already exist; none was stored."
        )
    Measurement.objects.bulk_create(
        [Measurement(register=r, read_at=e["read_at"], value=e["value"]) for r, e in pairs]
    )
    return JsonResponse({"created": len(pairs)}, status=201)


@_endpoint("/measurements/_bulk_create", ("POST",))
def bulk_create_by_name(request):
    _require_scope(request, "measurement")
    errors, entries = validation.check_measurements(json_body(request), by_name=True)
    if errors:
        return validation_error(errors)
    with transaction.atomic():
        devices: dict[str, Device] = {}
        registers: dict[tuple[str, str], Register] = {}
        pairs = []
        for index, entry in enumerate(entries):
            name = entry["device_name"]
            if name not in devices:
                matches = list(Device.objects.filter(name=name)[:2])
                if len(matches) > 1:
                    # Answered before anything is stored (the transaction rolls back).
                    transaction.set_rollback(True)
                    return validation_error(
                        [
                            {
                                "field": f"[{index}].deviceName",
                                "message": f"more than one device is named '{name}'; "
                                "use the deviceRef form",
                            }
                        ]
                    )
                # The guide: "If not, the device or register is automatically created."
                devices[name] = matches[0] if matches else Device.objects.create(name=name)
            key = (name, entry["register_name"])
            if key not in registers:
                registers[key], _ = Register.objects.get_or_create(
                    device=devices[name], name=entry["register_name"]
                )
            pairs.append((registers[key], entry))
        return _store(pairs)


@_endpoint("/deviceRef/{deviceRef}/registerRef/{registerRef}/measurements/_bulk_create", ("POST",))
def bulk_create_by_ref(request, device_ref, register_ref):
    _require_scope(request, "measurement")
    errors, entries = validation.check_measurements(json_body(request), by_name=False)
    errors = (
        validation.reference_errors(device_ref, "deviceRef")
        + validation.reference_errors(register_ref, "registerRef")
        + errors
    )
    if errors:
        return validation_error(errors)
    device = Device.objects.filter(reference=device_ref).first()
    if device is None:
        # Unlike the name form, the reference form addresses a device that must exist
        # (it is the client's key for a device it created); its register is created.
        return api_error(404, f"No device with reference '{device_ref}'.")
    with transaction.atomic():
        register = Register.objects.filter(device=device, reference=register_ref).first()
        if register is None:
            # A register the name form made under this name becomes this reference's.
            register = Register.objects.filter(
                device=device, name=register_ref, reference__isnull=True
            ).first()
            if register is not None:
                register.reference = register_ref
                register.save(update_fields=["reference"])
        if register is None:
            register = Register.objects.create(
                device=device, name=register_ref, reference=register_ref
            )
        return _store([(register, entry) for entry in entries])
