"""The exports' writer (gis.oversight.sheets): CST times, percentages, formula-like text kept
as text, CJK-aware column widths, a frozen header, the BOM."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from gis.errors import InvalidInput
from gis.oversight.sheets import Column, Table, display_width, render, to_csv, to_xlsx, widths

TABLE = Table("事件", (Column("事件编号", "int"), Column("事件描述"),
                     Column("上报时间(北京时间)", "time"), Column("按期结案率", "percent")),
              [(7, "=cmd|' /C calc'!A0", datetime(2026, 12, 4, 16, 30, tzinfo=UTC), 0.875),
               (8, "楼道堆物\x07", None, None)])


def test_xlsx_cells_header_and_widths() -> None:
    """Date-times in CST (16:30 UTC = 00:30 next day), the formula stays text, control
    characters dropped, a percent format, frozen bold header, wide CJK columns."""
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx(TABLE))).active
    assert ws.title == "事件" and ws.freeze_panes == "A2" and ws["A1"].font.bold
    assert [c.value for c in ws[1]] == ["事件编号", "事件描述", "上报时间(北京时间)", "按期结案率"]
    assert ws["C2"].value == datetime(2026, 12, 5, 0, 30)
    assert ws["B2"].value == "=cmd|' /C calc'!A0" and ws["B2"].data_type == "s"
    assert ws["B3"].value == "楼道堆物" and ws["D2"].number_format == "0.0%"
    assert ws.column_dimensions["C"].width == len("2026-12-05 00:30:00") + 2  # > its header
    assert ws.column_dimensions["B"].width >= display_width("=cmd|' /C calc'!A0") + 2


def test_csv_bom_cst_text_and_quoted_formulas() -> None:
    """UTF-8 BOM, CST times as text, rates as percentages, a formula quoted as text."""
    raw = to_csv(TABLE)
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1] == ["7", "'=cmd|' /C calc'!A0", "2026-12-05 00:30:00", "87.5%"]
    assert rows[2][2:] == ["", ""]


def test_widths_count_chinese_twice_within_bounds() -> None:
    """A CJK character takes two columns; no column is narrower than 6 or wider than 60."""
    assert display_width("网格A") == 5
    long = Table("t", (Column("x"),), [("长" * 100,)])
    assert widths(long) == [60] and widths(Table("t", (Column("x"),))) == [6]


def test_unknown_format_names_the_field() -> None:
    """render refuses a format it does not write, naming ``format``."""
    with pytest.raises(InvalidInput) as e:
        render(TABLE, "pdf")
    assert e.value.code == "unknown_format" and e.value.details[0]["field"] == "format"
