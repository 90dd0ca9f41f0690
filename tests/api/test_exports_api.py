"""Exports through the API: the events (as filtered, the caller's area only) and the
assessment as Excel and as CSV with a BOM, with Chinese headers and names."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import text
from support.workflow import G1, G2, G_OTHER_STREET, bearer, grid_point

from gis.oversight.sheets import MEDIA_TYPES

COMMUNITY = "320508001001"   # holds G1 and G2
XLSX = MEDIA_TYPES["xlsx"]


def _post(client, engine, grid: str, item: str, description: str = "",
          reported_at: datetime | None = None) -> int:
    """Report an event in ``grid``; its id."""
    lon, lat = grid_point(engine, grid)
    body = {"item": item, "lon": lon, "lat": lat, "description": description}
    if reported_at is not None:
        body["reported_at"] = reported_at.isoformat()
    r = client.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _sheet(content: bytes) -> list[list]:
    """The rows of the only sheet of an .xlsx file, header first."""
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert len(wb.sheetnames) == 1
    ws = wb.active
    assert ws.freeze_panes == "A2"  # the header row stays in view
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _csv(content: bytes) -> list[list[str]]:
    """The rows of a CSV export; it must start with the UTF-8 BOM."""
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _records(rows: list[list]) -> list[dict]:
    """Rows under their headers."""
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.fixture()
def three(client, engine):
    """Fire hazard in G1 (yesterday), sanitation in G2 (now, with a formula-like
    description), fire hazard in another street (now); one name of G1's area known."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    ids = {"g1": _post(client, engine, G1, "safety.fire", reported_at=yesterday),
           "g2": _post(client, engine, G2, "health.sanitation", "=HYPERLINK(\"x\")"),
           "far": _post(client, engine, G_OTHER_STREET, "safety.fire")}
    with engine.connect() as conn:
        names = conn.execute(text(
            "SELECT g.name AS grid, c.name AS community, s.name AS street FROM grid g "
            "JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active' "
            "JOIN community c ON c.code = g.community_code AND c.generation_id = g.generation_id "
            "JOIN street s ON s.code = c.street_code AND s.generation_id = g.generation_id "
            "WHERE g.code = :g"), {"g": G1}).mappings().one()
    return ids, dict(names)


def test_events_xlsx_of_a_community_dispatcher_holds_only_its_area(client, engine, three):
    """The dispatcher's export: its two events, Chinese headers, names, statuses, CST times."""
    ids, names = three
    r = client.get("/api/v1/events/export?format=xlsx",
                   headers=bearer(engine, "community_dispatcher", COMMUNITY))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    cd = r.headers["content-disposition"]
    assert cd.startswith('attachment; filename="wangge-events-') and '.xlsx"' in cd
    assert unquote(cd.split("filename*=UTF-8''")[1]).startswith("事件导出-")
    rows = _sheet(r.content)
    assert rows[0][:4] == ["事件编号", "事项", "事项类别", "状态"]
    assert "上报时间(北京时间)" in rows[0] and "街道" in rows[0] and "网格" in rows[0]
    recs = _records(rows)
    assert [x["事件编号"] for x in recs] == [ids["g1"], ids["g2"]]  # oldest first; not "far"
    first = recs[0]
    assert (first["事项"], first["状态"], first["办理层级"]) == ("消防隐患", "已上报", "网格")
    assert (first["网格"], first["社区"], first["街道"]) == (names["grid"], names["community"],
                                                       names["street"])
    assert first["网格编码"] == G1 and first["来源"] == "群众上报"  # the default source
    with engine.connect() as conn:
        at = conn.execute(text("SELECT reported_at FROM event WHERE id = :i"),
                          {"i": ids["g1"]}).scalar()
    shown = first["上报时间(北京时间)"]
    assert shown == (at + timedelta(hours=8)).replace(tzinfo=None, microsecond=shown.microsecond)
    assert recs[1]["事件描述"] == "=HYPERLINK(\"x\")"  # text, never a formula


def test_events_csv_has_a_bom_and_honours_the_filters(client, engine, three):
    """CSV: BOM, Chinese headers; item, status, area and time filters; CST times as text."""
    ids, _names = three
    centre = client.headers
    r = client.get("/api/v1/events/export?format=csv&item=safety.fire", headers=centre)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="wangge-events-' in r.headers["content-disposition"]
    recs = _records(_csv(r.content))
    assert [int(x["事件编号"]) for x in recs] == [ids["g1"], ids["far"]]
    assert recs[0]["事项"] == "消防隐患" and recs[0]["状态"] == "已上报"
    assert len(recs[0]["上报时间(北京时间)"]) == 19  # 2026-12-04 18:30:00
    r = client.get("/api/v1/events/export?format=csv&item=health,safety.fire", headers=centre)
    assert len(_csv(r.content)) == 4  # a class and an item: all three
    r = client.get(f"/api/v1/events/export?format=csv&area={COMMUNITY}", headers=centre)
    recs = _records(_csv(r.content))
    assert [int(x["事件编号"]) for x in recs] == [ids["g1"], ids["g2"]]
    assert recs[1]["事件描述"] == "'=HYPERLINK(\"x\")"  # a spreadsheet shows it as text
    since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    r = client.get("/api/v1/events/export", params={"format": "csv", "since": since},
                   headers=centre)
    assert [int(x["事件编号"]) for x in _records(_csv(r.content))] == [ids["g2"], ids["far"]]
    client.post(f"/api/v1/events/{ids['g2']}/transitions", json={"action": "accept"})
    r = client.get("/api/v1/events/export?format=csv&status=accepted", headers=centre)
    recs = _records(_csv(r.content))
    assert [(int(x["事件编号"]), x["状态"]) for x in recs] == [(ids["g2"], "已受理")]


def test_an_area_outside_the_callers_own_exports_nothing(client, engine, three):
    """Asking for another street's events answers as if there were none."""
    r = client.get("/api/v1/events/export?format=csv&area=320508002",
                   headers=bearer(engine, "community_dispatcher", COMMUNITY))
    assert r.status_code == 200
    rows = _csv(r.content)
    assert len(rows) == 1 and rows[0][0] == "事件编号"  # the header row only


def test_bad_format_is_422_with_the_error_body(client, engine):
    """format=pdf: 422 naming the field, in the project's error body."""
    for path in ("/api/v1/events/export?format=pdf",
                 "/api/v1/assessment/export?format=pdf&month=2026-11"):
        r = client.get(path)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] and any(d["field"] == "format" for d in err["details"])
    r = client.get("/api/v1/events/export?status=lost")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "status"


def test_assessment_export_names_streets_grids_and_workers(client, engine, three):
    """The month's indicators per street, community, grid and worker, with names."""
    ids, names = three
    for action in ("accept", "dispatch", "resolve", "close"):
        r = client.post(f"/api/v1/events/{ids['g1']}/transitions",
                        json={"action": action, "level": "grid"} if action == "dispatch"
                        else {"action": action})
        assert r.status_code == 200, r.text
    with engine.connect() as conn:
        month = conn.execute(text("SELECT to_char(now() AT TIME ZONE 'UTC' + interval '8 hours'"
                                  ", 'YYYY-MM')")).scalar()
        worker = conn.execute(text("SELECT w.code, w.name FROM event e JOIN worker w ON "
                                   "w.id = e.worker_id WHERE e.id = :i"),
                              {"i": ids["g1"]}).mappings().one()
    r = client.get(f"/api/v1/assessment/export?format=xlsx&month={month}",
                   headers=bearer(engine, "community_dispatcher", COMMUNITY))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    cd = r.headers["content-disposition"]
    assert f'filename="wangge-assessment-{COMMUNITY}-{month}.xlsx"' in cd
    assert unquote(cd.split("filename*=UTF-8''")[1]) == f"考核指标-{COMMUNITY}-{month}.xlsx"
    rows = _sheet(r.content)
    assert rows[0] == ["考核月份", "考核对象", "编码", "名称", "立案数", "结案数", "按期结案数",
                       "按期结案率", "结案率", "返工数", "超期数"]
    by = {(x["考核对象"], x["编码"]): x for x in _records(rows)}
    assert set(k[0] for k in by) == {"社区", "网格", "网格员", "街道"}
    assert by[("网格", G1)]["名称"] == names["grid"]
    assert by[("社区", COMMUNITY)]["名称"] == names["community"]
    w = by[("网格员", worker["code"])]
    assert w["名称"] == worker["name"] and (w["立案数"], w["结案数"]) == (1, 1)
    assert not any(k[1].startswith("320508002") for k in by)  # not the other street
    r = client.get(f"/api/v1/assessment/export?format=csv&month={month}&area=320508002",
                   headers=bearer(engine, "community_dispatcher", COMMUNITY))
    assert r.status_code == 403 and r.json()["error"]["code"] == "outside_area"
    csv_rows = _csv(client.get(f"/api/v1/assessment/export?format=csv&month={month}").content)
    assert csv_rows[0][0] == "考核月份" and len(csv_rows) > 1


def test_roles_as_the_assessment_endpoint(client, engine):
    """A planner gets no assessment (403 wrong_role); no token: 401."""
    r = client.get("/api/v1/assessment/export?month=2026-11",
                   headers=bearer(engine, "planner"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"
    r = client.get("/api/v1/events/export", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
