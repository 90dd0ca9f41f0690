"""Suggested grid boundaries (wangge boundaries suggest): on the generated district with the
events of two months crowded into three grids, the suggestion evens out each community's
workload, keeps every unit whole in one grid of its own community and every grid in one piece,
imports cleanly as a preview, and changes nothing active; bad options are refused clearly."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text
from support.suggest import HOT, crowd

from boundaries.core import run_import
from boundaries.suggest import Weights, suggest
from etl import streets as stl
from gis.errors import InvalidInput, NotFound
from gis.intake.patrols import Fix, ingest_track
from gis.territory.locator import Locator

ACTIVE = ("SELECT md5(string_agg(concat_ws(',', g.id, g.status, "
          "(SELECT string_agg(code || grid_code || ST_AsText(geom), ';' ORDER BY code) FROM unit "
          "WHERE generation_id = g.id)), ';' ORDER BY g.id)) FROM generation g")
EVENTS = ("SELECT md5(string_agg(concat_ws(',', id, grid_code, unit_code, generation_id), ';' "
          "ORDER BY id)) FROM event")


def _state(engine: Engine) -> tuple[str, str]:
    """Fingerprints of the generations (with their units) and of the events' places."""
    with engine.connect() as c:
        return c.execute(text(ACTIVE)).scalar(), c.execute(text(EVENTS)).scalar()


def _file(path: Path) -> dict[str, list[dict]]:
    """The written file's features by level."""
    out: dict[str, list[dict]] = defaultdict(list)
    for f in json.loads(path.read_text(encoding="utf-8"))["features"]:
        out[f["properties"]["level"]].append(f)
    return out


def test_the_suggestion_evens_out_workload_and_keeps_grids_whole(
        clean_db: Engine, demo_district: int, tmp_path: Path) -> None:
    """Spread lower in every crowded community; units whole, in one grid of their community;
    grids in one piece inside their community; the file imports cleanly; nothing changed."""
    n = crowd(clean_db)
    assert n == 3 * 9 * 6
    before = _state(clean_db)
    out = tmp_path / "suggested.geojson"
    s = suggest(clean_db, out, months=3)
    assert _state(clean_db) == before  # nothing active changed, no generation kept
    crowded = {g[:12] for g in HOT}
    for c in s.communities:
        if c.code in crowded:
            assert c.after.cv < c.before.cv * 0.6, c
            assert c.after.max - c.after.min < c.before.max - c.before.min
        else:
            assert c.moves == 0 and c.after == c.before
    assert s.units_moved > 0 and s.events_moved > 0 and s.grids
    # the special (industrial) grid of the last community is left as it is
    assert {c.code: c.grids for c in s.communities}["320508002004"] == 3
    assert "320508002004004" not in {g.was for g in s.grids}
    renamed = [g for g in s.grids if g.code != g.was]
    for g in renamed:  # a new code only for a grid that became another one
        assert 2 * (g.units_before - g.units_out) < min(g.units_before, g.units_after)
        assert g.code[:12] == g.was[:12] and g.code not in {x.was for x in s.grids}
    assert len(renamed) < len(s.grids) / 2
    _check_file(clean_db, out)
    res = s.preview
    assert res is not None and res.exit_code == 0 and res.report["acceptable"], \
        [p for p in res.report["problems"] if p["severity"] == "error"]
    assert res.report["committed"] is False and "recut" not in res.report
    totals = res.report["preview"]["totals"]
    assert totals["grids_changed"] == len(s.grids) - len(renamed)
    assert totals["grids_added"] == totals["grids_removed"] == len(renamed)
    again = run_import(clean_db, out)  # the written file, read back by the importer
    assert again.exit_code == 0 and again.report["acceptable"]
    assert _state(clean_db) == before


def _key(g: shapely.Geometry) -> tuple[float, float]:
    """A unit's outline as a key: its centroid to 1e-7 degrees."""
    return tuple(np.round(g.centroid.coords[0], 7))


def _check_file(engine: Engine, out: Path) -> None:
    """Every active unit's outline in exactly one grid of its own community, under a code that
    starts with its grid's; grids in one piece, inside their community, tiling it."""
    f = _file(out)
    grids = {g["properties"]["code"]: g for g in f["grid"]}
    comms = {c["properties"]["code"]: shape(c["geometry"]) for c in f["community"]}
    with engine.connect() as c:
        active = {_key(shapely.from_wkt(r.wkt)): r.community_code for r in c.execute(text(
            "SELECT ST_AsText(u.geom) AS wkt, g.community_code FROM unit u JOIN grid g ON "
            "g.generation_id = u.generation_id AND g.code = u.grid_code WHERE u.generation_id "
            "= (SELECT id FROM generation WHERE status = 'active')"))}
    assert len(f["unit"]) == len(active) == 288 and len(grids) == 32
    for u in f["unit"]:
        p = u["properties"]
        g = grids[p["parent_code"]]
        assert p["code"].startswith(p["parent_code"]) and len(p["code"]) == len(g["properties"][
            "code"]) + 3
        assert g["properties"]["parent_code"] == active[_key(shape(u["geometry"]))]
        assert shape(g["geometry"]).buffer(1e-9).contains(shape(u["geometry"]))
    assert len({u["properties"]["code"] for u in f["unit"]}) == 288
    for code, g in grids.items():
        geom = shape(g["geometry"])
        assert len(shapely.get_parts(geom)) == 1, code
        assert comms[g["properties"]["parent_code"]].buffer(1e-9).contains(geom)
    for code, cg in comms.items():
        mine = [shape(g["geometry"]) for g in grids.values()
                if g["properties"]["parent_code"] == code]
        assert abs(sum(m.area for m in mine) - cg.area) < 1e-9 * cg.area + 1e-12


def _paired_streets(engine: Engine, path: Path) -> list[list[tuple[float, float]]]:
    """Streets around blocks of two units (rows 1-2 of each column of a grid) and of one unit
    (row 3), written to ``path``; returns the blocks of two (their units' centroid keys)."""
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT code, ST_AsText(geom) AS wkt FROM unit WHERE generation_id = (SELECT id "
            "FROM generation WHERE status = 'active') ORDER BY code")).all()
    units = {r.code: shapely.from_wkt(r.wkt) for r in rows}
    pairs, outlines = [], []
    for code, g in units.items():
        k = int(code[-3:]) - 1
        if k < 3:  # row 1: paired with the unit above it (row 2)
            other = units[f"{code[:-3]}{k + 4:03d}"]
            pairs.append([_key(g), _key(other)])
            outlines.append(shapely.union_all([g, other], grid_size=1e-9).exterior)
        elif k >= 6:
            outlines.append(shapely.get_exterior_ring(shapely.get_parts(g)[0]))
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "residential"},
         "geometry": mapping(shapely.LineString(o.coords))} for o in outlines]}))
    return pairs


def test_boundaries_move_along_streets_keeping_blocks_whole(
        clean_db: Engine, demo_district: int, tmp_path: Path) -> None:
    """With streets around blocks of two units, the two units of a block end in one grid,
    and the spread still falls."""
    pairs = _paired_streets(clean_db, tmp_path / "streets.geojson")
    stl.load_file(clean_db, tmp_path / "streets.geojson", commit=True)
    crowd(clean_db)
    out = tmp_path / "s.geojson"
    s = suggest(clean_db, out, months=3)
    assert s.streets and s.preview is not None and s.preview.report["acceptable"]
    crowded = [c for c in s.communities if c.code in {g[:12] for g in HOT}]
    assert crowded and all(c.after.cv < c.before.cv * 0.7 for c in crowded)
    assert s.units_moved > 0
    grid_of = {_key(shape(u["geometry"])): u["properties"]["parent_code"]
               for u in _file(out)["unit"]}
    assert all(grid_of[a] == grid_of[b] for a, b in pairs)


def test_weights_are_stated_and_set_by_options(clean_db: Engine, demo_district: int,
                                               tmp_path: Path) -> None:
    """Events weighted 0: the crowded grids weigh as much as the others, nothing moves."""
    crowd(clean_db)
    s = suggest(clean_db, tmp_path / "s.geojson", months=3, weights=Weights(events=0.0))
    assert s.units_moved == 0 and s.grids == []
    assert all(c.before.cv == 0 for c in s.communities)
    assert "0×每月事件数" in s.weights.text()


def _patrol(engine: Engine, grid: str, days_ago: int, times: int = 3) -> None:
    """``times`` patrols of ``grid``'s worker through the centres of its units, ``days_ago``."""
    with engine.connect() as c:
        pts = c.execute(text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM unit "
            "WHERE generation_id = (SELECT id FROM generation WHERE status = 'active') "
            "AND grid_code = :g ORDER BY code"), {"g": grid}).all()
    loc = Locator(engine)
    for k in range(times):
        t0 = datetime.now(UTC) - timedelta(days=days_ago, hours=k)
        fixes = [Fix(x, y, t0 + timedelta(minutes=2 * i)) for i, (x, y) in enumerate(pts)]
        ingest_track(engine, loc, f"W{grid}", fixes)


def test_patrol_effort_in_the_period_weighs(clean_db: Engine, demo_district: int,
                                           tmp_path: Path) -> None:
    """Events weighted 0: the grid patrolled last month sheds units; a grid patrolled before
    the period weighs as before."""
    recent, old = "320508001003001", "320508001004001"
    _patrol(clean_db, recent, 10)
    _patrol(clean_db, old, 200)
    s = suggest(clean_db, tmp_path / "s.geojson", months=3,
                weights=Weights(events=0.0, patrol_km=100.0))
    by = {c.code: c for c in s.communities}
    assert by[recent[:12]].before.cv > 0.3 and by[recent[:12]].after.cv < by[recent[:12]].before.cv
    assert by[old[:12]].before.cv == 0 and by[old[:12]].moves == 0
    assert {g.community for g in s.grids} == {recent[:12]}
    assert s.preview is not None and s.preview.report["acceptable"]


def test_buildings_and_floor_area_weigh(clean_db: Engine, demo_district: int,
                                        tmp_path: Path) -> None:
    """Events weighted 0: the grid with the buildings sheds units; floors unknown are counted
    with the median of the known ones and said so."""
    grid = "320508002001004"
    with clean_db.begin() as c:
        c.execute(text(
            "INSERT INTO building (source, source_id, floors, geom) "
            "SELECT 'test', u.code || '-' || k, CASE WHEN k = 1 THEN NULL ELSE 6 END, "
            "ST_Multi(ST_Buffer(ST_PointOnSurface(u.geom), 0.0001, 'quad_segs=2')) "
            "FROM unit u, generate_series(1, 2) k WHERE u.grid_code = :g AND u.generation_id "
            "= (SELECT id FROM generation WHERE status = 'active')"), {"g": grid})
    s = suggest(clean_db, tmp_path / "s.geojson", months=1,
                weights=Weights(events=0.0, buildings=1.0, floor_area=1.0))
    assert s.buildings_imputed == 9
    by = {c.code: c for c in s.communities}[grid[:12]]
    assert by.before.max > 2 * by.before.min and by.after.cv < by.before.cv / 2
    assert {g.community for g in s.grids} == {grid[:12]}


def test_bad_options_are_refused_clearly(clean_db: Engine, demo_district: int,
                                         tmp_path: Path) -> None:
    """Months ≤ 0, an unknown community and negative weights: typed errors, no file."""
    out = tmp_path / "s.geojson"
    for months in (0, -3):
        with pytest.raises(InvalidInput) as e:
            suggest(clean_db, out, months=months)
        assert e.value.code == "bad_months" and "月数" in e.value.message
    with pytest.raises(NotFound) as nf:
        suggest(clean_db, out, communities=["320508001001", "999999"])
    assert nf.value.code == "unknown_community" and "999999" in nf.value.message
    assert "320508001001" not in nf.value.message
    with pytest.raises(InvalidInput) as w:
        suggest(clean_db, out, weights=Weights(patrol_km=-1))
    assert w.value.code == "bad_weight"
    assert not out.exists()
