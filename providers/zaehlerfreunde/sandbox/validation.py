"""The platform's enums and field rules; every check returns {field: [messages]}.

Field keys use the PascalCase property names ASP.NET Core puts in its model-state errors
("Category", "ParentSpaceId", "[0].Readings[1].ObisCode"), so an error answer names the
field the way the real platform most plausibly does. Messages copy ASP.NET's wording for
[Required] and similar attributes. Checks that need the database (does the parent
space exist, is the external id taken) are done by the views and added to the same dict.
"""

import math
import re
import uuid
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# From the partner API's public OpenAPI spec (see provider-docs/NOTES.md).
SPACE_CATEGORIES = (
    "HOTEL",
    "RESTAURANT",
    "HOUSEHOLD",
    "OFFICE",
    "PV_SYSTEM",
    "COMMERCIAL",
    "BIOGAS",
    "RETAIL",
    "SINGLE_FAMILY_HOME",
    "PRODUCTION",
    "FLAT",
    "WIND_ENERGY",
    "DOCTORS_OFFICE",
    "GROUPING",
    "APARTMENT_BUILDING",
    "REGION",
    "ROOM",
    "LANDLORD_TO_TENANT_ELECTRICITY_PROJECT",
)
DEVICE_TYPES = (
    "SMART_METER",
    "OPTICAL_METER_SENSOR",
    "WALLBOX",
    "SMART_PLUG",
    "SMART_RELAY",
    "ENERGY_METER",
    "NON_SMART_METER",
    "HEAT_PUMP",
    "MICRO_INVERTER",
    "VIRTUAL_METER",
    "GAS_METER",
    "WATER_METER",
    "HEATING_METER",
    "RLM_METER",
    "SMART_CAR",
    "BATTERY",
)
DEVICE_MEDIA = ("ELECTRICITY", "GAS", "WATER", "HEATING")
READING_STATUSES = ("REAL", "PRELIMINARY", "SUBSTITUTE")

# NewReading.obisCode's "Accepted Obis Codes", in the forms the spec writes them:
# electricity as "1-1:C.D.E oder C.D.E" (three with a suffix after a space), heat, gas
# and water in full only. Nothing else: no "1-0:1.8.0*255", no power (1.7.0), which the
# list does not have.
_ELECTRICITY_OBIS = (
    "1.8.0", "1.9.0", "1.29.0", "2.8.0", "2.9.0", "2.29.0",
    "2.9.0 G.03", "1.9.0 P.01", "2.9.0 P.01",
)  # fmt: skip
_OTHER_MEDIA_OBIS = ("6-1:1.0.0", "7-1:3.1.0", "8-1:1.0.0")  # heat, gas, water
ACCEPTED_OBIS = frozenset(
    [*_ELECTRICITY_OBIS, *[f"1-1:{code}" for code in _ELECTRICITY_OBIS], *_OTHER_MEDIA_OBIS]
)

# The spec gives no lengths; 500 keeps rows sane and tells a client its value is absurd.
MAX_TEXT = 500
POSTCODE_RE = re.compile(r"^\d{4,5}$")
# `page` and `pageSize` are int32s with a minimum (0, 1) and no maximum in the spec.
INT32_MAX = 2**31 - 1
DEFAULT_PAGE_SIZE = 100
DEFAULT_METERING_INTERVAL = 900

Errors = dict[str, list[str]]


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _is_number(value) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _text(data: dict, name: str, errors: Errors, *, required: bool, key: str | None = None):
    key = key or pascal(name)
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and required):
        if required:
            _add(errors, key, f"The {key} field is required.")
        return value
    if not isinstance(value, str):
        _add(errors, key, f"The JSON value could not be converted to System.String: {value!r}.")
        return None
    if len(value) > MAX_TEXT:
        _add(errors, key, f"The field {key} must be a string with a maximum length of {MAX_TEXT}.")
    return value


def _bool(data: dict, name: str, errors: Errors, *, required: bool):
    key = pascal(name)
    value = data.get(name)
    if value is None:
        if required:
            _add(errors, key, f"The {key} field is required.")
        return None
    if not isinstance(value, bool):
        _add(errors, key, f"The JSON value could not be converted to System.Boolean: {value!r}.")
        return None
    return value


def _enum(data: dict, name: str, allowed, errors: Errors, label: str):
    key = pascal(name)
    value = _text(data, name, errors, required=True)
    if isinstance(value, str) and value.strip() and value not in allowed:
        _add(errors, key, f"'{value}' is not a valid {label}.")
    return value


def _object(data, errors: Errors):
    if not isinstance(data, dict):
        _add(errors, "$", "The JSON value could not be converted to an object.")
        return False
    return True


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def check_space(data) -> tuple[Errors, dict]:
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    clean = {
        "name": _text(data, "name", errors, required=True),
        "address_line_one": _text(data, "addressLineOne", errors, required=True),
        "address_line_two": _text(data, "addressLineTwo", errors, required=False),
        "postcode": _text(data, "postcode", errors, required=True),
        "city": _text(data, "city", errors, required=True),
        "category": _enum(data, "category", SPACE_CATEGORIES, errors, "category"),
        "is_participating_in_ltt_project": _bool(
            data, "isParticipatingInLttProject", errors, required=False
        ),
    }
    parent = data.get("parentSpaceId")
    # An empty string is read as "no parent": the guide's own example fills every field
    # with a placeholder string, so clients plausibly send "" rather than omitting it.
    if parent in (None, ""):
        clean["parent_uuid"] = None
    else:
        parent_uuid = parse_uuid(parent) if isinstance(parent, str) else None
        if parent_uuid is None:
            _add(errors, "ParentSpaceId", f"'{parent}' is not a valid space id.")
        clean["parent_uuid"] = parent_uuid
    return errors, clean


def _not_null(data: dict, name: str, errors: Errors) -> bool:
    """For a partial update: False (with an error) when `name` is sent as null although
    the spec does not mark it nullable. Null there cannot mean "keep" (leaving the field
    out does) nor "clear" (the field is required on create), so it is refused."""
    if data[name] is None:
        key = pascal(name)
        _add(errors, key, f"The {key} field cannot be null; leave it out to keep its value.")
        return False
    return True


def check_space_update(data) -> tuple[Errors, dict]:
    """`PUT /spaces/{id}` (UpdateSpace): only the fields sent change, none is required.

    `addressLineTwo` and `parentSpaceId` are nullable: null clears them (a unit turned
    into a building). `clean` holds only the fields sent; `parent_uuid` is present only
    when `parentSpaceId` was sent (None = clear it). UpdateSpace has no
    `isParticipatingInLttProject`: like any unknown property it is ignored (ASP.NET's
    System.Text.Json skips unmapped members), so that flag cannot change after create.
    """
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    clean: dict = {}
    for name, column in (
        ("name", "name"),
        ("addressLineOne", "address_line_one"),
        ("postcode", "postcode"),
        ("city", "city"),
    ):
        if name in data and _not_null(data, name, errors):
            clean[column] = _text(data, name, errors, required=True)
    if "category" in data and _not_null(data, "category", errors):
        clean["category"] = _enum(data, "category", SPACE_CATEGORIES, errors, "category")
    if "addressLineTwo" in data:
        clean["address_line_two"] = _text(data, "addressLineTwo", errors, required=False)
    if "parentSpaceId" in data:
        parent = data["parentSpaceId"]
        parent_uuid = parse_uuid(parent) if isinstance(parent, str) else None
        if parent is not None and parent_uuid is None:
            # Unlike on create, "" is refused: an update clears with null (the spec).
            _add(errors, "ParentSpaceId", f"'{parent}' is not a valid space id.")
        clean["parent_uuid"] = parent_uuid
    return errors, clean


def check_postcode(postcode) -> str | None:
    """A rule beyond the schema (which says only "string"), or None; only with the
    `dach_postcodes_only` option (options.py), off by default as the spec has no rule.

    A German platform that shows a space's `country` places its address, and may refuse
    a postcode no DACH country has: four digits (Austria, Switzerland) or five
    (Germany). Checked after the field validation, the way a service-layer rule
    answers: 400 with a `detail` and the field named.
    """
    if isinstance(postcode, str) and not POSTCODE_RE.match(postcode):
        return f"'{postcode}' is not a valid postcode."
    return None


def check_device(data) -> tuple[Errors, dict]:
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    clean = {
        "name": _text(data, "deviceName", errors, required=True),
        "device_type": _enum(data, "deviceType", DEVICE_TYPES, errors, "device type"),
        "medium": _enum(data, "deviceMedium", DEVICE_MEDIA, errors, "device medium"),
        "external_device_id": _text(data, "externalDeviceId", errors, required=False) or None,
        "metering_location_id": _text(data, "meteringLocationId", errors, required=False) or None,
        "serial_number": _text(data, "serialNumber", errors, required=False) or None,
    }
    factor = data.get("conversionFactor")
    if factor is not None and not _is_number(factor):
        _add(errors, "ConversionFactor", "The JSON value could not be converted to System.Double.")
        factor = None
    clean["conversion_factor"] = factor
    # These two belong to the device's link to the space it is created in.
    link = {
        "is_main_device": _bool(data, "isMainDevice", errors, required=True),
        "excluded_from_cost": bool(_bool(data, "excludedFromCost", errors, required=False)),
    }
    return errors, {"device": clean, "link": link}


def check_device_details(data) -> tuple[Errors, dict]:
    """`POST /spaces/{s}/devices/{d}/details` (DeviceDetails): only the fields sent change.

    No field is required or nullable. An empty string clears the optional ids (the
    only way the schema leaves to clear them). `deviceType` / `deviceMedium` are not in
    the schema: ignored like any unknown property, so type and medium never change.
    Returns {"device": {...}, "link": {...}}: the main flag belongs to the link.
    """
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    device: dict = {}
    link: dict = {}
    if "deviceName" in data and _not_null(data, "deviceName", errors):
        device["name"] = _text(data, "deviceName", errors, required=True)
    for name, column in (
        ("externalDeviceId", "external_device_id"),
        ("meteringLocationId", "metering_location_id"),
        ("serialNumber", "serial_number"),
    ):
        if name in data and _not_null(data, name, errors):
            device[column] = _text(data, name, errors, required=False) or None
    if "grid" in data and _not_null(data, "grid", errors):
        device["grid"] = _bool(data, "grid", errors, required=False)
    if "isMainDevice" in data and _not_null(data, "isMainDevice", errors):
        link["is_main_device"] = _bool(data, "isMainDevice", errors, required=False)
    return errors, {"device": device, "link": link}


def check_link(data) -> tuple[Errors, dict]:
    """The optional body of `POST /spaces/{s}/devices/{d}`: the link's flags sent."""
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    link = {}
    for name, column in (
        ("isMainDevice", "is_main_device"),
        ("excludedFromCost", "excluded_from_cost"),
    ):
        if name in data and _not_null(data, name, errors):
            link[column] = _bool(data, name, errors, required=False)
    return errors, link


def _role_id(data: dict, errors: Errors, *, required: bool) -> uuid.UUID | None:
    value = data.get("accessRoleId")
    if value is None:
        if required:
            _add(errors, "AccessRoleId", "The AccessRoleId field is required.")
        return None
    parsed = parse_uuid(value) if isinstance(value, str) else None
    if parsed is None:
        _add(errors, "AccessRoleId", f"'{value}' is not a valid access role id.")
    return parsed


def check_add_user(data) -> tuple[Errors, uuid.UUID | None]:
    """`POST /spaces/{s}/users/{u}` (AddUserToSpaceRequest): accessRoleId is required."""
    errors: Errors = {}
    if not _object(data, errors):
        return errors, None
    return errors, _role_id(data, errors, required=True)


def check_acceptance(data, invited_email: str) -> tuple[Errors, dict]:
    """Who accepts an invite: a name and an e-mail (the invited one unless changed)."""
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    email, name = data.get("email"), data.get("name")
    if email in (None, ""):
        email = invited_email
    if name is None:
        name = ""
    if not isinstance(email, str) or not isinstance(name, str):
        _add(errors, "$", "name and email must be strings.")
        return errors, {}
    email, name = email.strip(), name.strip()
    try:
        validate_email(email)
    except ValidationError:
        _add(errors, "email", "Enter a valid e-mail address.")
    if len(name) > MAX_TEXT:
        _add(errors, "name", f"At most {MAX_TEXT} characters.")
    # No name given: the platform shows the e-mail's local part, as Auth0 does.
    return errors, {"email": email.lower(), "name": name or email.split("@")[0]}


def check_invite(data) -> tuple[Errors, dict]:
    errors: Errors = {}
    if not _object(data, errors):
        return errors, {}
    send = _bool(data, "sendInviteEmail", errors, required=True)
    email = _text(data, "userEmail", errors, required=True)
    if isinstance(email, str) and email.strip():
        try:
            validate_email(email)
        except ValidationError:
            _add(errors, "UserEmail", "The UserEmail field is not a valid e-mail address.")
    # Optional: "If not specified, the default access role will be assigned."
    role = _role_id(data, errors, required=False)
    return errors, {"send_invite_email": send, "user_email": email, "access_role_uuid": role}


def to_datetime(timestamp: int, unit: str = "seconds") -> datetime:
    """A reading timestamp in UTC, read in the one unit the platform takes (options.py)."""
    seconds = timestamp / 1000 if unit == "milliseconds" else timestamp
    return datetime.fromtimestamp(seconds, tz=UTC)


def _check_reading(reading, prefix: str, errors: Errors, unit: str) -> dict | None:
    if not isinstance(reading, dict):
        _add(errors, prefix, "The JSON value could not be converted to a reading.")
        return None
    before = len(errors)
    obis = reading.get("obisCode")
    if obis is None or obis == "":
        _add(errors, f"{prefix}.ObisCode", "The ObisCode field is required.")
    elif not isinstance(obis, str) or obis not in ACCEPTED_OBIS:
        _add(errors, f"{prefix}.ObisCode", f"'{obis}' is not an accepted OBIS code.")
    timestamp = reading.get("timestamp")
    when = None
    if timestamp is None:
        _add(errors, f"{prefix}.Timestamp", "The Timestamp field is required.")
    elif not isinstance(timestamp, int) or isinstance(timestamp, bool):
        # An int64 in the spec: 1714635961.5 (or "1714635961") is not one.
        message = "The JSON value could not be converted to System.Int64."
        _add(errors, f"{prefix}.Timestamp", message)
    elif timestamp <= 0:
        _add(errors, f"{prefix}.Timestamp", f"'{timestamp}' is not a valid Unix timestamp.")
    else:
        try:
            when = to_datetime(timestamp, unit)
        except (OverflowError, OSError, ValueError):
            _add(errors, f"{prefix}.Timestamp", f"'{timestamp}' is out of range for {unit}.")
    value = reading.get("value")
    if value is None:
        _add(errors, f"{prefix}.Value", "The Value field is required.")
    elif not _is_number(value):
        _add(errors, f"{prefix}.Value", "The JSON value could not be converted to System.Double.")
    status = reading.get("status")
    if status is not None and status not in READING_STATUSES:
        _add(errors, f"{prefix}.Status", f"'{status}' is not a valid reading status.")
    interval = reading.get("meteringInterval")
    if interval is not None and (
        not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0
    ):
        _add(errors, f"{prefix}.MeteringInterval", "The MeteringInterval must be positive.")
    if len(errors) > before:
        return None
    return {
        "obis_code": obis,
        "timestamp": when,
        "value": float(value),
        "status": status or "REAL",
        "metering_interval": interval or DEFAULT_METERING_INTERVAL,
    }


def check_readings(data, *, timestamp_unit: str = "seconds") -> tuple[Errors, list[dict]]:
    """The batch of `POST /devices/readings`; device lookups are the view's job."""
    errors: Errors = {}
    if not isinstance(data, list):
        _add(errors, "$", "The JSON value could not be converted to a list of device readings.")
        return errors, []
    batches = []
    for i, item in enumerate(data):
        prefix = f"[{i}]"
        if not isinstance(item, dict):
            _add(errors, prefix, "The JSON value could not be converted to device readings.")
            continue
        device_id = item.get("deviceId")
        external_id = item.get("externalDeviceId")
        if device_id in (None, "") and external_id in (None, ""):
            _add(errors, prefix, "Either deviceId or externalDeviceId is required.")
        if device_id not in (None, "") and not isinstance(device_id, str):
            _add(errors, f"{prefix}.DeviceId", "The JSON value could not be converted to Guid.")
        if external_id not in (None, "") and not isinstance(external_id, str):
            _add(errors, f"{prefix}.ExternalDeviceId", "The value must be a string.")
        readings = item.get("readings")
        clean_readings = []
        if not isinstance(readings, list):
            _add(errors, f"{prefix}.Readings", "The Readings field is required.")
        else:
            for j, reading in enumerate(readings):
                where = f"{prefix}.Readings[{j}]"
                clean = _check_reading(reading, where, errors, timestamp_unit)
                if clean:
                    clean_readings.append(clean)
        batches.append(
            {
                "prefix": prefix,
                "device_id": device_id or None,
                "external_device_id": external_id or None,
                "readings": clean_readings,
            }
        )
    return errors, batches


def check_paging(query) -> tuple[Errors, int, int]:
    """`page` (0-based) and `pageSize` from the query string.

    The spec: int32s, `page` from 0 (default 0), `pageSize` from 1 (default 100), no
    maximum; a value outside that is a 400 naming the parameter.
    """
    errors: Errors = {}
    values = {}
    for name, default, low, high in (
        ("page", 0, 0, INT32_MAX),
        ("pageSize", DEFAULT_PAGE_SIZE, 1, INT32_MAX),
    ):
        raw = query.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            number = int(raw)
        except ValueError:
            _add(errors, pascal(name), f"The value '{raw}' is not valid.")
            continue
        if not low <= number <= high:
            message = f"The field {pascal(name)} must be between {low} and {high}."
            _add(errors, pascal(name), message)
            continue
        values[name] = number
    return errors, values.get("page", 0), values.get("pageSize", DEFAULT_PAGE_SIZE)
