"""Importing buildings from a spreadsheet: one CSV row per unit.

Three steps, each readable on its own:

- `read_csv`: the header (names, delimiter, BOM) and one dict of cells per row, numbered
  as the spreadsheet shows them (the header is row 1).
- `parse_row` / `check_rows`: every cell through the model field's own validation (the
  rules the admin applies), then the checks that span rows.
- `Importer`: loads what already exists with a few queries (never one per row), decides
  per object create / update / unchanged, checks what needs the database, and writes with
  bulk_create / bulk_update, then marks the created and changed objects for sync.

`import_file` runs them in order; nothing is written unless the whole file is valid.

A tenant's Volue Spark parts come in optional columns, one set per row: the meter
(`meter_point_id`), a vehicle (`vehicle_brand`, `vehicle_model`, `vehicle_year`,
`vehicle_vin`) and a resource (`resource_type`, `resource_brand`, `resource_model`),
bound to the row's meter.
"""

import csv
import gc
import io
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import spreadsheets
from .models import (
    Device,
    DeviceType,
    Invite,
    Medium,
    Meter,
    Resource,
    Space,
    SpaceCategory,
    TenantUser,
    Vehicle,
)
from .sync import outbox
from .validators import formula_message, looks_like_formula

ADDRESS = ("address_line_one", "address_line_two", "postcode", "city")
# A tenant's parts on Volue Spark (optional, one set per row).
METER_COLUMNS = ("meter_point_id",)
VEHICLE_COLUMNS = ("vehicle_brand", "vehicle_model", "vehicle_year", "vehicle_vin")
RESOURCE_COLUMNS = ("resource_type", "resource_brand", "resource_model")
SPARK_COLUMNS = (*METER_COLUMNS, *VEHICLE_COLUMNS, *RESOURCE_COLUMNS)
REQUIRED = ("building", "address_line_one", "postcode", "city", "unit")
COLUMNS = (
    "building",
    *ADDRESS,
    "category",
    "unit",
    "device_name",
    "external_device_id",
    "medium",
    "device_type",
    "is_main_device",
    "tenant_name",
    "tenant_email",
    "send_invite_email",
    *SPARK_COLUMNS,
)
DEVICE_COLUMNS = ("device_name", "external_device_id", "medium", "device_type", "is_main_device")
# What an empty cell means (and what a new object gets when the column is left out).
DEVICE_DEFAULTS = {
    "external_device_id": "",
    "medium": Medium.ELECTRICITY,
    "device_type": DeviceType.SMART_METER,
    "is_main_device": True,  # the imported meter is the unit's main meter
}
BUILDING_CATEGORY = SpaceCategory.APARTMENT_BUILDING
UNIT_CATEGORY = SpaceCategory.FLAT
TRUE = {"true", "yes", "1", "ja"}
FALSE = {"false", "no", "0", "nein"}
KINDS = ("buildings", "units", "devices", "tenants", "invites")
# Counted (and shown) only for a file with their columns.
SPARK_KINDS = {"meters": METER_COLUMNS, "vehicles": VEHICLE_COLUMNS, "resources": RESOURCE_COLUMNS}
# Free-text cells that reach the platforms, their e-mails and staff's spreadsheets. One
# beginning like a formula is refused (CSV/formula injection, OWASP): a spreadsheet
# opening an export would run it. A plain negative number ("-1", a basement) is no
# formula and is let through.
TEXT_COLUMNS = (
    "building",
    "address_line_one",
    "address_line_two",
    "city",
    "unit",
    "device_name",
    "external_device_id",
    "tenant_name",
    "tenant_email",
    "meter_point_id",
    "vehicle_brand",
    "vehicle_model",
    "vehicle_vin",
    "resource_brand",
    "resource_model",
)
# Values per IN (...) list: below SQLite's 32766 bound parameters (PostgreSQL's 65535).
IN_CHUNK = 30000


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, not UTF-8, a bad header)."""


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column_index: int  # sorts a row's errors in the file's column order
    column: str
    message: str

    def __str__(self):
        return _("row %(row)s, %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


class ImportErrors(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = sorted(errors)


def _error(row: int, column: str, message: str) -> RowError:
    # A column the importer does not know (a header error) sorts after the known ones.
    index = COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)
    return RowError(row, index, column, message)


# --- Reading ---------------------------------------------------------------------------


def read_table(source) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowError]]:
    """(columns, [(row number, {column: cell})], errors of the header and of rows that do
    not fit), from a CSV or .xlsx file, or an Upload held in memory (spreadsheets.py)."""
    if spreadsheets.is_xlsx(source):
        _check_size(source)
        try:
            records = iter(spreadsheets.read_xlsx(source, settings.IMPORT_MAX_BYTES))
        except spreadsheets.SpreadsheetError as exc:
            raise ImportFileError(str(exc)) from None
    else:
        text = _read_text(source)
        first_line = text.splitlines()[0] if text else ""
        # German spreadsheets write ";" and English ones ","; the header line tells which.
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        records = _records(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = next(records, [])
    columns = [str(name).strip().lower() for name in header]
    # Every problem of the header is reported with those of the rows, at once.
    errors = _check_header(columns)
    rows = []
    # Numbered per record, not per line: a quoted cell with a line break is one row.
    for number, cells in enumerate(records, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank rows at the end of a sheet
        if len(cells) > len(columns):
            errors.append(
                _error(
                    number,
                    columns[0],
                    _("has %(cells)s cells but the header has %(columns)s columns.")
                    % {"cells": len(cells), "columns": len(columns)},
                )
            )
            continue
        cells += [""] * (len(columns) - len(cells))
        known = {}
        for c, cell in zip(columns, cells, strict=True):
            known.setdefault(c, cell.strip())  # a column named twice: its first cell
        rows.append((number, known))
    return columns, rows, errors


read_csv = read_table  # its name before workbooks were read too


def _check_size(source) -> None:
    limit = settings.IMPORT_MAX_BYTES
    path = spreadsheets.name_of(source)
    try:
        size = spreadsheets.size_of(source)
    except FileNotFoundError:
        raise ImportFileError(_("No such file: %(path)s") % {"path": path}) from None
    if size > limit:
        raise ImportFileError(
            _(
                "%(path)s is %(size)s; the limit is %(limit)s (IMPORT_MAX_BYTES). "
                "Split it into several files (by building)."
            )
            % {"path": path, "size": _megabytes(size), "limit": _megabytes(limit)}
        )


def _read_text(source) -> str:
    """The whole file as text, refused when too large, not UTF-8 or holding NUL bytes."""
    _check_size(source)
    path = spreadsheets.name_of(source)
    try:
        # utf-8-sig: Excel writes a BOM, other tools don't; both read the same.
        text = spreadsheets.read_bytes(source).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("%(path)s is not UTF-8; save it as CSV UTF-8.") % {"path": path}
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ImportFileError(
            _(
                "Line %(line)s of %(path)s holds a NUL byte: this is not a text CSV file "
                "(a spreadsheet saved in its own format?). Save it as CSV UTF-8."
            )
            % {"line": line, "path": path}
        )
    return text


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _records(reader):
    """The reader's records; a cell the csv module cannot take ends the import, said in
    words with its line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                reason = _(
                    "a cell is longer than %(limit)s characters, the csv module's limit "
                    "(an unclosed quote makes the rest of the file one cell)"
                ) % {"limit": f"{csv.field_size_limit():,}"}
            else:
                reason = str(exc)
            raise ImportFileError(
                _("Line %(line)s: %(reason)s.") % {"line": reader.line_num, "reason": reason}
            ) from None


def _check_header(columns: list[str]) -> list[RowError]:
    """The header's problems, each as an error of row 1 in its column; an empty file
    alone stops the import at once."""
    if not any(columns):
        raise ImportFileError(_("The file is empty; its first row must name the columns."))
    errors = []
    known = ", ".join(COLUMNS)
    for i, c in enumerate(columns, 1):
        if c not in COLUMNS:
            name = c or _("(column %(number)s has no name)") % {"number": i}
            message = _("Unknown column. Known columns: %(columns)s.") % {"columns": known}
            errors.append(_error(1, name, message))
    for c in sorted({c for c in columns if c and columns.count(c) > 1}):
        errors.append(_error(1, c, _("This column is named twice.")))
    for c in REQUIRED:
        if c not in columns:
            errors.append(
                _error(1, c, _("Missing required column: every row needs a value in it."))
            )
    return errors


# --- Parsing one row -------------------------------------------------------------------


@dataclass
class Row:
    """One valid row. Dicts hold model field values, only for the columns the file has:
    a column left out of the file leaves that value alone on existing objects."""

    number: int
    building: str
    address: dict[str, str]
    unit: str
    unit_values: dict = field(default_factory=dict)  # {"category": ...}
    device: dict | None = None  # Device fields; always "name"
    tenant_email: str = ""
    tenant_name: str = ""
    invite_values: dict = field(default_factory=dict)  # {"send_invite_email": ...}
    meter: dict | None = None  # Meter fields of the tenant's meter
    vehicle: dict | None = None  # Vehicle fields
    resource: dict | None = None  # Resource fields (kind, brand, model)


class _RowParser:
    """Collects every error of one row instead of stopping at the first."""

    def __init__(self, number: int, cells: dict[str, str], cache: dict):
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []
        self.cache = cache

    def has(self, column: str) -> bool:
        return column in self.cells

    def value(self, column: str, model, field_name: str, *, required=False, default="", raw=None):
        """The cell (or `raw`, the cell as written for it) cleaned by the model field itself
        (max_length, choices, validators)."""
        raw = self.cells.get(column, "") if raw is None else raw
        if not raw:
            if required and self.has(column):  # a missing column is said once, in row 1
                self.errors.append(_error(self.number, column, _("This field is required.")))
            return default
        if column in TEXT_COLUMNS and looks_like_formula(raw):
            self.errors.append(_error(self.number, column, formula_message(raw)))
            return default
        key = (model, field_name, raw)
        if key not in self.cache:
            # Addresses, names, media repeat on many rows: each is validated once.
            self.cache[key] = _clean(model._meta.get_field(field_name), raw)
        value, messages = self.cache[key]
        for message in messages:
            self.errors.append(_error(self.number, column, message))
        return default if messages else value

    def boolean(self, column: str, default: bool) -> bool:
        raw = self.cells.get(column, "").lower()
        if not raw:
            return default
        if raw in TRUE or raw in FALSE:
            return raw in TRUE
        self.errors.append(
            _error(self.number, column, _("Enter true/false, yes/no, ja/nein or 1/0."))
        )
        return default

    def needs(self, column: str, because: tuple[str, ...]) -> None:
        """An empty `column` is an error when any of `because` has a value."""
        given = [c for c in because if self.cells.get(c)]
        if given and not self.cells.get(column):
            self.errors.append(
                _error(
                    self.number,
                    column,
                    _("Required when %(columns)s is given.") % {"columns": " / ".join(given)},
                )
            )


def _clean(model_field, raw: str) -> tuple[object, list[str]]:
    """(value, error messages) from the model field's own clean()."""
    if model_field.choices:
        raw = raw.upper()  # "gas" and "GAS" mean the same to a spreadsheet user
    try:
        return model_field.clean(raw, None), []
    except ValidationError as exc:
        messages = []
        for error in exc.error_list:
            message = next(iter(error))
            if error.code == "invalid_choice":
                values = ", ".join(choice[0] for choice in model_field.choices)
                message += " " + _("Use one of: %(values)s.") % {"values": values}
            messages.append(message)
        return None, messages


def parse_row(
    number: int, cells: dict[str, str], cache: dict | None = None
) -> tuple[Row | None, list[RowError]]:
    """The row's values cleaned, or None and every error it has. `cache` (shared by the
    rows of one file) remembers cells already validated."""
    p = _RowParser(number, cells, {} if cache is None else cache)
    row = Row(
        number=number,
        building=p.value("building", Space, "name", required=True),
        address={
            name: p.value(name, Space, name, required=name in REQUIRED)
            for name in ADDRESS
            if p.has(name)
        },
        unit=p.value("unit", Space, "name", required=True),
    )
    if p.has("category"):
        row.unit_values["category"] = p.value("category", Space, "category", default=UNIT_CATEGORY)
    p.needs("device_name", DEVICE_COLUMNS[1:])
    if cells.get("device_name"):
        row.device = {"name": p.value("device_name", Device, "name")}
        for name in DEVICE_COLUMNS[1:]:
            if not p.has(name):
                continue
            if name == "is_main_device":
                row.device[name] = p.boolean(name, DEVICE_DEFAULTS[name])
            else:
                row.device[name] = p.value(name, Device, name, default=DEVICE_DEFAULTS[name])
    p.needs("tenant_email", ("tenant_name", "send_invite_email", *SPARK_COLUMNS))
    if cells.get("tenant_email"):
        # Invite.email is the same EmailField (a test holds them together), so the
        # tenant's check covers the invite's too.
        row.tenant_email = p.value("tenant_email", TenantUser, "email")
        row.tenant_name = p.value("tenant_name", TenantUser, "name", required=True)
        if p.has("send_invite_email"):
            row.invite_values["send_invite_email"] = p.boolean("send_invite_email", True)
        _parse_spark_parts(p, row)
    return (None if p.errors else row), p.errors


def _parse_spark_parts(p: _RowParser, row: Row) -> None:
    """The row's meter, vehicle and resource, each only when one of its cells is given."""
    cells = p.cells
    if cells.get("meter_point_id"):
        row.meter = {"meter_point_id": p.value("meter_point_id", Meter, "meter_point_id")}
    if any(cells.get(c) for c in VEHICLE_COLUMNS):
        p.needs("vehicle_brand", VEHICLE_COLUMNS[1:])
        p.needs("vehicle_model", (VEHICLE_COLUMNS[0], *VEHICLE_COLUMNS[2:]))
        row.vehicle = {
            "brand": p.value("vehicle_brand", Vehicle, "brand"),
            "model": p.value("vehicle_model", Vehicle, "model"),
        }
        if cells.get("vehicle_year"):
            row.vehicle["year"] = p.value("vehicle_year", Vehicle, "year", default=None)
        if cells.get("vehicle_vin"):
            vin = cells["vehicle_vin"].upper()  # a VIN is written in capitals
            row.vehicle["vin"] = p.value("vehicle_vin", Vehicle, "vin", raw=vin)
    if any(cells.get(c) for c in RESOURCE_COLUMNS):
        p.needs("resource_type", RESOURCE_COLUMNS[1:])
        row.resource = {"kind": _resource_kind(p)}
        for column, name in (("resource_brand", "brand"), ("resource_model", "model")):
            if cells.get(column):
                row.resource[name] = p.value(column, Resource, name)


def _resource_kind(p: _RowParser) -> str:
    """A resource kind by its value (HotWaterTank) or its name (Hot-water tank), in any
    case; the error lists the values."""
    raw = p.cells.get("resource_type", "")
    if not raw:
        return ""
    wanted = raw.replace(" ", "").replace("-", "").lower()
    for value, label in Resource.Kind.choices:
        if wanted in (value.lower(), str(label).replace(" ", "").replace("-", "").lower()):
            return value
    values = ", ".join(Resource.Kind.values)
    p.errors.append(
        _error(
            p.number,
            "resource_type",
            _("“%(value)s” is not a resource type. Use one of: %(values)s.")
            % {"value": raw, "values": values},
        )
    )
    return ""


def check_rows(rows: list[Row]) -> list[RowError]:
    """What no single row shows: one address per building, a unit once per building, an
    external device id once in the file."""
    errors = []
    first_of_building: dict[str, Row] = {}
    unit_rows: dict[tuple[str, str], int] = {}
    device_rows: dict[str, int] = {}
    spark_rows: dict[tuple[str, str], int] = {}
    for row in rows:
        first = first_of_building.setdefault(row.building, row)
        for name, value in row.address.items():
            if value != first.address[name]:
                errors.append(
                    _error(
                        row.number,
                        name,
                        _(
                            'differs from row %(row)s of building "%(building)s" '
                            '("%(here)s" here, "%(there)s" there); a building has one address.'
                        )
                        % {
                            "row": first.number,
                            "building": row.building,
                            "here": value,
                            "there": first.address[name],
                        },
                    )
                )
        seen = unit_rows.setdefault((row.building, row.unit), row.number)
        if seen != row.number:
            errors.append(
                _error(
                    row.number,
                    "unit",
                    _('"%(unit)s" is already in row %(row)s of building "%(building)s".')
                    % {"unit": row.unit, "row": seen, "building": row.building},
                )
            )
        for column, value in (
            ("meter_point_id", (row.meter or {}).get("meter_point_id")),
            ("vehicle_vin", (row.vehicle or {}).get("vin")),
        ):
            if value:
                seen = spark_rows.setdefault((column, value), row.number)
                if seen != row.number:
                    errors.append(
                        _error(
                            row.number,
                            column,
                            _('"%(value)s" is already in row %(row)s.')
                            % {"value": value, "row": seen},
                        )
                    )
        external_id = (row.device or {}).get("external_device_id")
        if external_id:
            seen = device_rows.setdefault(external_id, row.number)
            if seen != row.number:
                errors.append(
                    _error(
                        row.number,
                        "external_device_id",
                        _('"%(id)s" is already the device of row %(row)s.')
                        % {"id": external_id, "row": seen},
                    )
                )
    return errors


# --- Planning and writing --------------------------------------------------------------


@dataclass
class Summary:
    counts: dict[str, Counter]  # kind → {"created": n, "updated": n, "unchanged": n}
    marked: int  # outbox rows marked pending


def _in_chunks(queryset, lookup: str, values) -> list:
    """queryset.filter(<lookup>__in=values), split so no query binds too many values."""
    values = sorted(values)
    found = []
    for start in range(0, len(values), IN_CHUNK):
        found += queryset.filter(**{f"{lookup}__in": values[start : start + IN_CHUNK]})
    return found


class Importer:
    """Plans every object against what the database holds, then writes in bulk.

    Related objects are assigned as objects (unit.parent = building, not parent_id) so
    that str(), Space.address() and the outbox's handlers never query per object.
    """

    def __init__(self, rows: list[Row], kinds: tuple[str, ...] = KINDS):
        self.rows = rows
        self.errors: list[RowError] = []
        self.kinds = kinds
        self.counts = {kind: Counter(created=0, updated=0, unchanged=0) for kind in kinds}
        self.created: dict[str, list] = defaultdict(list)
        self.updated: dict[str, list] = defaultdict(list)
        self.update_fields: dict[str, set] = defaultdict(set)
        # Units sent again because their building's address (which they show) changed.
        self.follow_building: list[Space] = []

    # Loading: a fixed handful of queries, whatever the number of rows.
    def load(self) -> None:
        names = {row.building for row in self.rows}
        self.buildings = {
            b.name: b for b in _in_chunks(Space.objects.filter(parent=None), "name", names)
        }
        # A unit elsewhere named like a building of the file: the user meant that unit.
        self.unit_named = {
            s.name: s
            for s in _in_chunks(
                Space.objects.filter(parent__isnull=False).select_related("parent"),
                "name",
                names - self.buildings.keys(),
            )
        }
        self.units: dict[tuple[int, str], Space] = {}
        self.units_of: dict[int, list[Space]] = defaultdict(list)
        self.devices_by_name: dict[tuple[int, str], Device] = {}
        self.devices_by_external_id: dict[str, Device] = {}
        self.tenants: dict[tuple[int, str], TenantUser] = {}
        self.invites: dict[tuple[int, str], Invite] = {}
        existing = list(self.buildings.values())
        if existing:
            building_by_pk = {b.pk: b for b in existing}
            for unit in Space.objects.filter(parent__in=existing):
                unit.parent = building_by_pk[unit.parent_id]
                self.units[unit.parent_id, unit.name] = unit
                self.units_of[unit.parent_id].append(unit)
            unit_by_pk = {u.pk: u for u in self.units.values()}
            for device in Device.objects.filter(space__parent__in=existing):
                device.space = unit_by_pk[device.space_id]
                self._index_device(device)
            for tenant in TenantUser.objects.filter(unit__parent__in=existing):
                tenant.unit = unit_by_pk[tenant.unit_id]
                self.tenants[tenant.unit_id, tenant.email] = tenant
            for invite in Invite.objects.filter(space__parent__in=existing):
                invite.space = unit_by_pk[invite.space_id]
                self.invites[invite.space_id, invite.email] = invite
        self._load_spark_parts()
        # Devices elsewhere (another building) holding an external id of the file.
        external_ids = {r.device.get("external_device_id") for r in self.rows if r.device}
        external_ids -= {None, ""}
        external_ids -= {e for e in external_ids if e in self.devices_by_external_id}
        for device in _in_chunks(
            Device.objects.select_related("space__parent"), "external_device_id", external_ids
        ):
            self._index_device(device)

    def _load_spark_parts(self) -> None:
        """The meters and vehicles the file names (by meter point id, VIN), wherever they
        are, and the vehicles and resources of the file's existing tenants."""
        tenant_by_pk = {t.pk: t for t in self.tenants.values()}
        point_ids = {r.meter["meter_point_id"] for r in self.rows if r.meter}
        vins = {r.vehicle["vin"] for r in self.rows if r.vehicle and r.vehicle.get("vin")}
        self.meters = {
            m.meter_point_id: m
            for m in _in_chunks(
                Meter.objects.select_related("tenant__unit"), "meter_point_id", point_ids
            )
        }
        self.vehicles_by_vin = {
            v.vin: v
            for v in _in_chunks(Vehicle.objects.select_related("tenant__unit"), "vin", vins)
        }
        self.vehicles_of: dict[int, list[Vehicle]] = defaultdict(list)
        self.resources_of: dict[int, list[Resource]] = defaultdict(list)
        if tenant_by_pk and any(r.vehicle or r.resource for r in self.rows):
            for vehicle in Vehicle.objects.filter(tenant__in=tenant_by_pk):
                vehicle.tenant = tenant_by_pk[vehicle.tenant_id]
                self.vehicles_of[vehicle.tenant_id].append(vehicle)
            for resource in Resource.objects.filter(tenant__in=tenant_by_pk):
                resource.tenant = tenant_by_pk[resource.tenant_id]
                self.resources_of[resource.tenant_id].append(resource)
        for meter in self.meters.values():
            if meter.tenant_id in tenant_by_pk:
                meter.tenant = tenant_by_pk[meter.tenant_id]

    def _index_device(self, device: Device) -> None:
        self.devices_by_name[device.space_id, device.name] = device
        if device.external_device_id:
            self.devices_by_external_id[device.external_device_id] = device

    def plan(self) -> None:
        self.load()
        planned_buildings: dict[str, Space | None] = {}
        for row in self.rows:
            if row.building not in planned_buildings:
                planned_buildings[row.building] = self._plan_building(row)
            building = planned_buildings[row.building]
            if building is None:
                continue
            unit = self._plan_unit(row, building)
            if row.device:
                self._plan_device(row, unit)
            if row.tenant_email:
                tenant = self._plan_tenant(row, unit)
                self._plan_invite(row, unit, tenant)
                self._plan_spark_parts(row, tenant)

    def _create(self, kind: str, obj) -> None:
        self.created[kind].append(obj)
        self.counts[kind]["created"] += 1

    def _update(self, kind: str, obj, values: dict, changed: tuple = ()) -> bool:
        """Set the values that differ (plus `changed`, fields the caller already set);
        True when any did. Unchanged objects are neither saved nor marked, which is what
        makes importing a file twice a no-op."""
        differ = [name for name, value in values.items() if getattr(obj, name) != value]
        for name in differ:
            setattr(obj, name, values[name])
        changed = [*changed, *differ]
        if changed:
            self.updated[kind].append(obj)
            self.update_fields[kind].update(changed)
        self.counts[kind]["updated" if changed else "unchanged"] += 1
        return bool(changed)

    def _model_clean(self, obj, row: Row, column: str) -> None:
        """The model's own cross-field rules (a building's address), as the admin runs
        them; the required columns already ensure them, this keeps the two in step."""
        try:
            obj.clean()
        except ValidationError as exc:
            for message in exc.messages:
                self.errors.append(_error(row.number, column, message))

    def _plan_building(self, row: Row) -> Space | None:
        if row.building in self.unit_named:
            unit = self.unit_named[row.building]
            self.errors.append(
                _error(
                    row.number,
                    "building",
                    _(
                        '"%(name)s" is a unit of building "%(building)s" in the portal, '
                        "not a building."
                    )
                    % {"name": row.building, "building": unit.parent.name},
                )
            )
            return None
        building = self.buildings.get(row.building)
        if building is None:
            building = Space(
                name=row.building,
                parent=None,
                category=BUILDING_CATEGORY,
                **{**dict.fromkeys(ADDRESS, ""), **row.address},
            )
            self._create("buildings", building)
        elif self._update("buildings", building, row.address):
            # Units are sent with their building's address: they changed too.
            self.follow_building += self.units_of[building.pk]
        self._model_clean(building, row, "building")
        return building

    def _plan_unit(self, row: Row, building: Space) -> Space:
        unit = self.units.get((building.pk, row.unit)) if building.pk else None
        if unit is None:
            unit = Space(
                name=row.unit, parent=building, **{"category": UNIT_CATEGORY, **row.unit_values}
            )
            self._create("units", unit)
        else:
            self._update("units", unit, row.unit_values)
        # No Space.clean() here: its unit rule (parent is a building) holds by
        # construction, and for a building not yet saved it would mistake the unit for one.
        return unit

    def _plan_device(self, row: Row, unit: Space) -> None:
        values = dict(row.device)
        external_id = values.get("external_device_id", "")
        if not external_id:
            # No key given: keep the one the portal may have, never clear it.
            values.pop("external_device_id", None)
        device = self.devices_by_external_id.get(external_id) if external_id else None
        moved = device is not None and (unit.pk is None or device.space_id != unit.pk)
        if moved:
            # The meter now belongs to this unit (a tenant moved flats, a file corrected):
            # the device moves here, and the platforms move it too, keeping its id there.
            device.space = unit
        by_name = self.devices_by_name.get((unit.pk, values["name"])) if unit.pk else None
        if device is None and by_name is not None:
            if external_id and by_name.external_device_id:
                self.errors.append(
                    _error(
                        row.number,
                        "external_device_id",
                        _(
                            'unit "%(unit)s" already has a device "%(device)s" with external id '
                            '"%(id)s".'
                        )
                        % {
                            "unit": unit,
                            "device": by_name.name,
                            "id": by_name.external_device_id,
                        },
                    )
                )
                return
            device = by_name  # the same device, now given its external id (or none)
        elif device is not None and by_name is not None and by_name is not device:
            self.errors.append(
                _error(
                    row.number,
                    "device_name",
                    _('unit "%(unit)s" already has another device named "%(device)s".')
                    % {"unit": unit, "device": by_name.name},
                )
            )
            return
        if device is None:
            self._create("devices", Device(space=unit, **{**DEVICE_DEFAULTS, **values}))
        else:
            self._update("devices", device, values, ("space",) if moved else ())

    def _plan_tenant(self, row: Row, unit: Space) -> TenantUser:
        tenant = self.tenants.get((unit.pk, row.tenant_email)) if unit.pk else None
        if tenant is None:
            tenant = TenantUser(unit=unit, name=row.tenant_name, email=row.tenant_email)
            self._create("tenants", tenant)
        else:
            self._update("tenants", tenant, {"name": row.tenant_name})
        return tenant

    def _plan_invite(self, row: Row, unit: Space, tenant: TenantUser) -> None:
        invite = self.invites.get((unit.pk, row.tenant_email)) if unit.pk else None
        if invite is None:
            invite = Invite(
                space=unit,
                tenant=tenant,
                email=row.tenant_email,
                **{"send_invite_email": True, **row.invite_values},
            )
            self._create("invites", invite)
            return
        # Compared by id: reading invite.tenant would query once per invite.
        relinked = tenant.pk is None or invite.tenant_id != tenant.pk
        if relinked:
            invite.tenant = tenant
        self._update("invites", invite, row.invite_values, ("tenant",) if relinked else ())

    def _plan_spark_parts(self, row: Row, tenant: TenantUser) -> None:
        meter = self._plan_meter(row, tenant) if row.meter else None
        if row.vehicle:
            self._plan_vehicle(row, tenant)
        if row.resource:
            self._plan_resource(row, tenant, meter)

    def _belongs_elsewhere(self, row: Row, column: str, what: str, obj, tenant) -> bool:
        """A meter or vehicle of another tenant: an import does not move it (Spark cannot
        move a location or a vehicle to another user)."""
        if obj.tenant_id is not None and obj.tenant_id == tenant.pk:
            return False
        self.errors.append(
            _error(
                row.number,
                column,
                _('"%(key)s" is already the %(what)s of %(tenant)s in %(unit)s.')
                % {
                    "key": getattr(obj, "meter_point_id", None) or obj.vin,
                    "what": what,
                    "tenant": obj.tenant,
                    "unit": obj.tenant.unit,
                },
            )
        )
        return True

    def _plan_meter(self, row: Row, tenant: TenantUser) -> Meter | None:
        meter = self.meters.get(row.meter["meter_point_id"])
        if meter is None:
            meter = Meter(tenant=tenant, **row.meter)
            self.meters[meter.meter_point_id] = meter
            self._create("meters", meter)
            return meter
        if self._belongs_elsewhere(row, "meter_point_id", _("meter"), meter, tenant):
            return None
        self._update("meters", meter, {})
        return meter

    def _plan_vehicle(self, row: Row, tenant: TenantUser) -> None:
        values = row.vehicle
        vehicle = self.vehicles_by_vin.get(values.get("vin") or "")
        if vehicle is not None and self._belongs_elsewhere(
            row, "vehicle_vin", _("vehicle"), vehicle, tenant
        ):
            return
        theirs = self.vehicles_of[tenant.pk] if tenant.pk else []
        if vehicle is None:
            # The same car by brand and model (given its VIN now, or none at all).
            vehicle = next(
                (
                    v
                    for v in theirs
                    if (v.brand, v.model) == (values["brand"], values["model"])
                    and (not v.vin or v.vin == values.get("vin", v.vin))
                ),
                None,
            )
        if vehicle is None:
            # No VIN is NULL, not "": several vehicles may have none (Vehicle.save does
            # the same, which bulk_create skips).
            vehicle = Vehicle(tenant=tenant, **{"vin": None, **values})
            theirs.append(vehicle)
            self._create("vehicles", vehicle)
        else:
            self._update("vehicles", vehicle, values)

    def _plan_resource(self, row: Row, tenant: TenantUser, meter: Meter | None) -> None:
        values = row.resource
        theirs = self.resources_of[tenant.pk] if tenant.pk else []
        resource = next((r for r in theirs if r.kind == values["kind"]), None)
        if resource is None:
            # Bound to the row's meter (Spark binds every resource but a vehicle to a
            # location); an existing one keeps its meter: Spark cannot move it.
            resource = Resource(tenant=tenant, meter=meter, **values)
            theirs.append(resource)
            self._create("resources", resource)
        else:
            self._update("resources", resource, values)

    def write(self) -> Summary:
        """Call inside transaction.atomic(): parents first, so children get their ids."""
        now = timezone.now()
        models = {
            "buildings": Space,
            "units": Space,
            "devices": Device,
            "tenants": TenantUser,
            "invites": Invite,
            "meters": Meter,
            "vehicles": Vehicle,
            "resources": Resource,
        }
        for kind in self.kinds:
            model = models[kind]
            if self.created[kind]:
                # bulk_create sets pks (RETURNING) and takes each parent's fresh pk.
                model.objects.bulk_create(self.created[kind], batch_size=1000)
            if self.updated[kind]:
                for obj in self.updated[kind]:
                    obj.updated_at = now  # bulk_update skips auto_now
                fields = sorted(self.update_fields[kind] | {"updated_at"})
                model.objects.bulk_update(self.updated[kind], fields, batch_size=1000)
        changed = {id(o): o for kind in self.kinds for o in self.created[kind] + self.updated[kind]}
        changed |= {id(u): u for u in self.follow_building}
        marked = outbox.mark_pending(changed.values()) if changed else []
        return Summary(self.counts, len(marked))


@contextmanager
def _gc_paused():
    """Tens of thousands of model instances live until the import ends, none of them
    garbage: the cyclic collector would walk them again and again (about 15% of a
    10,000-unit import). Reference counting still frees everything else."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_file(path) -> Summary:
    """Validate the whole file (CSV or .xlsx, a path or a spreadsheets.Upload), then
    import it in one transaction; raises ImportFileError or ImportErrors (every bad row
    and column) and then writes nothing."""
    with _gc_paused():
        return _import_file(path)


def _import_file(path) -> Summary:
    columns, raw_rows, errors = read_table(path)
    header_wrong = bool(errors)
    rows, cache = [], {}
    for number, cells in raw_rows:
        row, row_errors = parse_row(number, cells, cache)
        errors += row_errors
        if row is not None:
            rows.append(row)
    errors += check_rows(rows)
    if header_wrong:
        # Without its columns the file cannot be planned against the database: what the
        # rows themselves show is reported with the header's problems.
        raise ImportErrors(errors)
    # Rows already wrong are left out of planning, so each mistake is reported once.
    bad = {e.row for e in errors}
    kinds = (*KINDS, *(k for k, spark in SPARK_KINDS.items() if set(spark) & set(columns)))
    with transaction.atomic():
        importer = Importer([row for row in rows if row.number not in bad], kinds)
        importer.plan()
        errors += importer.errors
        if errors:
            raise ImportErrors(errors)
        return importer.write()
