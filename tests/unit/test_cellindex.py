"""CellIndex against brute-force shapely: random points, shared edges, shared vertices."""

from __future__ import annotations

import numpy as np
import shapely

from gis.geo.cellindex import CellIndex
from gis.territory import synthetic


def brute(polys, xs, ys) -> np.ndarray:
    """Lowest index of the polygons covering each point, -1 when none."""
    out = np.full(len(xs), -1, dtype=np.int64)
    pts = shapely.points(xs, ys)
    for i in range(len(polys) - 1, -1, -1):
        out[shapely.covers(polys[i], pts)] = i
    return out


def check(index: CellIndex, polys, xs, ys) -> None:
    """Single and bulk lookups both equal brute force."""
    want = brute(polys, xs, ys)
    got_many = index.lookup_many(xs, ys)
    got_one = np.array([index.lookup(float(x), float(y)) for x, y in zip(xs, ys, strict=True)])
    bad = np.nonzero(got_many != want)[0]
    assert not len(bad), f"bulk differs: {[(xs[k], ys[k], got_many[k], want[k]) for k in bad[:5]]}"
    bad = np.nonzero(got_one != want)[0]
    assert not len(bad), f"single differs: {[(xs[k], ys[k], got_one[k], want[k]) for k in bad[:5]]}"


def lattice_polys(seed: int = 3):
    """Units of a generated district (jittered quads sharing edges and vertices)."""
    areas = synthetic.generate(layout=synthetic.Layout((2, 1), (2, 2), (2, 2), (3, 3)), seed=seed)
    return np.array([a.geom for a in areas if a.level == "unit"], dtype=object)


def edge_points(polys, rng, per_edge: int = 3):
    """Vertices and points on every polygon edge (interpolated along each segment)."""
    xs, ys = [], []
    for p in polys:
        c = np.asarray(p.exterior.coords)
        xs.extend(c[:, 0])
        ys.extend(c[:, 1])
        for a, b in zip(c[:-1], c[1:], strict=True):
            for t in rng.uniform(0, 1, per_edge):
                pt = shapely.LineString([a, b]).interpolate(t, normalized=True)
                xs.append(pt.x)
                ys.append(pt.y)
    return np.array(xs), np.array(ys)


def test_random_points_match_brute_force():
    polys = lattice_polys()
    idx = CellIndex(polys)
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = shapely.total_bounds(polys)
    pad = 0.0005
    xs = rng.uniform(minx - pad, maxx + pad, 20_000)
    ys = rng.uniform(miny - pad, maxy + pad, 20_000)
    check(idx, polys, xs, ys)
    # most random points are inside something, some are outside
    got = idx.lookup_many(xs, ys)
    assert (got >= 0).mean() > 0.7 and (got < 0).any()


def test_shared_vertices_and_edges_lowest_index_wins():
    polys = lattice_polys()
    idx = CellIndex(polys)
    rng = np.random.default_rng(2)
    xs, ys = edge_points(polys, rng)
    check(idx, polys, xs, ys)
    # a vertex shared by four quads: the lowest index among them, never -1
    c = np.asarray(polys[0].exterior.coords)
    shared = [tuple(v) for v in c if sum(
        shapely.covers(p, shapely.Point(v)) for p in polys) >= 3]
    assert shared, "expected a vertex shared by >= 3 polygons"
    for x, y in shared:
        assert idx.lookup(x, y) == 0


def test_axis_aligned_edges_on_cell_lines():
    """Squares whose shared edges fall on cell lines; higher index on the left."""
    polys = []
    n = 4
    for j in range(n):
        for i in range(n):
            polys.append(shapely.box(i * 0.1, j * 0.1, (i + 1) * 0.1, (j + 1) * 0.1))
    polys = np.array(polys[::-1], dtype=object)  # reverse: the right/top squares come first
    for cells in (1.0, 4.0, 16.0, 64.0):
        idx = CellIndex(polys, cells_per_polygon=cells)
        rng = np.random.default_rng(int(cells))
        xs, ys = edge_points(polys, rng, per_edge=5)
        grid = np.linspace(0, 0.4, 41)
        gx, gy = np.meshgrid(grid, grid)
        xs = np.concatenate([xs, gx.ravel(), rng.uniform(-0.05, 0.45, 3000)])
        ys = np.concatenate([ys, gy.ravel(), rng.uniform(-0.05, 0.45, 3000)])
        check(idx, polys, xs, ys)


def test_holes_and_multipolygons():
    ring = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                           [[(3, 3), (7, 3), (7, 7), (3, 7)]])
    filler = shapely.box(4, 4, 6, 6)
    multi = shapely.MultiPolygon([shapely.box(20, 0, 22, 2), shapely.box(24, 0, 26, 2)])
    polys = np.array([ring, filler, multi], dtype=object)
    idx = CellIndex(polys)
    assert idx.lookup(1, 1) == 0
    assert idx.lookup(5, 5) == 1          # filler inside the hole
    assert idx.lookup(3.5, 3.5) == -1     # hole, not filled
    assert idx.lookup(3, 5) == 0          # on the hole's edge: covered by the ring
    assert idx.lookup(21, 1) == 2 and idx.lookup(25, 1) == 2
    assert idx.lookup(23, 1) == -1        # between the two parts
    assert idx.lookup(100, 100) == -1 and idx.lookup(-5, -5) == -1
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(-1, 27, 5000), rng.uniform(-1, 11, 5000)
    check(idx, polys, xs, ys)


def test_empty_index_and_nan():
    idx = CellIndex(np.array([], dtype=object))
    assert idx.lookup(1.0, 2.0) == -1
    assert idx.lookup_many(np.array([1.0, 2.0]), np.array([3.0, 4.0])).tolist() == [-1, -1]
    idx = CellIndex(np.array([shapely.box(0, 0, 1, 1)], dtype=object))
    assert idx.lookup_many(np.array([np.nan, 0.5]), np.array([0.5, np.nan])).tolist() == [-1, -1]
    assert idx.lookup(1.0, 1.0) == 0 and idx.lookup(0.0, 0.0) == 0  # corners are covered


def test_built_in_slices_the_index_is_the_same(monkeypatch) -> None:
    """Built slice by slice (so a build beside requests never holds the GIL for long), the
    index equals the one built in one go, and answers as brute force does."""
    import gis.geo.cellindex as ci

    polys = np.array([a.geom for a in synthetic.generate() if a.level == "unit"], dtype=object)
    whole = CellIndex(polys)
    monkeypatch.setattr(ci, "CHUNK", 7)
    sliced = CellIndex(polys)
    for name in ("state", "start", "end", "cand"):
        assert np.array_equal(getattr(whole, name), getattr(sliced, name)), name
    assert sliced._end_l == whole._end_l and sliced._cand_l == whole._cand_l
    rng = np.random.default_rng(3)
    b = shapely.total_bounds(polys)
    xs, ys = rng.uniform(b[0], b[2], 2000), rng.uniform(b[1], b[3], 2000)
    check(sliced, polys, xs, ys)
