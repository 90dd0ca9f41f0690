"""Street blocks (enclosures) and drawing along streets, on a synthetic town in plane metres."""

from __future__ import annotations

from collections import Counter

import numpy as np
import shapely

from etl import blocks
from etl.units import Buildings, DrawParams, Plane, draw_territory, floor_areas

PLANE = Plane(120.6, 31.3)
SQUARE = shapely.box(0, 0, 400, 400)


def town(blocks_per_side: int = 4, size: float = 100.0, houses: int = 3,
         setback: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Square blocks between street centre lines every ``size`` metres, ``houses``² houses of
    12 m in each, ``setback`` from the street: across a street two houses are 2×setback apart,
    inside a block farther. Returns (house footprints, street lines), plane metres."""
    span = blocks_per_side * size
    lines = [shapely.LineString([(k * size, -20), (k * size, span + 20)])
             for k in range(blocks_per_side + 1)]
    lines += [shapely.LineString([(-20, k * size), (span + 20, k * size)])
              for k in range(blocks_per_side + 1)]
    step = (size - 2 * setback - 12) / (houses - 1)
    offs = [setback + k * step for k in range(houses)]
    geoms = [shapely.box(bx * size + ox, by * size + oy, bx * size + ox + 12, by * size + oy + 12)
             for bx in range(blocks_per_side) for by in range(blocks_per_side)
             for ox in offs for oy in offs]
    return np.array(geoms, dtype=object), np.array(lines, dtype=object)


def as_buildings(geoms_m: np.ndarray, floors: np.ndarray | None = None) -> Buildings:
    """Plane footprints as WGS84 buildings."""
    g = PLANE.inv(geoms_m)
    pts = shapely.point_on_surface(g)
    n = len(g)
    return Buildings([f"b{i:04d}" for i in range(n)], g, shapely.get_x(pts), shapely.get_y(pts),
                     np.full(n, 2.0) if floors is None else floors)


def block_of(geoms_m: np.ndarray, size: float = 100.0) -> np.ndarray:
    """The street block (column, row) of each house, as one number."""
    c = shapely.centroid(geoms_m)
    return (shapely.get_x(c) // size) * 100 + shapely.get_y(c) // size


def test_enclosures_tile_the_extent_and_a_dead_end_closes_nothing() -> None:
    cross = [shapely.LineString([(200, -50), (200, 450)]),
             shapely.LineString([(-50, 200), (450, 200)]),
             shapely.LineString([(50, 50), (120, 120)])]  # a dead end inside a block
    faces = blocks.enclosures(np.array(cross, dtype=object), SQUARE)
    assert len(faces) == 4
    assert np.allclose(sorted(shapely.area(faces)), [40_000] * 4)
    assert abs(shapely.union_all(faces).area - SQUARE.area) < 1e-6


def test_a_street_stopping_short_is_carried_on_to_close_its_block() -> None:
    short = np.array([shapely.LineString([(200, 0), (200, 380)])], dtype=object)  # 20 m short
    assert len(blocks.enclosures(short, SQUARE)) == 1
    closed = blocks.extend_dangles(short, SQUARE, reach_m=60.0)
    assert len(blocks.enclosures(closed, SQUARE)) == 2
    far = np.array([shapely.LineString([(200, 0), (200, 300)])], dtype=object)  # 100 m short
    assert len(blocks.enclosures(blocks.extend_dangles(far, SQUARE, 60.0), SQUARE)) == 1


def test_a_face_without_buildings_joins_a_neighbouring_block() -> None:
    strips = np.array([shapely.LineString([(x, -10), (x, 410)]) for x in (100, 300)],
                      dtype=object)
    pts = shapely.points([[50, 200], [350, 200]])  # nothing in the middle strip
    b = blocks.street_blocks(strips, SQUARE, pts)
    assert len(b.geoms) == 2 and b.of_building.tolist() == [0, 1]
    assert abs(shapely.union_all(b.geoms).area - SQUARE.area) < 1e-6
    assert sorted(round(g.area) for g in b.geoms) == [40_000, 120_000]


def test_units_never_pair_houses_across_a_street_and_grids_are_whole_blocks() -> None:
    geoms, lines = town()
    b = as_buildings(geoms)
    p = DrawParams(grid_max_buildings=40, grids_per_community=2)
    drawn = draw_territory(b, "320508", "T", p, lines=PLANE.inv(lines))
    blk = block_of(geoms)
    pos = {k: i for i, k in enumerate(b.keys)}
    units = [a for a in drawn.areas if a.level == "unit"]
    multi = [u for u in units if len(u.extra["buildings"]) > 1]
    assert multi and all(len({blk[pos[k]] for k in u.extra["buildings"]}) == 1 for u in multi)
    # each block wholly in one grid; grids of at most 40 houses
    grid_of = np.array(drawn.building_grid)
    assert all(len(set(grid_of[blk == k])) == 1 for k in np.unique(blk))
    assert max(Counter(drawn.building_grid).values()) <= 40
    # the boundary between grids runs on the streets; no grid in pieces
    grids = np.array([PLANE.fwd(a.geom) for a in drawn.areas if a.level == "grid"])
    total, near = blocks.boundary_near(grids, lines, shapely.union_all(grids), within_m=10.0)
    assert total > 0 and near / total > 0.99
    assert not [f for f in drawn.flags if f.level == "grid"]
    assert drawn.streets and "沿道路" in drawn.notes[0]
    # units tile the district and do not overlap
    ug = np.array([PLANE.fwd(u.geom) for u in units])
    assert abs(shapely.union_all(ug).area - shapely.union_all(grids).area) < 1.0
    assert abs(sum(g.area for g in ug) - shapely.union_all(ug).area) < 1.0


def test_without_streets_the_same_town_pairs_houses_across_streets() -> None:
    geoms, _lines = town()
    b = as_buildings(geoms)
    drawn = draw_territory(b, "320508", "T", DrawParams(grid_max_buildings=40))
    blk = block_of(geoms)
    pos = {k: i for i, k in enumerate(b.keys)}
    across = [a for a in drawn.areas if a.level == "unit" and
              len({blk[pos[k]] for k in a.extra["buildings"]}) > 1]
    assert across  # what the street layer prevents
    assert not drawn.streets and "没有道路图层" in drawn.notes[0]


def test_a_block_heavier_than_a_grid_is_cut_between_its_houses() -> None:
    geoms, lines = town(blocks_per_side=2, size=200.0, houses=6)  # 36 houses a block
    b = as_buildings(geoms)
    drawn = draw_territory(b, "320508", "T", DrawParams(grid_max_buildings=20),
                           lines=PLANE.inv(lines))
    assert max(Counter(drawn.building_grid).values()) <= 20
    assert "4 extra cut(s)" in drawn.notes[0]
    # a cut runs between houses: no house is split between grids
    grids = [PLANE.fwd(a.geom) for a in drawn.areas if a.level == "grid"]
    for g in geoms:
        assert max(shapely.area(shapely.intersection(g, gr)) for gr in grids) > 0.99 * g.area


def test_unknown_floors_take_the_median_of_the_known_ones() -> None:
    geoms, _ = town(blocks_per_side=1)
    floors = np.array([np.nan, 4, 6, np.nan, 1, 5, 7, np.nan, 3], dtype=float)
    fa = floor_areas(as_buildings(geoms, floors), geoms)
    assert fa.imputed == 3 and fa.value == 4.0  # median 4.5, rounded half to even
    assert np.isclose(fa.area[0], 144 * fa.value)
    none = floor_areas(as_buildings(geoms, np.full(9, np.nan)), geoms)
    assert none.imputed == 9 and none.value == 1.0


def test_grids_are_sized_by_residents_when_the_layer_has_them() -> None:
    geoms, lines = town()
    b = as_buildings(geoms)
    b.population = np.full(len(b), 50.0)
    p = DrawParams(grid_max_buildings=40, grid_max_residents=1000.0)
    drawn = draw_territory(b, "320508", "T", p, lines=PLANE.inv(lines))
    per_grid = Counter(drawn.building_grid)
    assert max(per_grid.values()) * 50 <= 1000 < 40 * 50  # residents, not buildings, bound it
    assert len(per_grid) >= len(b) * 50 / 1000
