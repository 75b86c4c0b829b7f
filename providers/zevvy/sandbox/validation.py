"""Checks on what clients send to the API; each returns field errors in Spring's
`[{"field", "message"}]` shape and the cleaned values."""

import math
from datetime import datetime

MAX_TEXT = 255
MAX_BATCH = 10_000
# A reference travels in a URL path (`/deviceRef/{ref}/...`); Spring's firewall rejects
# encoded slashes, backslashes and percent signs there, so zevvy cannot accept them.
FORBIDDEN_IN_REFERENCE = ("/", "\\", "%")


def _text(data: dict, field: str, errors: list, *, prefix: str = "", required: bool) -> str | None:
    value = data.get(field)
    name = f"{prefix}{field}"
    if value is None:
        if required:
            errors.append({"field": name, "message": "must not be null"})
        return None
    if not isinstance(value, str):
        errors.append({"field": name, "message": "must be a string"})
        return None
    if not value.strip():
        errors.append({"field": name, "message": "must not be blank"})
        return None
    if len(value) > MAX_TEXT:
        errors.append({"field": name, "message": f"size must be between 1 and {MAX_TEXT}"})
        return None
    return value


def reference_errors(value: str, field: str) -> list[dict]:
    if any(ch in value for ch in FORBIDDEN_IN_REFERENCE):
        return [{"field": field, "message": "must not contain '/', '\\' or '%'"}]
    return []


def check_device(data) -> tuple[list[dict], dict]:
    if not isinstance(data, dict):
        return [{"field": "$", "message": "must be a JSON object"}], {}
    errors: list[dict] = []
    name = _text(data, "name", errors, required=True)
    reference = _text(data, "reference", errors, required=False)
    if reference is not None:
        errors += reference_errors(reference, "reference")
    return errors, {"name": name, "reference": reference}


def check_paging(query) -> tuple[list[dict], int, int]:
    errors: list[dict] = []
    values = {}
    for field, default, low, high in (("page", 0, 0, 1_000_000), ("size", 20, 1, 1000)):
        raw = query.get(field, str(default))
        try:
            number = int(raw)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors.append({"field": field, "message": f"must be an integer from {low} to {high}"})
            number = default
        values[field] = number
    return errors, values["page"], values["size"]


def parse_read_at(value) -> datetime | None:
    """ISO 8601 with a zone (`2006-01-02T15:04:05.000Z`); a time without one is refused,
    as a meter reading's instant must not depend on the server's zone."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_measurements(data, *, by_name: bool) -> tuple[list[dict], list[dict]]:
    """A `_bulk_create` body: a non-empty JSON array of measurements."""
    if not isinstance(data, list):
        return [{"field": "$", "message": "must be a JSON array of measurements"}], []
    if not data:
        return [{"field": "$", "message": "must not be empty"}], []
    if len(data) > MAX_BATCH:
        return [{"field": "$", "message": f"at most {MAX_BATCH} measurements per request"}], []
    errors: list[dict] = []
    clean: list[dict] = []
    for index, item in enumerate(data):
        prefix = f"[{index}]."
        if not isinstance(item, dict):
            errors.append({"field": f"[{index}]", "message": "must be a JSON object"})
            continue
        entry = {}
        if by_name:
            entry["device_name"] = _text(item, "deviceName", errors, prefix=prefix, required=True)
            entry["register_name"] = _text(
                item, "registerName", errors, prefix=prefix, required=True
            )
        read_at = parse_read_at(item.get("readAt"))
        if read_at is None:
            errors.append(
                {
                    "field": f"{prefix}readAt",
                    "message": "must be an ISO 8601 date-time with a zone, e.g. "
                    "2006-01-02T15:04:05.000Z",
                }
            )
        value = item.get("value")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            errors.append({"field": f"{prefix}value", "message": "must be a finite number"})
        entry.update(read_at=read_at, value=value)
        clean.append(entry)
    return errors, clean
