"""Cameras (validation, nearest first, API) and rosters (validation, masking)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from etl import cameras, roster
from etl.common import EtlError
from gis.geo.datum import from_wgs84, haversine_m

LON, LAT = 120.600, 31.305


def cam_csv(path: Path) -> Path:
    """Five good cameras east of (LON, LAT) and four bad rows."""
    gx, gy = from_wgs84(LON + 0.004, LAT, "gcj02")
    rows = [
        "code,name,lon,lat,type,direction,status,datum",
        f"C1,一号,{LON + 0.001},{LAT},fixed,90,online,wgs84",
        f"C2,二号,{LON + 0.0005},{LAT},球机,,在线,",
        f"C3,三号,{LON + 0.002},{LAT},ai,359.5,fault,wgs84",
        f"C4,四号,{gx},{gy},dome,10,offline,gcj02",
        f"C5,五号,{LON + 0.02},{LAT},fixed,0,online,wgs84",
        f"C1,dup,{LON},{LAT},fixed,0,online,wgs84",
        f"C7,bad,{LON},95.0,fixed,0,online,wgs84",
        f"C8,bad,abc,{LAT},fixed,0,online,wgs84",
        f"C9,bad,{LON},{LAT},tank,0,online,wgs84",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cameras_load_validate_and_nearest_first(demo_district, engine, tmp_path) -> None:
    r = cameras.load_file(engine, cam_csv(tmp_path / "c.csv"), commit=True)
    assert (r.rows_read, r.inserted, r.rejected) == (9, 5, 4)
    codes = {x.row: x.code for x in r.rejects}
    assert codes == {6: "duplicate_id", 7: "out_of_range", 8: "not_a_number", 9: "bad_type"}
    assert r.placement["in_grid"] >= 3
    again = cameras.load_file(engine, tmp_path / "c.csv", commit=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    near = cameras.cameras_near(engine, LON, LAT, 500)
    assert [c["code"] for c in near] == ["C2", "C1", "C3", "C4"]
    for c in near:
        assert abs(c["distance_m"] - haversine_m(LON, LAT, c["lon"], c["lat"])) < 2.0
    assert abs(near[3]["lon"] - (LON + 0.004)) < 1e-6  # GCJ-02 row converted to WGS84
    assert [c["code"] for c in cameras.cameras_near(engine, LON, LAT, 60)] == ["C2"]


def test_cameras_api_and_geojson(api, tmp_path) -> None:
    from gis.territory.synthetic import load_synthetic
    from wangge.app import create_app  # noqa: F401

    load_synthetic(api.app.state.engine)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "G1", "type": "ptz"},
         "geometry": {"type": "Point", "coordinates": [LON + 0.001, LAT]}},
        {"type": "Feature", "properties": {"code": "G2"},
         "geometry": {"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 1e-3]]}},
    ]}
    (tmp_path / "c.geojson").write_text(json.dumps(fc))
    r = cameras.load_file(api.app.state.engine, tmp_path / "c.geojson", commit=True)
    assert r.inserted == 1 and r.rejects[0].code == "not_a_point"
    res = api.get("/api/v1/cameras", params={"near": f"{LON},{LAT}", "radius": 300})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["count"] == 1 and body["cameras"][0]["code"] == "G1"
    assert 90 < body["cameras"][0]["distance_m"] < 100 and body["cameras"][0]["grid"]
    assert api.get("/api/v1/cameras", params={"near": "x"}).status_code == 422


def test_camera_file_errors(clean_db, tmp_path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(EtlError, match="empty"):
        cameras.load_file(clean_db, tmp_path / "e.csv")
    (tmp_path / "w.csv").write_text("id,name,x_coord,y_coord\nA,a,1,2\n")
    with pytest.raises(EtlError, match="missing column.*'x_coord'"):
        cameras.load_file(clean_db, tmp_path / "w.csv")


PHONE = "13812345678"
IDN = "11010519491231002X"


def test_roster_loads_roles_and_masks(demo_district, engine, tmp_path, caplog) -> None:
    with engine.connect() as c:
        grid, unit = c.execute(text("SELECT g.code, u.code FROM grid g JOIN unit u ON "
                                    "u.grid_code = g.code ORDER BY u.code LIMIT 1")).one()
    f = tmp_path / "r.csv"
    f.write_text(
        "worker_code,name,phone,id_number,role,area_code,valid_from,valid_to\n"
        f"X1,张三,{PHONE},{IDN},full_time,{grid},2024-01-01,\n"
        f"X1,张三,{PHONE},{IDN},unit_head,{unit},2024-01-01,2025-01-01\n"
        f"X2,李四,12345,,专职网格员,{grid},2024-01-01,\n"
        f"X3,王五,,110105194912310021,full_time,{grid},,\n"
        f"X4,赵六,,,captain,{grid},,\n"
        f"X5,钱七,,,full_time,999999,,\n"
        f"X6,孙八,,,full_time,{grid[:12]},,\n", encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    r = roster.load_file(engine, f, commit=True)
    assert r.rows_read == 7 and r.rejected == 5
    codes = {x.row: x.code for x in r.rejects}
    assert codes == {3: "bad_phone", 4: "bad_id_number", 5: "bad_role", 6: "unknown_area",
                     7: "not_grid_or_unit"}
    dumped = json.dumps(r.to_dict(), ensure_ascii=False) + caplog.text
    assert PHONE not in dumped and IDN not in dumped and "110105194912310021" not in dumped
    assert "138****5678" in dumped and "110105**********2X" in dumped
    with engine.connect() as c:
        w = c.execute(text("SELECT phone, id_number FROM worker WHERE code = 'X1'")).one()
        roles = c.execute(text("SELECT role, valid_to IS NOT NULL FROM grid_role r JOIN worker w "
                               "ON w.id = r.worker_id WHERE w.code = 'X1' ORDER BY role")).all()
    assert tuple(w) == (PHONE, IDN)
    assert [tuple(x) for x in roles] == [("full_time", False), ("unit_head", True)]
    again = roster.load_file(engine, f, commit=True)
    assert again.placement["roles_added"] == 0 and again.unchanged == 1
    with pytest.raises(EtlError, match="missing column.*role"):
        (tmp_path / "b.csv").write_text("worker_code,name,grid\nA,b,c\n")
        roster.load_file(engine, tmp_path / "b.csv")


def test_camera_crs_flag_converts_gcj02_and_bd09(demo_district, engine, settings,
                                                 tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from wangge.cli import app

    monkeypatch.chdir(tmp_path)  # the CLI writes its rejects file into the working directory

    pts = {"K1": (LON + 0.001, LAT), "K2": (LON + 0.002, LAT + 0.001), "K3": (LON, LAT + 0.002)}
    g1 = from_wgs84(*pts["K1"], "gcj02")
    g2 = from_wgs84(*pts["K2"], "gcj02")
    b3 = from_wgs84(*pts["K3"], "bd09")
    f = tmp_path / "k.csv"
    f.write_text("code,name,lon,lat,datum\n"
                 f"K1,a,{g1[0]},{g1[1]},\n"       # no datum: --crs gcj02 applies
                 f"K2,b,{g2[0]},{g2[1]},GCJ-02\n"
                 f"K3,c,{b3[0]},{b3[1]},bd09\n"   # the row's own datum wins over --crs
                 f"K4,d,{LON},{LAT},mars\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["etl", "cameras", str(f), "--crs", "gcj02", "--commit"],
                             env={"DATABASE_URL": settings.database_url})
    assert res.exit_code == 0, res.output
    with engine.connect() as c:
        got = {r.code: (r.x, r.y) for r in c.execute(text(
            "SELECT code, ST_X(geom) AS x, ST_Y(geom) AS y FROM camera"))}
    assert set(got) == {"K1", "K2", "K3"}
    for code, (lon, lat) in pts.items():
        assert haversine_m(lon, lat, *got[code]) < 0.5, code
    r = cameras.load_file(engine, f, crs="gcj02")
    assert r.crs == "gcj02" and r.unchanged == 3 and r.rejects[0].code == "unknown_datum"
    # taken as WGS84 instead, the same file moves the GCJ-02 cameras by hundreds of metres
    moved = cameras.prepare(cameras.read_cameras(f), cameras.Report("cameras", str(f)), "wgs84")
    k1 = moved[moved.code == "K1"].iloc[0]
    assert haversine_m(k1.lon, k1.lat, *pts["K1"]) > 100
    with pytest.raises(Exception, match="datum"):
        cameras.load_file(engine, f, crs="marsdatum")


def test_roster_valid_to_ends_a_role_and_reloads_are_idempotent(demo_district, engine,
                                                                tmp_path) -> None:
    from gis.territory.locator import Locator

    with engine.connect() as c:
        grid = c.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    head = "worker_code,name,phone,id_number,role,area_code,valid_from,valid_to\n"
    start = tmp_path / "start.csv"
    start.write_text(head + f"Y1,周一,,,full_time,{grid},2024-03-01,\n"
                     f"Y2,吴二,,,specialist,{grid},,\n", encoding="utf-8")
    end = tmp_path / "end.csv"
    end.write_text(head + f"Y1,周一,,,full_time,{grid},2024-03-01,2024-09-30\n"
                   f"Y2,吴二,,,specialist,{grid},,2099-10-31\n", encoding="utf-8")

    def roles() -> list[tuple]:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(
                "SELECT w.code, r.role, r.valid_to IS NOT NULL FROM grid_role r JOIN worker w "
                "ON w.id = r.worker_id WHERE w.code IN ('Y1', 'Y2') ORDER BY w.code, r.id"))]

    r = roster.load_file(engine, start, commit=True)
    assert r.rejected == 0 and r.placement["roles_added"] == 2
    assert roles() == [("Y1", "full_time", False), ("Y2", "specialist", False)]
    # preview of the end: nothing changes
    r = roster.load_file(engine, end)
    assert r.placement["roles_ended"] == 2 and roles()[0][2] is False
    r = roster.load_file(engine, end, commit=True)
    assert r.rejected == 0 and r.placement["roles_ended"] == 2
    assert r.placement["roles_added"] == 0
    assert roles() == [("Y1", "full_time", True), ("Y2", "specialist", True)]
    for _ in range(2):  # reloading the same roster changes nothing
        again = roster.load_file(engine, end, commit=True)
        assert again.rejected == 0 and again.placement["roles_added"] == 0
        assert again.placement["roles_changed"] == 0 and again.placement["roles_unchanged"] == 2
        assert roles() == [("Y1", "full_time", True), ("Y2", "specialist", True)]
    # the ended role no longer makes Y1 responsible now; it did during its period
    snap = Locator(engine).refresh(force=True)
    from datetime import UTC, datetime

    during = snap.responsible(grid, datetime(2024, 6, 1, tzinfo=UTC))
    now = snap.responsible(grid)
    with engine.connect() as c:
        y1 = c.execute(text("SELECT id FROM worker WHERE code = 'Y1'")).scalar_one()
    assert now is None or now.worker_id != y1
    assert during is not None
    # ending a role nobody holds is reported, not guessed
    ghost = tmp_path / "ghost.csv"
    ghost.write_text(head + f"Y3,郑三,,,full_time,{grid},,2024-01-31\n", encoding="utf-8")
    r = roster.load_file(engine, ghost, commit=True)
    assert [x.code for x in r.rejects] == ["nothing_to_end"]
    # so is an end before the start of the role it would end (it started at its first load)
    early = tmp_path / "early.csv"
    early.write_text(head + f"Y2,吴二,,,auxiliary,{grid},,\n", encoding="utf-8")
    roster.load_file(engine, early, commit=True)
    early.write_text(head + f"Y2,吴二,,,auxiliary,{grid},,2024-01-31\n", encoding="utf-8")
    r = roster.load_file(engine, early, commit=True)
    assert [x.code for x in r.rejects] == ["ends_before_start"]
    assert roles()[-1] == ("Y2", "auxiliary", False)
