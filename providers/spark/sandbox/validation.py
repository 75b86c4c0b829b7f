"""Checks of request bodies, field by field, with ASP.NET-style messages.

Each `check_*` returns (errors, clean): errors maps a JSON path (`address.zipCode`) to
its messages; clean holds the values to store. Where the guide shows a field without
saying whether it is required, the sandbox requires what identifies the object (its key,
a meter's address) and lets the descriptive rest be optional, and says so below.
"""

import re
from urllib.parse import urlsplit

from providers.sandbox_kit import targets

# Spark's resource docs and reference spec (see client.RESOURCE_TYPES); Vehicle has its
# own endpoint.
RESOURCE_TYPES = {
    "HotWaterTank",
    "HeatPump",
    "Battery",
    "ElectricBoiler",
    "Charger",
    "HVAC",
    "SolarInverter",
    "Generic",
}
# Spark's reference spec: LocationType. Unknown is what ASP.NET binds when it is absent.
LOCATION_TYPES = {"Residential", "Commercial", "Other", "Unknown"}
# The current API's notification types (reference spec), the guide's event types and
# operations (compared case-insensitively: the guide writes both `Create` and `create`).
NOTIFICATION_TYPES = {
    "PriceCurveCreated",
    "UserEligibilityUpdated",
    "LocationLPCRequested",
    "ResourceLPCRequested",
    "LPCReservationCreated",
}
EVENT_TYPES = {"pricedelta": "PriceDelta"}
OPERATIONS = {"create": "Create", "update": "Update", "delete": "Delete"}
REPORT_PAYLOAD_TYPES = {"VehicleChargeAction"}
ACTION_TYPES = {"Start", "Stop"}
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
MAX_TEXT = 200
MAX_PAGE_SIZE = 1000  # the reference spec: "Maximum pageSize is 1000"


class Checker:
    """Collects errors per JSON path while reading values out of a body."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def obj(self, data, path: str, *, required: bool = True) -> dict | None:
        if data is None:
            if required:
                self.add(path, f"The {path} field is required.")
            return None
        if not isinstance(data, dict):
            self.add(path, f"The JSON value at {path} must be an object.")
            return None
        return data

    def text(self, data: dict, key: str, path: str, *, required=True, limit=MAX_TEXT) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.add(path, f"The {key} field is required.")
            return ""
        if not isinstance(value, str):
            self.add(path, f"The JSON value at {path} must be a string.")
            return ""
        value = value.strip()
        if required and not value:
            self.add(path, f"The {key} field is required.")
        if len(value) > limit:
            self.add(path, f"The {key} field must be at most {limit} characters long.")
        return value

    def number(self, data: dict, key: str, path: str, *, low, high, required=False, integer=False):
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, f"The {key} field is required.")
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and integer:
            ok = isinstance(value, int) or float(value).is_integer()
        if not ok:
            kind = "an integer" if integer else "a number"
            self.add(path, f"The JSON value at {path} must be {kind}.")
            return None
        if not low <= value <= high:
            self.add(path, f"The {key} field must be between {low} and {high}.")
            return None
        return int(value) if integer else value

    def choice(self, data: dict, key: str, path: str, allowed, *, required=True, default=None):
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, f"The {key} field is required.")
            return default
        if value not in allowed:
            self.add(
                path, f"'{value}' is not a valid {key}; use one of {', '.join(sorted(allowed))}."
            )
            return default
        return value


def check_meter(data) -> tuple[dict, dict]:
    """The guide's meter: address (street, city, zipCode), location (latitude,
    longitude), meterPointId, meterNumber, locationType. Required: meterPointId (the key
    DSOs pay incentives by) and the address; the rest is descriptive and optional."""
    c = Checker()
    body = c.obj(data, "$") or {}
    clean = {"meter_point_id": c.text(body, "meterPointId", "meterPointId", limit=100)}
    clean["meter_number"] = c.text(body, "meterNumber", "meterNumber", required=False, limit=100)
    address = c.obj(body.get("address"), "address") or {}
    clean["street"] = c.text(address, "street", "address.street")
    clean["city"] = c.text(address, "city", "address.city", limit=100)
    clean["zip_code"] = c.text(address, "zipCode", "address.zipCode", limit=20)
    location = c.obj(body.get("location"), "location", required=False) or {}
    clean["latitude"] = c.number(location, "latitude", "location.latitude", low=-90, high=90)
    clean["longitude"] = c.number(location, "longitude", "location.longitude", low=-180, high=180)
    if (clean["latitude"] is None) != (clean["longitude"] is None) and not c.errors:
        c.add("location", "A location needs both latitude and longitude.")
    clean["location_type"] = c.choice(
        body, "locationType", "locationType", LOCATION_TYPES, required=False, default="Unknown"
    )
    return c.errors, clean


def check_vehicle(data) -> tuple[dict, dict]:
    """The guide's vehicle: vehicleId and metadata (resourceType Vehicle, brand, model,
    year, vin). Required: vehicleId, brand and model; year and VIN are optional."""
    c = Checker()
    body = c.obj(data, "$") or {}
    key = c.text(body, "vehicleId", "vehicleId")
    meta = c.obj(body.get("metadata"), "metadata") or {}
    c.choice(meta, "resourceType", "metadata.resourceType", {"Vehicle"}, required=False)
    metadata = {
        "resourceType": "Vehicle",
        "brand": c.text(meta, "brand", "metadata.brand"),
        "model": c.text(meta, "model", "metadata.model"),
    }
    year = c.number(meta, "year", "metadata.year", low=1900, high=2100, integer=True)
    if year is not None:
        metadata["year"] = year
    vin = c.text(meta, "vin", "metadata.vin", required=False, limit=17)
    if vin and not VIN.match(vin):
        c.add("metadata.vin", "A VIN has 17 characters: digits and capitals except I, O and Q.")
    if vin:
        metadata["vin"] = vin
    return c.errors, {"key": key, "resource_type": "Vehicle", "metadata": metadata}


def check_resource(data) -> tuple[dict, dict]:
    """The guide's resource: resourceId and metadata (resourceType, brand, model,
    capacity, heatingElements). Required: resourceId and resourceType."""
    c = Checker()
    body = c.obj(data, "$") or {}
    key = c.text(body, "resourceId", "resourceId")
    meta = c.obj(body.get("metadata"), "metadata") or {}
    kind = meta.get("resourceType")
    if kind == "Vehicle":
        c.add("metadata.resourceType", "Register vehicles with POST /users/{userId}/vehicles.")
    else:
        kind = c.choice(meta, "resourceType", "metadata.resourceType", RESOURCE_TYPES)
    metadata = {"resourceType": kind}
    for field in ("brand", "model"):
        value = c.text(meta, field, f"metadata.{field}", required=False)
        if value:
            metadata[field] = value
    capacity = c.number(meta, "capacity", "metadata.capacity", low=0, high=10_000_000)
    if capacity is not None:
        metadata["capacity"] = capacity
    elements = meta.get("heatingElements")
    if elements is not None:
        if not isinstance(elements, list) or len(elements) > 10:
            c.add("metadata.heatingElements", "heatingElements must be a list of up to 10 powers.")
        else:
            for i, watts in enumerate(elements):
                c.number({"w": watts}, "w", f"metadata.heatingElements[{i}]", low=1, high=100_000)
            metadata["heatingElements"] = elements
    return c.errors, {"key": key, "resource_type": kind, "metadata": metadata}


def _http_url(c: Checker, value, path: str) -> str:
    if not isinstance(value, str) or not value:
        c.add(path, f"The {path} field is required.")
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        c.add(path, f"The {path} field must be an absolute http or https URL.")
    elif why := targets.refusal(value):  # no SSRF through the sandbox (sandbox_kit)
        c.add(path, f"The {path} field is refused: {why}.")
    return value


def check_webhook_url(value) -> dict[str, list[str]]:
    """The errors of a webhook URL (none for an absolute http or https URL)."""
    c = Checker()
    _http_url(c, value, "webhookUrl")
    return c.errors


def check_webhook(data) -> tuple[dict, dict]:
    """Either the guide's body (`url`, `webhookSecret`, `operations`, `eventTypes`) or the
    current API's (`webhookUrl`, `webhookSecret`, `name`, `notificationTypes`, NOTES.md)."""
    c = Checker()
    body = c.obj(data, "$") or {}
    guide_form = "url" in body and "webhookUrl" not in body
    clean = {
        "url": _http_url(
            c,
            body.get("url" if guide_form else "webhookUrl"),
            "url" if guide_form else "webhookUrl",
        ),
        "secret": c.text(body, "webhookSecret", "webhookSecret", required=False, limit=500),
        "name": c.text(body, "name", "name", required=False),
        "notification_types": [],
        "event_types": [],
        "operations": [],
    }

    def names(key: str, allowed: dict) -> list[str]:
        values = body.get(key)
        if values is None:
            return []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            c.add(key, f"{key} must be a list of strings.")
            return []
        unknown = [v for v in values if v.lower() not in allowed]
        if unknown:
            c.add(key, f"Unknown {key}: {', '.join(unknown)}; use {', '.join(allowed.values())}.")
        return [allowed[v.lower()] for v in values if v.lower() in allowed]

    if guide_form:
        clean["event_types"] = names("eventTypes", EVENT_TYPES)
        clean["operations"] = names("operations", OPERATIONS)
    else:
        clean["notification_types"] = names(
            "notificationTypes", {t.lower(): t for t in NOTIFICATION_TYPES}
        )
    return c.errors, clean


def check_report(data, units: str = "guide") -> tuple[dict, dict]:
    """The guide's report: eventId, name, payloads of VehicleChargeAction (resourceId,
    location, actionType Start/Stop, power W, stateOfCharge and batteryCapacity: 0..1 and
    Wh as the guide's example reads, or percent and kWh as Spark's Reports page has them
    (`units`: "guide" or "reports"))."""
    soc_top = 1 if units == "guide" else 100
    c = Checker()
    body = c.obj(data, "$") or {}
    clean = {
        "event_id": c.text(body, "eventId", "eventId", required=False),
        "name": c.text(body, "name", "name", required=False),
    }
    payloads = body.get("payloads")
    if not isinstance(payloads, list) or not payloads:
        c.add("payloads", "The payloads field must be a non-empty list.")
        payloads = []
    for i, payload in enumerate(payloads):
        path = f"payloads[{i}]"
        item = c.obj(payload, path) or {}
        if not item:
            continue
        c.choice(item, "payloadType", f"{path}.payloadType", REPORT_PAYLOAD_TYPES)
        c.text(item, "resourceId", f"{path}.resourceId")
        c.choice(item, "actionType", f"{path}.actionType", ACTION_TYPES)
        c.number(item, "power", f"{path}.power", low=0, high=10_000_000)
        c.number(item, "stateOfCharge", f"{path}.stateOfCharge", low=0, high=soc_top)
        c.number(item, "batteryCapacity", f"{path}.batteryCapacity", low=0, high=10_000_000)
        location = c.obj(item.get("location"), f"{path}.location", required=False) or {}
        c.number(location, "latitude", f"{path}.location.latitude", low=-90, high=90)
        c.number(location, "longitude", f"{path}.location.longitude", low=-180, high=180)
    clean["payloads"] = payloads
    return c.errors, clean


def check_paging(query) -> tuple[dict, int, int]:
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, low, high in (
        ("page", 1, 1, 1_000_000),
        ("pageSize", 100, 1, MAX_PAGE_SIZE),
    ):
        raw = query.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            errors[name] = [f"The value '{raw}' is not valid for {name} ({low} to {high})."]
            value = default
        values[name] = value
    return errors, values["page"], values["pageSize"]
