"""``wangge export events | assessment``: files with Chinese headers and names, filters."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import openpyxl
from support.territory import G1, G2

from gis.access.auth import Principal
from gis.intake import events
from gis.oversight.assessment import month_bounds
from gis.territory.locator import Locator
from gis.workflow import transitions as workflow


def _report(engine, item: str, lon: float, lat: float, at: datetime) -> int:
    """One report at a point; its id."""
    _s, stored, _r = events.ingest(engine, Locator(engine), [events.Report(
        item=item, source="worker", lon=lon, lat=lat, reported_at=at)])
    return stored[0]["id"]


def test_export_events_xlsx_and_csv_with_filters(cli, engine, tmp_path):
    """xlsx with names (grid G1, community, street, worker); csv with a BOM; --item, --days,
    --overdue, --status narrow it; a bad status is a JSON error and exit 1."""
    old = datetime.now(UTC) - timedelta(days=10)
    a = _report(engine, "safety.fire", 120.603, 31.305, old)            # G1
    b = _report(engine, "health.sanitation", 120.615, 31.303, datetime.now(UTC))  # G2
    out = tmp_path / "events.xlsx"
    r = cli("export", "events", "--out", out)
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out).active
    rows = [list(x) for x in ws.iter_rows(values_only=True)]
    head = rows[0]
    recs = [dict(zip(head, x, strict=True)) for x in rows[1:]]
    assert [x["事件编号"] for x in recs] == [a, b]
    assert (recs[0]["网格"], recs[0]["社区"], recs[0]["街道"]) == ("G1", "Test community",
                                                                "Test street")
    assert recs[0]["事项"] == "消防隐患" and recs[0]["状态"] == "已上报"
    assert recs[0]["责任网格员"] == "name W1" and recs[0]["来源"] == "网格员上报"
    assert (recs[0]["是否超期"], recs[1]["是否超期"]) == ("是", "否")  # 24 h limit, 10 days ago
    out_csv = tmp_path / "events.csv"
    r = cli("export", "events", "--out", out_csv, "--days", "3")
    assert r.exit_code == 0, r.output
    raw = out_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "事件编号" and [int(x[0]) for x in rows[1:]] == [b]
    assert rows[1][1] == "环境卫生"
    r = cli("export", "events", "--out", out_csv, "--item", "safety.fire", "--area", G1)
    assert [int(x[0]) for x in list(csv.reader(io.StringIO(
        out_csv.read_bytes().decode("utf-8-sig"))))[1:]] == [a]
    r = cli("export", "events", "--out", out_csv, "--overdue")
    assert [int(x[0]) for x in list(csv.reader(io.StringIO(
        out_csv.read_bytes().decode("utf-8-sig"))))[1:]] == [a]
    r = cli("export", "events", "--out", out_csv, "--area", G2, "--status", "closed")
    assert r.exit_code == 0 and len(out_csv.read_bytes().decode("utf-8-sig").splitlines()) == 1
    r = cli("export", "events", "--out", out_csv, "--status", "lost")
    assert r.exit_code == 1
    assert json.loads(r.output.strip().splitlines()[-1])["error"]["code"] == "unknown_status"


def test_export_assessment(cli, engine, tmp_path):
    """The month's indicators: the grid, its community and street, and its worker, named."""
    month = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")
    start, _end = month_bounds(month)
    eid = _report(engine, "safety.fire", 120.603, 31.305, start + timedelta(minutes=5))
    centre = Principal("district_centre", name="tests")
    for action in ("accept", "dispatch", "resolve", "close"):
        workflow.transition(engine, eid, action, centre,
                            level="grid" if action == "dispatch" else None)
    out = tmp_path / "kaohe.csv"
    r = cli("export", "assessment", "--month", month, "--out", out)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:4] == ["考核月份", "考核对象", "编码", "名称"]
    by = {(x[1], x[2]): x for x in rows[1:]}
    assert by[("网格", G1)][3] == "G1" and by[("网格员", "W1")][3] == "name W1"
    assert by[("街道", "320508001")][3] == "Test street"
    assert by[("网格", G1)][4:6] == ["1", "1"]  # 立案, 结案
    r = cli("export", "assessment", "--month", "2026-13", "--out", out)
    assert r.exit_code == 1 and "bad_month" in r.output
    r = cli("export", "assessment", "--month", month, "--out", out, "--format", "pdf")
    assert r.exit_code == 1 and "unknown_format" in r.output


def test_an_export_too_large_asks_for_a_narrower_filter(cli, engine, tmp_path, monkeypatch):
    """More events than the limit: exit 1, export_too_large, and no file written."""
    from gis.oversight import exports

    monkeypatch.setattr(exports, "MAX_ROWS", 1)
    for lon in (120.603, 120.604):
        _report(engine, "safety.fire", lon, 31.305, datetime.now(UTC))
    out = tmp_path / "big.xlsx"
    r = cli("export", "events", "--out", out)
    assert r.exit_code == 1 and "export_too_large" in r.output
    assert not out.exists()
