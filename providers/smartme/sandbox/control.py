"""The sandbox's control side and trainer page.

Faults, latency, token expiry, reset and state come from the shared sandbox kit (staff
login or the X-Sandbox-Token header). This module adds the account's state, the trainer
page, and `_sandbox/devices` to add, change or remove a device the way a utility's
staff would on smart-me, so tests and trainers can change what the catalogue sees:

- `POST   _sandbox/devices`       {"Name", "DeviceEnergyType", "Serial"?, "GatewayId"?, …}
- `PATCH  _sandbox/devices/<id>`  any of those fields, and measured values
  ("CounterReading", "CounterReadingUnit", …, "ValueDate"); a new value without a
  ValueDate is dated now
- `DELETE _sandbox/devices/<id>`
- `GET`/`POST _sandbox/rate_limit` {"requests": 600, "per_seconds": 60}: the API's
  limit (throttle.py; 0 requests = none), with how many were refused
"""

import uuid

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers.sandbox_kit import tokens
from providers.sandbox_kit.control import (
    bad,
    control_access,
    control_urls,
    json_body,
)
from providers.sandbox_kit.panel import control_panel

from ..values import ENERGY_TYPES, MBUS_GATEWAY, parse_value_date
from . import auth, seed, throttle
from .models import AccessToken, Device
from .serialize import READING_FIELDS, device_json, gateway_json
from .views import PLATFORM

UNIT_FIELDS = {name for name in READING_FIELDS if name.endswith("Unit")}


def _state(request) -> dict:
    seed.ensure_seeded()
    devices = list(Device.objects.select_related("gateway"))
    gateways = [d for d in devices if d.energy_type == MBUS_GATEWAY]
    return {
        "counts": {
            "devices": len(devices),
            "gateways": len(gateways),
            "tokens_valid": tokens.valid_count(AccessToken),
        },
        "devices": [
            {**device_json(d), "GatewayId": str(d.gateway.uuid) if d.gateway_id else None}
            for d in devices
        ],
        "gateways": [gateway_json(g) for g in gateways],
    }


def _reset() -> None:
    seed.reset()
    throttle.RateLimit.objects.all().delete()


urls = control_urls(PLATFORM, state=_state, reset=_reset, expire_tokens=auth.expire_all)


# --- add, change, remove a device ------------------------------------------------------


def _apply(device: Device, data: dict, *, creating: bool) -> dict[str, list[str]]:
    """Copy the fields given onto `device`; returns the errors (nothing saved)."""
    errors: dict[str, list[str]] = {}
    if "Name" in data or creating:
        name = data.get("Name")
        if not isinstance(name, str) or not name.strip():
            errors["Name"] = ["Name must be a non-empty string."]
        else:
            device.name = name.strip()[:200]
    if "DeviceEnergyType" in data or creating:
        kind = data.get("DeviceEnergyType")
        if not isinstance(kind, int) or isinstance(kind, bool) or kind not in ENERGY_TYPES:
            errors["DeviceEnergyType"] = [f"DeviceEnergyType must be one of {list(ENERGY_TYPES)}."]
        else:
            device.energy_type = kind
    for name, attribute in (("Serial", "serial"), ("FamilyType", "family_type")):
        if name in data:
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors[name] = [f"{name} must be a non-negative integer."]
            else:
                setattr(device, attribute, value)
    if "GatewayId" in data:
        gateway_id = data["GatewayId"]
        gateway = None
        if gateway_id is not None:
            try:
                gateway = Device.objects.filter(
                    uuid=uuid.UUID(str(gateway_id)), energy_type=MBUS_GATEWAY
                ).first()
            except ValueError:
                gateway = None
            if gateway is None:
                errors["GatewayId"] = ["GatewayId must be the Id of an M-Bus gateway."]
        device.gateway = gateway
    if "SecondaryAddress" in data:
        device.secondary_address = str(data["SecondaryAddress"] or "")[:32]
    readings = dict(device.readings)
    measured = False
    for name in READING_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if value is None:
            readings.pop(name, None)
        elif name in UNIT_FIELDS and isinstance(value, str):
            readings[name] = value
        elif (
            name not in UNIT_FIELDS
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            readings[name] = value
            measured = True
        else:
            errors[name] = [f"{name} must be {'a string' if name in UNIT_FIELDS else 'a number'}."]
    device.readings = readings
    if "ValueDate" in data:
        try:
            device.value_date = parse_value_date(data["ValueDate"])
        except ValueError:
            errors["ValueDate"] = ["ValueDate must look like 2026-03-22T05:30:00.0000000Z."]
    elif measured or creating:
        device.value_date = timezone.now()
    return errors


@control_access
@require_POST
def add_device(request):
    seed.ensure_seeded()
    data = json_body(request)
    if not isinstance(data, dict):
        return bad({"$": ["Expected a JSON object."]})
    device = Device(uuid=uuid.uuid4())
    if "Id" in data:
        try:
            device.uuid = uuid.UUID(str(data["Id"]))
        except ValueError:
            return bad({"Id": ["Id must be a UUID."]})
        if Device.objects.filter(uuid=device.uuid).exists():
            return bad({"Id": ["A device with this Id exists."]})
    errors = _apply(device, data, creating=True)
    if errors:
        return bad(errors)
    device.save()
    return JsonResponse(device_json(device), status=201)


@control_access
@require_http_methods(["GET", "PATCH", "DELETE"])
def change_device(request, device_id: str):
    seed.ensure_seeded()
    try:
        device = Device.objects.filter(uuid=uuid.UUID(device_id)).first()
    except ValueError:
        device = None
    if device is None:
        return JsonResponse({"errors": {"Id": ["No such device."]}}, status=404)
    if request.method == "DELETE":
        device.delete()
        return JsonResponse({"deleted": device_id})
    if request.method == "PATCH":
        data = json_body(request)
        if not isinstance(data, dict):
            return bad({"$": ["Expected a JSON object."]})
        errors = _apply(device, data, creating=False)
        if errors:
            return bad(errors)
        device.save()
    return JsonResponse(device_json(device))


@control_access
@require_http_methods(["GET", "POST"])
def rate_limit(request):
    if request.method == "POST":
        data = json_body(request)
        requests = data.get("requests") if isinstance(data, dict) else None
        seconds = data.get("per_seconds") if isinstance(data, dict) else None
        if not isinstance(requests, int) or isinstance(requests, bool) or requests < 0:
            return bad({"requests": ["requests must be an integer, 0 for no limit."]})
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            return bad({"per_seconds": ["per_seconds must be a positive number."]})
        throttle.configure(requests, float(seconds))
    return JsonResponse(throttle.settings_json())


device_urls = [
    path("_sandbox/rate_limit", rate_limit, name="rate-limit"),
    path("_sandbox/devices", add_device, name="add-device"),
    path("_sandbox/devices/<str:device_id>", change_device, name="device"),
]


# --- trainer page ---------------------------------------------------------------------


@control_access
@require_GET
def index(request):
    seed.ensure_seeded()
    devices = list(Device.objects.select_related("gateway"))
    behind: dict[int, list[Device]] = {}
    for device in devices:
        if device.gateway_id:
            behind.setdefault(device.gateway_id, []).append(device)
    rows = []
    for device in devices:
        if device.gateway_id:
            continue  # listed under its gateway
        rows.append({"device": device, "depth": 0})
        rows += [{"device": meter, "depth": 1} for meter in behind.get(device.pk, [])]
    for row in rows:
        row["json"] = device_json(row["device"])
        row["energy"] = ENERGY_TYPES.get(row["device"].energy_type, "?")
    root = request.build_absolute_uri(reverse("smartme_sandbox:index")).rstrip("/")
    return render(
        request,
        "smartme_sandbox/index.html",
        {
            "rows": rows,
            "panel": control_panel(
                PLATFORM,
                base_url=root,
                control_url=root + "/_sandbox",
                extra_controls="devices (POST to add, PATCH/DELETE devices/<Id>)",
                stands_for="https://api.smart-me.com",
            ),
            "client_id": settings.SANDBOX_CLIENT_ID,
            "tokens_valid": tokens.valid_count(AccessToken),
        },
    )
