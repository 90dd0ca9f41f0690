"""Boundary import: units overlapping their neighbours block the import (area and place)."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text

from boundaries.core import run_import
from boundaries.export import feature_collection


def _inner_unit(engine: Engine, gen: int) -> str:
    """A unit with at least four neighbours, all of them in its own grid."""
    with engine.connect() as c:
        return c.execute(text(
            "SELECT u.code FROM unit u JOIN unit n ON n.generation_id = u.generation_id "
            "AND n.code <> u.code AND ST_Intersects(n.geom, u.geom) "
            "WHERE u.generation_id = :g GROUP BY u.code, u.grid_code "
            "HAVING count(*) >= 4 AND bool_and(n.grid_code = u.grid_code) "
            "ORDER BY u.code LIMIT 1"), {"g": gen}).scalar_one()


def _grown(engine: Engine, tmp_path: Path, gen: int, metres: float) -> tuple[Path, str]:
    """The active generation with one inner unit grown by ``metres`` (kept inside its grid)."""
    code = _inner_unit(engine, gen)
    with engine.connect() as c:
        fc = feature_collection(c, gen)
    grids = {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"]
             if f["properties"]["level"] == "grid"}
    for f in fc["features"]:
        if f["properties"]["code"] == code:
            g = shape(f["geometry"])
            grown = shapely.intersection(g.buffer(metres / 100_000.0, join_style="mitre"),
                                         grids[f["properties"]["parent_code"]])
            f["geometry"] = mapping(grown)
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps(fc))
    return path, code


def test_unit_overlap_is_blocking_with_area_and_place(engine: Engine, demo_district: int,
                                                      tmp_path: Path) -> None:
    path, code = _grown(engine, tmp_path, demo_district, 20.0)
    res = run_import(engine, path, commit=True)
    ov = [p for p in res.report["problems"] if p["check"] == "unit_overlap"]
    assert res.exit_code == 1 and not res.report["committed"], res.report["counts"]
    assert len({o["code"] for o in ov} | {x for o in ov for x in o["others"]}) >= 5
    assert all(o["severity"] == "error" and o["area_m2"] >= 5 for o in ov)
    assert all(code in [o["code"], *o["others"]] for o in ov)
    assert all(o["lon"] is not None and o["lat"] is not None for o in ov)
    assert sum(o["area_m2"] for o in ov) > 1000
    # nothing else blocks: the unit stays inside its grid, grids do not overlap
    assert {p["check"] for p in res.report["problems"] if p["severity"] == "error"} == {
        "unit_overlap"}
    feats = [f for f in res.problems_geojson["features"]
             if f["properties"]["check"] == "unit_overlap"]
    assert len(feats) == len(ov)
    with engine.connect() as c:
        assert c.execute(text("SELECT id FROM generation WHERE status = 'active'")
                         ).scalar_one() == demo_district


def test_unit_overlap_below_the_sliver_tolerance_is_a_warning(engine: Engine,
                                                              demo_district: int,
                                                              tmp_path: Path) -> None:
    path, _code = _grown(engine, tmp_path, demo_district, 0.005)
    res = run_import(engine, path)
    ov = [p for p in res.report["problems"] if p["check"] == "unit_overlap"]
    assert res.exit_code == 0 and res.report["acceptable"] and ov
    assert all(o["severity"] == "warning" and o["area_m2"] < 5 for o in ov)
