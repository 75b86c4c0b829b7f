"""What the building import reads besides a CSV file: an upload held in memory (the
import page keeps its preview in the database, never on a web host's disk), and Excel
workbooks (.xlsx, read with openpyxl), with the CSV's limits and checks.

A workbook's first sheet is read as the CSV would be: the first row names the columns,
every cell becomes text (a whole number without ".0", a date as YYYY-MM-DD). A formula
is read as its text ("=HYPERLINK(…)"), so the importer's formula check refuses it as it
refuses one typed into a CSV cell.
"""

import datetime
import io
import os
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Upload:
    """A file's name and bytes, e.g. an import preview kept in the database."""

    name: str
    data: bytes


class SpreadsheetError(Exception):
    """The workbook cannot be read; the message says why in words."""


XLSX_MAGIC = b"PK\x03\x04"  # a zip archive, which an .xlsx is


def name_of(source) -> str:
    return source.name if isinstance(source, Upload) else str(source)


def size_of(source) -> int:
    """Raises FileNotFoundError for a path that is not there."""
    return len(source.data) if isinstance(source, Upload) else os.path.getsize(source)


def read_bytes(source) -> bytes:
    if isinstance(source, Upload):
        return source.data
    with open(source, "rb") as f:
        return f.read()


def is_xlsx(source) -> bool:
    if name_of(source).lower().endswith(".xlsx"):
        return True
    head = source.data[:4] if isinstance(source, Upload) else read_bytes(source)[:4]
    return head == XLSX_MAGIC


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def read_xlsx(source, max_chars: int) -> list[list[str]]:
    """The first sheet's rows as lists of text; refuses more than `max_chars` of text
    (a small compressed workbook can unpack into far more than its file size)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(read_bytes(source)), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SpreadsheetError(
            _("%(name)s is not an Excel workbook (.xlsx) that can be read: %(reason)s")
            % {"name": name_of(source), "reason": exc}
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows, total = [], 0
        for values in sheet.iter_rows(values_only=True):
            cells = [cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()  # a sheet's used range often runs past the last filled cell
            total += sum(len(c) for c in cells)
            if total > max_chars:
                raise SpreadsheetError(
                    _("%(name)s holds more than %(limit)s characters of text; split it into "
                      "several files (by building).")
                    % {"name": name_of(source), "limit": f"{max_chars:,}"}
                )  # fmt: skip
            rows.append(cells)
        return rows
    finally:
        workbook.close()


def write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    """A one-sheet workbook (the import's template)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "units"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
