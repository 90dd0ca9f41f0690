"""Unit drawing on the real Suzhou block, and unit redraws as new generations."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import text

from etl import demo
from etl.units import Buildings, DrawParams, draw_territory, group_units, hilbert_index


@pytest.fixture(scope="module")
def suzhou() -> Buildings:
    """The 3,076 real buildings."""
    path = demo.data_path()
    if not path.exists():
        pytest.fail(f"shared demo data missing: {path}")
    g = gpd.read_file(path)
    geoms = g.geometry.to_numpy()
    pts = shapely.point_on_surface(geoms)
    return Buildings([str(i + 1) for i in range(len(g))], geoms, shapely.get_x(pts),
                     shapely.get_y(pts), g["Floor"].to_numpy().astype(float))


@pytest.fixture(scope="module")
def drawn(suzhou):
    """The Suzhou block drawn once."""
    return draw_territory(suzhou, "320508", "Gusu")


def test_units_follow_the_rules_on_the_real_block(suzhou, drawn) -> None:
    areas = drawn.areas
    levels = Counter(a.level for a in areas)
    assert levels["district"] == 1 and levels["street"] >= 2 and levels["grid"] >= 8
    assert all(a.geom.is_valid and not a.geom.is_empty for a in areas)
    grids = {a.code: a.geom for a in areas if a.level == "grid"}
    units = [a for a in areas if a.level == "unit"]
    # every grid sized for one worker
    per_grid = Counter(drawn.building_grid)
    assert max(per_grid.values()) <= DrawParams().grid_max_buildings
    # 1-3 buildings per unit, every building in exactly one unit
    sizes = Counter(len(u.extra["buildings"]) for u in units)
    assert set(sizes) <= {1, 2, 3}
    assert sum(len(u.extra["buildings"]) for u in units) == len(suzhou)
    # codes: grid code + 3 digits, never across the grid boundary
    ugeom = {u.code: u.geom for u in units}
    for u in units:
        assert u.code.startswith(u.parent_code) and len(u.code) == len(u.parent_code) + 3
        assert shapely.area(shapely.difference(u.geom, grids[u.parent_code])) < 1e-12
    # units do not overlap
    arr = np.array([u.geom for u in units])
    a, b = shapely.STRtree(arr).query(arr, predicate="intersects")
    m = a < b
    assert shapely.area(shapely.intersection(arr[a[m]], arr[b[m]])).max() < 1e-12
    # each building's point lies in its unit, which covers the building (except where
    # footprints of two buildings overlap in the source data)
    pts = shapely.points(suzhou.lon, suzhou.lat)
    assert all(ugeom[drawn.building_unit[i]].covers(pts[i]) for i in range(len(suzhou)))
    cover = shapely.area(shapely.intersection(
        suzhou.geoms, np.array([ugeom[c] for c in drawn.building_unit]))) / shapely.area(
        suzhou.geoms)
    assert np.mean(cover > 0.99) > 0.99
    # units tile their grids
    dist = [x.geom for x in areas if x.level == "district"][0]
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(arr), dist)) < 1e-10


def test_same_codes_on_a_second_run(suzhou, drawn) -> None:
    again = draw_territory(suzhou, "320508", "Gusu")
    assert again.building_unit == drawn.building_unit
    assert [a.code for a in again.areas] == [a.code for a in drawn.areas]


def test_grouping_is_deterministic_and_local() -> None:
    x = np.array([0.0, 10, 20, 500, 510, 2000])
    y = np.zeros(6)
    labels = group_units(x, y, [str(i) for i in range(6)], 3, 60.0)
    assert labels.tolist() == [0, 0, 0, 1, 1, 2]
    assert len(set(hilbert_index(x, y).tolist())) == 6


def test_redraw_units_of_one_grid_is_a_new_generation(clean_db) -> None:
    from support.etl import boxes

    from etl import buildings as bld
    from etl import draw
    from etl.common import Report
    from etl.units import Buildings as B  # noqa: F401

    g = boxes(12)
    g2 = boxes(12, lat=31.3065)
    g2["bid"] = [f"C{i}" for i in range(12)]
    frame = bld.prepare(gpd.GeoDataFrame(
        gpd.pd.concat([g, g2], ignore_index=True), crs=4326), Report("b", "x"), id_field="bid")
    bld.load_frame(clean_db, frame, "t", Report("b", "x"))
    out = draw.draw_district(clean_db, "320508", "T", params=DrawParams(grid_max_buildings=12),
                             commit=True)
    gen1 = out["generation"]
    assert out["levels"]["grid"] == 2 and out["levels"]["unit"] >= 8
    with clean_db.connect() as c:
        grid_codes = [r[0] for r in c.execute(text(
            "SELECT code FROM grid WHERE generation_id = :g ORDER BY code"), {"g": gen1})]
        before = c.execute(text("SELECT count(*) FROM unit WHERE generation_id = :g"),
                           {"g": gen1}).scalar_one()
    prev = draw.redraw_units(clean_db, [grid_codes[0]], DrawParams(unit_max_buildings=1))
    assert prev["generation"] is None and prev["units"] == 12
    res = draw.redraw_units(clean_db, [grid_codes[0]], DrawParams(unit_max_buildings=1),
                            commit=True)
    with clean_db.connect() as c:
        active = c.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar()
        n = dict(c.execute(text("SELECT grid_code, count(*) FROM unit WHERE generation_id = :g "
                                "GROUP BY grid_code"), {"g": active}).all())
    assert active == res["generation"] != gen1
    assert n[grid_codes[0]] == 12 and sum(n.values()) == before - (before - n[grid_codes[1]])\
        + 12
    with pytest.raises(Exception, match="no grid 320508999999999"):
        draw.redraw_units(clean_db, ["320508999999999"])


def _unit_of_buildings(engine) -> dict[str, str]:
    """Each building's unit code in the active generation (by the locator)."""
    from gis.territory.locator import Locator

    snap = Locator(engine).refresh(force=True)
    with engine.connect() as c:
        rows = c.execute(text("SELECT source_id, ST_X(point), ST_Y(point) FROM building")).all()
    _g, u, _d = snap.locate_many(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
                                 with_outside=False)
    return {r[0]: snap.unit_codes[i] for r, i in zip(rows, u, strict=True) if i >= 0}


def test_redraw_keeps_codes_of_unchanged_units(clean_db) -> None:
    from support.etl import boxes

    from etl import buildings as bld
    from etl import draw
    from etl.common import Report

    g = boxes(12)
    g2 = boxes(12, lat=31.3065)
    g2["bid"] = [f"C{i}" for i in range(12)]
    both = gpd.GeoDataFrame(gpd.pd.concat([g, g2], ignore_index=True), crs=4326)
    bld.load_frame(clean_db, bld.prepare(both, Report("b", "x"), id_field="bid"), "t",
                   Report("b", "x"))
    draw.draw_district(clean_db, "320508", "T", params=DrawParams(grid_max_buildings=12),
                       commit=True)
    before = _unit_of_buildings(clean_db)
    assert len(before) == 24
    with clean_db.connect() as c:
        grids = c.execute(text("SELECT code FROM grid g JOIN generation n ON n.id = "
                               "g.generation_id AND n.status = 'active' ORDER BY code")
                          ).scalars().all()
    # a redraw of unchanged buildings changes no code
    same = draw.redraw_units(clean_db, None, commit=True)
    assert same["codes"]["new"] == 0 and _unit_of_buildings(clean_db) == before
    # one building added between B4 and B5
    extra = boxes(1, lon=120.600 + 0.00235)
    extra["bid"] = ["NEW"]
    bld.load_frame(clean_db, bld.prepare(extra, Report("b", "x"), id_field="bid"), "t",
                   Report("b", "x"))
    out = draw.redraw_units(clean_db, None, commit=True)
    after = _unit_of_buildings(clean_db)
    assert {k: after[k] for k in before} == before  # every old building keeps its unit code
    groups = Counter(after.values())
    assert set(groups.values()) <= {1, 2, 3} and out["codes"]["retired"] == 0
    gb = after["B0"][:-3]  # the grid of the B row (and of the new building)
    assert after["NEW"].startswith(gb) and gb in grids
    if groups[after["NEW"]] == 1:  # a unit of its own: a new code after the grid's last
        assert after["NEW"] not in before.values() and out["codes"]["new"] == 1
        assert int(after["NEW"][-3:]) == max(int(c[-3:]) for c in before.values()
                                             if c.startswith(gb)) + 1
    # regrouping everything into single-building units: codes follow the buildings
    one = draw.redraw_units(clean_db, [gb], DrawParams(unit_max_buildings=1),
                            commit=True, regroup=True)
    single = _unit_of_buildings(clean_db)
    assert one["codes"]["by_overlap"] + one["codes"]["kept_or_same_buildings"] == len(
        {c for c in after.values() if c.startswith(gb)})
    for code in {c for c in after.values() if c.startswith(gb)}:
        assert sum(single[b] == code for b in after if after[b] == code) == 1
    other = [k for k, v in before.items() if not v.startswith(gb)]  # the other grid
    assert other and {k: single[k] for k in other} == {k: before[k] for k in other}


def test_new_codes_never_reuse_retired_ones() -> None:
    from etl.units import match_codes

    prev = {"G001": np.array([0, 1]), "G002": np.array([2]), "G003": np.array([3, 4])}
    groups = [np.array([0, 1]), np.array([2, 5]), np.array([3]), np.array([4]), np.array([6])]
    codes, st = match_codes("G", groups, prev, used={"G001", "G002", "G003", "G007"})
    assert codes[:3] == ["G001", "G002", "G003"]
    assert codes[3:] == ["G008", "G009"]  # G004-G006 never existed, G007 was retired: not reused
    assert st == {"same_buildings": 1, "by_overlap": 2, "new": 2, "retired": 0}
