"""Issue 11 §6: nested / overlapping footprints are reported, and units keep 1-3 buildings."""

from __future__ import annotations

import math
from collections import Counter

import geopandas as gpd
import numpy as np
import shapely

from etl import buildings as bld
from etl import draw
from etl.units import M_PER_DEG, Buildings, draw_units

LON, LAT = 120.600, 31.305
KX = M_PER_DEG * math.cos(math.radians(LAT))


def box_m(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A w x h metre box whose corner is (x, y) metres from (LON, LAT)."""
    return shapely.box(LON + x / KX, LAT + y / M_PER_DEG, LON + (x + w) / KX,
                       LAT + (y + h) / M_PER_DEG)


def courtyard_block() -> gpd.GeoDataFrame:
    """A 100 m block holding six nested buildings, one overlapping it, six free-standing."""
    geoms = [box_m(0, 0, 100, 100)]
    geoms += [box_m(10 + (i % 3) * 28, 15 + (i // 3) * 40, 15, 15) for i in range(6)]
    geoms += [box_m(130 + i * 25, 0, 15, 15) for i in range(6)]
    geoms.append(box_m(40, 90, 30, 30))
    return gpd.GeoDataFrame({"bid": [f"B{i:02d}" for i in range(len(geoms))]},
                            geometry=geoms, crs="EPSG:4326")


def stored(engine) -> Buildings:
    """The stored buildings, as unit drawing reads them (points from PostGIS)."""
    return draw.load_buildings(engine)


def points_per_unit(units: list, b: Buildings) -> tuple[Counter, list[str | None]]:
    """Buildings counted per unit the way the validator does (by point, lowest code wins)."""
    pts = shapely.points(b.lon, b.lat)
    units = sorted(units, key=lambda u: u.code)
    where: list[str | None] = []
    for p in pts:
        where.append(next((u.code for u in units if u.geom is not None and u.geom.covers(p)),
                          None))
    return Counter(w for w in where if w), where


def test_nested_and_overlapping_footprints_are_reported(clean_db, tmp_path) -> None:
    courtyard_block().to_file(tmp_path / "block.geojson", driver="GeoJSON")
    r = bld.load_file(clean_db, tmp_path / "block.geojson", id_field="bid", commit=True)
    assert r.inserted == 14 and r.rejected == 0
    fp = r.footprints
    assert fp["contained_pairs"] == 6 and fp["overlapping_pairs"] == 1
    pairs = {(p["a"], p["b"], p["kind"]) for p in fp["pairs"]}
    assert {("B00", f"B{i:02d}", "contains") for i in range(1, 7)} <= pairs
    assert ("B00", "B13", "overlaps") in pairs
    assert any("inside" in n for n in r.notes)
    assert r.to_dict()["footprints"]["contained_pairs"] == 6
    # side by side buildings sharing a wall are not reported
    side = gpd.GeoDataFrame({"bid": ["L", "R"]}, geometry=[box_m(0, 0, 10, 10),
                                                           box_m(10, 0, 10, 10)], crs=4326)
    side.to_file(tmp_path / "side.geojson", driver="GeoJSON")
    r = bld.load_file(clean_db, tmp_path / "side.geojson", id_field="bid")
    assert r.footprints["contained_pairs"] == r.footprints["overlapping_pairs"] == 0


def test_drawn_units_hold_1_to_3_buildings_whatever_the_footprints(clean_db, tmp_path) -> None:
    courtyard_block().to_file(tmp_path / "block.geojson", driver="GeoJSON")
    bld.load_file(clean_db, tmp_path / "block.geojson", id_field="bid", commit=True)
    b = stored(clean_db)
    out = draw.draw_district(clean_db, "320508", "T", commit=False)
    drawn = out["drawn"]
    units = [a for a in drawn.areas if a.level == "unit"]
    assert all(u.geom is not None and u.geom.is_valid and not u.geom.is_empty for u in units)
    counts, where = points_per_unit(units, b)
    assert sorted(counts) == sorted(u.code for u in units)  # no unit without a building
    assert max(counts.values()) <= 3 and min(counts.values()) >= 1, counts
    # each building lies in the unit it was drawn into
    keys = b.keys
    assert where == [drawn.building_unit[drawn_i] for drawn_i in range(len(keys))]
    # and in its grid
    grids = {a.code: a.geom for a in drawn.areas if a.level == "grid"}
    pts = shapely.points(b.lon, b.lat)
    assert all(grids[drawn.building_grid[i]].covers(pts[i]) for i in range(len(keys)))


def test_redrawn_units_of_a_grid_hold_1_to_3_buildings(clean_db, tmp_path) -> None:
    courtyard_block().to_file(tmp_path / "block.geojson", driver="GeoJSON")
    bld.load_file(clean_db, tmp_path / "block.geojson", id_field="bid", commit=True)
    b = stored(clean_db)
    grid = shapely.buffer(shapely.union_all(b.geoms), 0.0002)
    recs, labels = draw_units("320508001001001", grid, b)
    counts, where = points_per_unit(recs, b)
    assert len(counts) == len(recs) and set(counts.values()) <= {1, 2, 3}, counts
    assert where == [recs[k].code for k in labels]
    # units tile the grid without overlapping
    arr = np.array([u.geom for u in recs])
    assert abs(shapely.area(shapely.union_all(arr)) - grid.area) < 1e-10
    assert abs(sum(shapely.area(arr)) - grid.area) < 1e-10
