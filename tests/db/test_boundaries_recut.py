"""Edits that re-cut units: a file of grids only whose shared edge moved re-cuts the units of
the two grids along it (preview first, --commit activates, rollback restores); what cannot be
re-cut says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
import support.territory as T
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text
from support.boundary_files import G1, UNITS, X0, Y0, D, territory, write
from support.planner import grids_moved
from typer.testing import CliRunner

from boundaries.core import run_import
from boundaries.export import feature_collection
from etl import streets as stl
from etl.demo import load_demo
from gis.intake import catalogue
from gis.intake.events import Report, ingest
from gis.territory import activation as act
from gis.territory.locator import Locator
from wangge.cli import app

STATE = ("SELECT md5(string_agg(concat_ws(',', id, generation_id, grid_id, unit_id, grid_code, "
         "unit_code, worker_id, location_status, street_code, community_code, status), ';' "
         "ORDER BY id)) FROM event")
# every building's units (containing its point) and grids in the active generation
PLACES = """
SELECT b.id,
       array(SELECT u.code FROM unit u WHERE u.generation_id = a.id
             AND ST_Intersects(u.geom, b.point) ORDER BY u.code) AS units,
       array(SELECT u.grid_code FROM unit u WHERE u.generation_id = a.id
             AND ST_Intersects(u.geom, b.point) ORDER BY u.code) AS unit_grids,
       (SELECT min(g.code) FROM grid g WHERE g.generation_id = a.id
        AND ST_Intersects(g.geom, b.point)) AS grid
FROM building b, generation a WHERE a.status = 'active' ORDER BY b.id
"""


def _moved_edge(engine: Engine, path: Path, metres: float = 40.0) -> tuple[Path, str, str]:
    """The active grids only, with a shared edge moved (``grids_moved``), written to ``path``."""
    content, a, b = grids_moved(engine, metres)
    path.write_bytes(content)
    return path, a, b


def _events_at_buildings(engine: Engine, grids: tuple[str, str]) -> int:
    """One open event at every building point of the two grids; returns how many."""
    with engine.connect() as c:
        it = sorted(catalogue.active_items(c))[0]
        pts = c.execute(text(
            "SELECT ST_X(b.point), ST_Y(b.point) FROM building b JOIN grid g ON g.generation_id "
            "= (SELECT id FROM generation WHERE status = 'active') AND g.code = ANY(:g) "
            "AND ST_Intersects(g.geom, b.point) ORDER BY b.id"), {"g": list(grids)}).all()
    loc = Locator(engine)
    for k in range(0, len(pts), 200):
        ingest(engine, loc, [Report(item=it, lon=x, lat=y) for x, y in pts[k:k + 200]])
    return len(pts)


def _stale(engine: Engine) -> list[int]:
    """Open events whose grid / unit codes are not the locator's answer for their point."""
    snap = Locator(engine).refresh(force=True)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, ST_X(geom), ST_Y(geom), grid_code, unit_code FROM event "
                              "WHERE status NOT IN ('closed', 'rejected', 'duplicate')")).all()
    g, u, _d = snap.locate_many(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
                                with_outside=False)
    return [r[0] for r, gi, ui in zip(rows, g, u, strict=True)
            if (r[3], r[4]) != (snap.grid_codes[gi] if gi >= 0 else None,
                                snap.unit_codes[ui] if ui >= 0 else None)]


def test_moving_a_grid_edge_recuts_units_previews_commits_and_rolls_back(
        clean_db: Engine, tmp_path: Path, monkeypatch) -> None:
    """Suzhou demo: a grids-only file with one shared edge moved 40 m. The preview lists the
    re-cut units of exactly those two grids and changes nothing; --commit activates a
    generation where every building lies in exactly one unit, of its own grid, of 1-3
    buildings; open events follow; rollback restores the former generation and events."""
    gen = load_demo(clean_db, n_events=60, days=1)
    path, a, b = _moved_edge(clean_db, tmp_path / "grids.geojson")
    n = _events_at_buildings(clean_db, (a, b))
    with clean_db.connect() as c:
        before = c.execute(text(STATE)).scalar_one()
        places_before = c.execute(text(PLACES)).all()
        n_gens = c.execute(text("SELECT count(*) FROM generation")).scalar_one()

    res = run_import(clean_db, path)
    assert res.exit_code == 0, res.report["groups"]
    rc = res.report["recut"]
    assert sorted(rc["grids"]) == sorted([a, b]) and {u["grid"] for u in rc["units"]} == {a, b}
    assert rc["counts"]["new"] + rc["counts"]["changed"] > 0 and rc["counts"]["kept"] > 0
    assert all(1 <= u["buildings"] <= 3 for u in rc["units"] if u["change"] != "retired")
    tot = res.report["preview"]["totals"]
    assert tot["buildings_moving"] > 0 and tot["events_changing_grid"] > 0
    assert tot["units_added"] == rc["counts"]["new"]
    assert tot["units_removed"] == rc["counts"]["retired"]
    assert tot["units_recut"] == rc["counts"]
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == n_gens
        assert c.execute(text(STATE)).scalar_one() == before

    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False)
                       .replace("+psycopg2", ""))
    r = CliRunner().invoke(app, ["boundaries", "import", str(path), "--commit"])
    assert r.exit_code == 0, r.output
    assert "重新划分单元：2 个网格的边界移动了" in r.output and "ACTIVATED" in r.output
    with clean_db.connect() as c:
        summary = c.execute(text("SELECT summary FROM boundary_activation ORDER BY id DESC "
                                 "LIMIT 1")).scalar_one()
        assert summary["units_recut"]["grids"] == 2
        places = c.execute(text(PLACES)).all()
        sizes = c.execute(text(
            "SELECT u.code, count(b.id) FROM unit u JOIN generation a ON a.id = u.generation_id "
            "AND a.status = 'active' LEFT JOIN building b ON ST_Intersects(u.geom, b.point) "
            "WHERE u.grid_code = ANY(:g) GROUP BY 1"), {"g": [a, b]}).all()
    assert len(places) == len(places_before) > 0
    for p in places:
        assert len(p.units) == 1 and p.unit_grids == [p.grid], p
    assert sizes and all(1 <= k <= 3 for _c, k in sizes), sizes
    moved = {p.id for p, q in zip(places, places_before, strict=True) if p.grid != q.grid}
    assert moved and all(q.grid == b for q in places_before if q.id in moved)
    assert not _stale(clean_db) and n > 0

    with clean_db.begin() as c:
        out = act.rollback(c)
    assert out["generation"] == gen
    with clean_db.connect() as c:
        assert c.execute(text(STATE)).scalar_one() == before
        assert c.execute(text(PLACES)).all() == places_before


def test_without_buildings_the_block_says_what_to_do_once(engine: Engine, demo_district: int,
                                                          tmp_path: Path) -> None:
    """The generated district has no buildings: its units cannot be re-cut; the units now
    outside their moved grid are folded under one recut_blocked line saying what to do."""
    path, a, b = _moved_edge(engine, tmp_path / "grids.geojson", metres=60.0)
    res = run_import(engine, path)
    assert res.exit_code == 1 and "recut" not in res.report
    by = {g["check"]: g for g in res.report["groups"]}
    assert "unit_outside_grid" not in by
    block = by["recut_blocked"]
    assert block["severity"] == "error" and block["count"] == 1
    item = block["items"][0]
    assert item["consequences"]["unit_outside_grid"] >= 1
    assert "未加载楼栋" in item["message"] and "请先导入楼栋，或在文件中给出这些网格的新单元" \
        in item["message"]
    assert a in item["message"] and b in item["message"]


def test_edited_units_of_a_moved_grid_are_not_recut_and_the_block_says_why(
        engine: Engine, demo_district: int, tmp_path: Path) -> None:
    """A file with grids and units where the shrunk grid's units were edited (not those of
    the active generation): they are the planner's, not re-cut; each unit left outside its
    grid is told in one sentence how to have them re-cut."""
    path, _a, b = _moved_edge(engine, tmp_path / "grids.geojson", metres=60.0)
    grids = json.loads(path.read_text())["features"]
    with engine.connect() as c:
        units = [f for f in feature_collection(c)["features"]
                 if f["properties"]["level"] == "unit"]
    mine = sorted((f for f in units if f["properties"]["parent_code"] == b),
                  key=lambda f: f["properties"]["code"])
    g = shape(mine[0]["geometry"])
    mine[0]["geometry"] = mapping(shapely.affinity.scale(g, 0.999, 0.999))  # an edit
    path.write_text(json.dumps({"type": "FeatureCollection", "features": grids + units}))
    res = run_import(engine, path)
    assert "recut" not in res.report or b not in res.report["recut"]["grids"]
    out = [p for p in res.report["problems"] if p["check"] == "unit_outside_grid"]
    assert {p["others"][0] for p in out} == {b} and not any(p.get("cause") for p in out)
    assert out and all("以便沿新网格边界自动重新划分" in p["message"] for p in out)


def test_recut_units_follow_stored_streets(clean_db: Engine, tmp_path: Path) -> None:
    """Two buildings passing from G2 to G1 on either side of a street: without street lines
    the re-cut pairs them in one new unit; with the street loaded, each gets its own."""
    assert run_import(clean_db, write(tmp_path / "t.geojson", territory()), commit=True
                      ).exit_code == 0
    w = D / UNITS
    for k, fy in enumerate((0.3, 0.7)):
        T.insert_building(clean_db, f"s{k}", None, X0 + D + 0.5 * w, Y0 + fy * D, d=w / 4)
    feats = [f for f in territory() if f["properties"]["level"] == "grid"]
    feats[0]["geometry"] = mapping(box(X0, Y0, X0 + D + 2 * w, Y0 + D))
    feats[1]["geometry"] = mapping(box(X0 + D + 2 * w, Y0, X0 + 2 * D, Y0 + D))
    path = write(tmp_path / "grids.geojson", feats)

    def new_units() -> list[int]:
        rc = run_import(clean_db, path).report["recut"]
        return sorted(u["buildings"] for u in rc["units"] if u["grid"] == G1
                      and u["change"] == "new")

    assert new_units() == [2]
    street = write(tmp_path / "street.geojson", [{
        "type": "Feature", "properties": {"highway": "residential"},
        "geometry": mapping(shapely.LineString([(X0 - D, Y0 + D / 2), (X0 + 4 * D,
                                                                         Y0 + D / 2)]))}])
    stl.load_file(clean_db, street, commit=True)
    assert new_units() == [1, 1]
    res = run_import(clean_db, path)
    assert res.report["recut"]["streets"] is True
