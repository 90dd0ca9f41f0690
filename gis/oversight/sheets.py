"""The exports' one writer: a table as Excel (.xlsx) or as CSV with a UTF-8 BOM.

Times are shown in China Standard Time (北京时间; the headers say so): in Excel as date-times
of that zone, in CSV as ``YYYY-MM-DD HH:MM:SS`` text. Rates are percentages. Text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is kept as text.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from gis.clock import CST, aware
from gis.errors import InvalidInput

Kind = Literal["text", "int", "time", "percent"]
Cell = str | int | float | datetime | None
FORMATS = ("xlsx", "csv")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH, MAX_WIDTH, SAMPLE_ROWS = 6, 60, 500


@dataclass(frozen=True)
class Column:
    """One column: its header (Chinese) and how its cells are shown."""

    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """A titled table (the sheet's name) of rows under its columns."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)


def check_format(fmt: str) -> str:
    """``fmt`` when it is xlsx or csv, else InvalidInput naming the field ``format``."""
    if fmt not in FORMATS:
        raise InvalidInput.field("format", f"unknown format {fmt!r}; one of "
                                 f"{', '.join(FORMATS)}", "unknown_format")
    return fmt


def render(table: Table, fmt: str) -> bytes:
    """The table as the bytes of an .xlsx or a .csv file."""
    return to_xlsx(table) if check_format(fmt) == "xlsx" else to_csv(table)


def _cst(value: datetime) -> datetime:
    """An aware time as a naive date-time in China Standard Time (Excel has no zones)."""
    return aware(value).astimezone(CST).replace(tzinfo=None)


def _text(value: str) -> str:
    """Text a spreadsheet would take for a formula, quoted with a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_cell(value: Cell, kind: Kind) -> str:
    """One CSV field: times in CST, rates as percentages, nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _cst(value).strftime(TIME_FORMAT)
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    return _text(value) if isinstance(value, str) else str(value)


def to_csv(table: Table) -> bytes:
    """The table as CSV in UTF-8 with a BOM (Excel opens it in Chinese), CRLF line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.header for c in table.columns])
    kinds = [c.kind for c in table.columns]
    for row in table.rows:
        w.writerow([csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def display_width(text: str) -> int:
    """Columns a text takes on screen: CJK and other wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def widths(table: Table) -> list[int]:
    """Each column's width: its widest header or cell (first rows), within bounds."""
    out = []
    for i, col in enumerate(table.columns):
        cells = [csv_cell(r[i], col.kind) for r in table.rows[:SAMPLE_ROWS]]
        w = max([display_width(col.header)] + [display_width(c) for c in cells])
        out.append(min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
    return out


def _put(ws, row: int, col: int, value: Cell, kind: Kind) -> None:
    """Write one cell: CST date-times, percentages, text never taken for a formula."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, datetime):
        cell.value = _cst(value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters: not in XML
        cell.data_type = "s"  # openpyxl would read a leading '=' as a formula
    else:
        cell.value = value
        if kind == "percent" and value is not None:
            cell.number_format = "0.0%"


def to_xlsx(table: Table) -> bytes:
    """The table as one Excel sheet: bold frozen header row, column widths set."""
    wb = Workbook()
    ws = wb.active
    ws.title = table.title[:31]
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(table.columns, start=1):
        cell = ws.cell(row=1, column=j, value=col.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for i, row in enumerate(table.rows, start=2):
        for j, (value, col) in enumerate(zip(row, table.columns, strict=True), start=1):
            _put(ws, i, j, value, col.kind)
    for j, w in enumerate(widths(table), start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
