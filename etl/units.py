"""Minimal units (and, where none exist, streets, communities and grids) drawn from buildings.

Rules: a unit holds 1–3 neighbouring buildings of one grid; unit polygons never cross their
grid's boundary, never overlap, cover their buildings and tile the grid; codes are the grid code
plus a 3-digit sequence in a deterministic (Hilbert-curve) order, so the same buildings give
the same codes on every run.

Geometry work happens in a local metric plane (equirectangular about the data's centre, metres),
and the tessellation is a Voronoi diagram of points sampled along every building outline, so
each cell belongs to the nearest building and a union of cells follows the gaps between
buildings (streets, lanes, courtyards).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.territory.generations import AreaRecord

M_PER_DEG = 6371008.8 * math.pi / 180.0
SAMPLE_M = 5.0


class Cells(NamedTuple):
    """Voronoi cells (plane metres) and the index of the building owning each."""

    cells: np.ndarray
    owner: np.ndarray


class Regrouped(NamedTuple):
    """Building groups (index arrays) and, per group, the unit code it keeps (None: new)."""

    groups: list[np.ndarray]
    kept: list[str | None]


class MatchedCodes(NamedTuple):
    """A code per group and counts: same_buildings, by_overlap, new, retired."""

    codes: list[str]
    stats: dict[str, int]


class DrawnUnits(NamedTuple):
    """A grid's unit records and each building's unit label (index into the records)."""

    records: list[AreaRecord]
    labels: np.ndarray


@dataclass
class Plane:
    """Equirectangular metric plane about (lon0, lat0): x, y in metres."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        """Metres per degree of longitude at lat0."""
        return M_PER_DEG * math.cos(math.radians(self.lat0))

    def fwd(self, g: BaseGeometry | np.ndarray) -> BaseGeometry | np.ndarray:
        """WGS84 geometry (or array) into the plane."""
        kx, lon0, lat0 = self.kx, self.lon0, self.lat0
        return shapely.transform(g, lambda xy: np.column_stack(
            [(xy[:, 0] - lon0) * kx, (xy[:, 1] - lat0) * M_PER_DEG]))

    def inv(self, g: BaseGeometry | np.ndarray) -> BaseGeometry | np.ndarray:
        """Plane geometry (or array) back to WGS84, snapped to 1e-9 degrees (always valid)."""
        kx, lon0, lat0 = self.kx, self.lon0, self.lat0
        back = shapely.transform(g, lambda xy: np.column_stack(
            [xy[:, 0] / kx + lon0, xy[:, 1] / M_PER_DEG + lat0]))
        return shapely.set_precision(back, 1e-9)

    @classmethod
    def around(cls, lon: np.ndarray, lat: np.ndarray) -> Plane:
        """Plane centred on the points' bounding box."""
        return cls(float((np.min(lon) + np.max(lon)) / 2), float((np.min(lat) + np.max(lat)) / 2))


@dataclass
class Buildings:
    """Buildings to draw from: WGS84 footprints, points on surface, floors, stable keys."""

    keys: list[str]
    geoms: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    floors: np.ndarray
    ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, idx: np.ndarray) -> Buildings:
        """The buildings at positions ``idx``."""
        return Buildings([self.keys[i] for i in idx], self.geoms[idx], self.lon[idx],
                         self.lat[idx], self.floors[idx],
                         [self.ids[i] for i in idx] if self.ids else [])


def hilbert_index(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Hilbert-curve position of points (vectorised), for locality-preserving orders."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = 1 << bits
    span = max(float(np.ptp(x)) if len(x) else 0.0, float(np.ptp(y)) if len(y) else 0.0) or 1.0
    xi = np.clip(((x - x.min()) / span * (n - 1)).astype(np.int64), 0, n - 1) if len(x) else x
    yi = np.clip(((y - y.min()) / span * (n - 1)).astype(np.int64), 0, n - 1) if len(y) else y
    d = np.zeros(len(x), dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = ((xi & s) > 0).astype(np.int64)
        ry = ((yi & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        flip = ry == 0
        swap_x = np.where(flip & (rx == 1), s - 1 - xi, xi)
        swap_y = np.where(flip & (rx == 1), s - 1 - yi, yi)
        xi, yi = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


def group_units(x: np.ndarray, y: np.ndarray, keys: list[str], max_size: int = 3,
                max_gap_m: float = 60.0) -> np.ndarray:
    """Group neighbouring buildings (metric x, y) into units of 1..max_size; label per building.

    Deterministic: buildings are visited in Hilbert order (ties by key); each unvisited one
    takes its nearest unvisited neighbours within ``max_gap_m``. Labels follow that order.
    """
    n = len(x)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    h = hilbert_index(x, y)
    order = sorted(range(n), key=lambda i: (int(h[i]), keys[i]))
    pts = np.column_stack([x, y])
    nxt = 0
    for i in order:
        if labels[i] >= 0:
            continue
        labels[i] = nxt
        free = np.nonzero(labels < 0)[0]
        if len(free) and max_size > 1:
            d = np.hypot(pts[free, 0] - x[i], pts[free, 1] - y[i])
            near = np.lexsort((free, d))[: max_size - 1]
            for k in near:
                if d[k] <= max_gap_m:
                    labels[free[k]] = nxt
        nxt += 1
    return labels


def _polygonal(g: BaseGeometry | None, min_area: float = 1e-6) -> BaseGeometry | None:
    """Valid (Multi)Polygon made of the polygon parts of ``g`` bigger than ``min_area``."""
    if g is None or g.is_empty:
        return None
    if not g.is_valid:
        g = shapely.make_valid(g)
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > min_area]
    if not parts:
        sub = [p for p in shapely.get_parts(g) if p.geom_type in ("MultiPolygon",
                                                                  "GeometryCollection")]
        for s in sub:
            parts += [p for p in shapely.get_parts(s) if p.geom_type == "Polygon"
                      and p.area > min_area]
    if not parts:
        return None
    out = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    return out if out.is_valid else shapely.make_valid(out)


def building_cells(geoms_m: np.ndarray, extent: BaseGeometry,
                   sample_m: float = SAMPLE_M) -> Cells:
    """Voronoi cells of points sampled on the outlines: (cells, building index of each cell)."""
    rings = shapely.boundary(geoms_m)
    dense = shapely.segmentize(rings, sample_m)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    coords = np.round(coords, 3)
    _u, first = np.unique(coords, axis=0, return_index=True)
    first.sort()
    coords, owner = coords[first], owner[first]
    if len(coords) < 3:
        coords = np.vstack([coords, shapely.get_coordinates(shapely.envelope(extent))[:3]])
        owner = np.concatenate([owner, np.full(len(coords) - len(owner), owner[0])])
    mp = shapely.multipoints(coords)
    cells = shapely.get_parts(shapely.voronoi_polygons(mp, extend_to=extent, ordered=True))
    if len(cells) == len(coords):
        return Cells(cells, owner)
    tree = shapely.STRtree(cells)
    pi, ci = tree.query(shapely.points(coords), predicate="intersects")
    cell_owner = np.full(len(cells), -1)
    cell_owner[ci[::-1]] = owner[pi[::-1]]
    keep = cell_owner >= 0
    return Cells(cells[keep], cell_owner[keep])


def dissolve(cells: np.ndarray, labels: np.ndarray, n: int) -> list[BaseGeometry | None]:
    """Union of the cells of each label 0..n-1 (coverage union: cells share exact edges)."""
    out: list[BaseGeometry | None] = [None] * n
    order = np.argsort(labels, kind="stable")
    ls = labels[order]
    bounds = np.searchsorted(ls, np.arange(n + 1))
    for k in range(n):
        part = cells[order[bounds[k]:bounds[k + 1]]]
        if len(part):
            try:
                out[k] = shapely.coverage_union_all(part)
            except shapely.errors.GEOSException:  # degenerate cells (collinear samples)
                out[k] = shapely.union_all(shapely.make_valid(part), grid_size=1e-3)
    return out


def tile(base: list[BaseGeometry | None], own: list[BaseGeometry], clip: BaseGeometry,
         keep: list[np.ndarray] | None = None) -> list[BaseGeometry | None]:
    """Fix a tessellation so each piece covers its own buildings: (base - others') + own, clipped.

    Pieces stay disjoint (where footprints of two pieces overlap the earlier piece keeps the
    shared part) and together they still tile ``clip``. ``keep``: each piece's building points;
    every such point then lies inside its own piece and in no other, whatever the footprints
    (nested or overlapping ones included), so a piece holds exactly its own buildings.
    """
    n = len(base)
    own = [shapely.intersection(o, clip) for o in own]
    out = [shapely.intersection(b, clip) if b is not None else shapely.Polygon() for b in base]
    tree = shapely.STRtree(np.array(own, dtype=object))
    for k in range(n):
        others = [j for j in tree.query(out[k]) if j != k]
        if others:
            out[k] = shapely.difference(out[k], shapely.union_all([own[j] for j in others]))
        out[k] = shapely.union(out[k], own[k])
    tree = shapely.STRtree(np.array(out, dtype=object))
    for k in range(n):
        for j in sorted(int(j) for j in tree.query(out[k], predicate="intersects")):
            if j < k and shapely.intersection(out[k], out[j]).area > 1e-6:
                out[k] = shapely.difference(out[k], out[j])
    fixed: list[BaseGeometry | None] = []
    for k in range(n):
        g = _polygonal(out[k])
        if g is None and base[k] is not None:  # buildings wholly inside another piece's
            g = _polygonal(shapely.difference(shapely.intersection(base[k], clip),
                                              shapely.union_all([x for x in out if x is not None
                                                                 and x is not out[k]])))
        fixed.append(g)
    return fixed if keep is None else claim_points(fixed, keep, clip)


def _claim_radius(pts: np.ndarray, owner: np.ndarray, max_m: float = 0.5) -> float:
    """A radius under half the distance between the closest points of different pieces."""
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=2.5 * max_m)
    m = owner[a] != owner[b]
    d = shapely.distance(pts[a[m]], pts[b[m]])
    d = d[d > 0]
    return float(min(max_m, 0.4 * d.min())) if len(d) else max_m


def claim_points(pieces: list[BaseGeometry | None], keep: list[np.ndarray],
                 clip: BaseGeometry) -> list[BaseGeometry | None]:
    """Give each piece a small disk round each of its points, cut out of every other piece."""
    owner = np.concatenate([np.full(len(k), i) for i, k in enumerate(keep)]).astype(np.int64)
    if not len(owner):
        return pieces
    pts = np.concatenate([np.asarray(k, dtype=object) for k in keep])
    disks = shapely.intersection(shapely.buffer(pts, _claim_radius(pts, owner), quad_segs=4),
                                 clip)
    tree = shapely.STRtree(disks)
    out: list[BaseGeometry | None] = []
    for k, piece in enumerate(pieces):
        mine = disks[owner == k]
        g = piece if piece is not None else shapely.Polygon()
        near = tree.query(g, predicate="intersects") if not g.is_empty else []
        if len(near):
            g = shapely.difference(g, shapely.union_all(disks[near]))
        if len(mine):
            g = shapely.union(g, shapely.union_all(mine))
        out.append(_polygonal(g))
    return out


def unit_polygons(grid_m: BaseGeometry, geoms_m: np.ndarray, labels: np.ndarray,
                  cells: np.ndarray | None = None, cell_owner: np.ndarray | None = None,
                  points: np.ndarray | None = None) -> list[BaseGeometry | None]:
    """Non-overlapping unit polygons tiling ``grid_m`` and covering their buildings' parts in it
    (each building's point, ``points``, in its own unit and no other)."""
    n_units = int(labels.max()) + 1
    if n_units == 1:
        return [grid_m]
    if cells is None:
        cells, cell_owner = building_cells(geoms_m, grid_m)
    base = dissolve(cells, labels[cell_owner], n_units)
    own = [shapely.union_all(geoms_m[labels == k]) for k in range(n_units)]
    keep = None if points is None else [points[labels == k] for k in range(n_units)]
    return tile(base, own, grid_m, keep)


def _bisect(idx: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray,
            fits, out: list[np.ndarray]) -> None:
    """Recursive weighted median split along the longer side until ``fits(idx)``."""
    if fits(idx) or len(idx) <= 1:
        out.append(idx)
        return
    xs, ys = x[idx], y[idx]
    axis = xs if np.ptp(xs) >= np.ptp(ys) else ys
    order = np.lexsort((idx, axis))
    cw = np.cumsum(w[idx][order])
    cut = int(np.searchsorted(cw, cw[-1] / 2.0)) + 1
    cut = min(max(cut, 1), len(idx) - 1)
    _bisect(idx[order[:cut]], x, y, w, fits, out)
    _bisect(idx[order[cut:]], x, y, w, fits, out)


@dataclass
class DrawParams:
    """Sizing: a grid is what one full-time worker can patrol daily."""

    grid_max_buildings: int = 250
    grid_max_floor_area_m2: float = 400_000.0
    grids_per_community: int = 4
    communities_per_street: int = 2
    unit_max_buildings: int = 3
    unit_max_gap_m: float = 60.0
    margin_m: float = 30.0


@dataclass
class Drawn:
    """A drawn territory: area records (parents first) and each building's unit code."""

    areas: list[AreaRecord]
    building_unit: list[str]
    building_grid: list[str]


@dataclass
class _Tree:
    """Codes of a drawn hierarchy in tree order, each level pointing at its parent."""

    street_code: list[str]
    comm_code: list[str]
    comm_street: list[int]
    grid_code: list[str]
    grid_comm: list[int]
    grid_of: np.ndarray  # each building's grid


def _district_hull(gm: np.ndarray, margin_m: float) -> BaseGeometry:
    """District outline: buildings closed over their gaps, holes filled."""
    hull = shapely.union_all(shapely.buffer(gm, margin_m * 2, quad_segs=4)).buffer(
        -margin_m, quad_segs=4)
    hull = shapely.union_all([shapely.Polygon(r.exterior) for r in shapely.get_parts(hull)])
    hull = shapely.union(hull, shapely.union_all(gm)).simplify(1.0)
    return _polygonal(hull)


def _groups(x: np.ndarray, y: np.ndarray, floor_area: np.ndarray,
            p: DrawParams) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Buildings bisected into grids (by count and floor area), grids into communities,
    communities into streets: (grids, communities, streets), each a list of member indexes."""
    total_fa = float(floor_area.sum()) or 1.0
    w = 0.5 / len(x) + 0.5 * floor_area / total_fa

    def grid_fits(idx: np.ndarray) -> bool:
        """Small enough for one full-time worker."""
        return bool(len(idx) <= p.grid_max_buildings
                    and floor_area[idx].sum() <= p.grid_max_floor_area_m2)

    leaves: list[np.ndarray] = []
    _bisect(np.arange(len(x)), x, y, w, grid_fits, leaves)
    gx = np.array([x[lf].mean() for lf in leaves])
    gy = np.array([y[lf].mean() for lf in leaves])
    gw = np.array([w[lf].sum() for lf in leaves])
    comms: list[np.ndarray] = []
    _bisect(np.arange(len(leaves)), gx, gy, gw,
            lambda idx: len(idx) <= p.grids_per_community, comms)
    cx = np.array([gx[c].mean() for c in comms])
    cy = np.array([gy[c].mean() for c in comms])
    cw = np.array([gw[c].sum() for c in comms])
    streets: list[np.ndarray] = []
    _bisect(np.arange(len(comms)), cx, cy, cw,
            lambda idx: len(idx) <= p.communities_per_street, streets)
    return leaves, comms, streets


def _codes(district_code: str, n: int, leaves: list[np.ndarray], comms: list[np.ndarray],
           streets: list[np.ndarray]) -> _Tree:
    """Street, community and grid codes in tree order (3 digits per level)."""
    t = _Tree([], [], [], [], [], np.empty(n, dtype=np.int64))
    grid_pos = {}
    for s_i, s in enumerate(streets):
        sc = f"{district_code}{s_i + 1:03d}"
        t.street_code.append(sc)
        for c_i, c in enumerate(s):
            cc = f"{sc}{c_i + 1:03d}"
            t.comm_code.append(cc)
            t.comm_street.append(s_i)
            for g_i, g in enumerate(comms[c]):
                grid_pos[int(g)] = len(t.grid_code)
                t.grid_code.append(f"{cc}{g_i + 1:03d}")
                t.grid_comm.append(len(t.comm_code) - 1)
    for leaf_i, lf in enumerate(leaves):
        t.grid_of[lf] = grid_pos[leaf_i]
    return t


def _level_records(t: _Tree, grid_geoms: list, plane: Plane, district: tuple[str, str],
                   street_name: str, community_name: str) -> list[AreaRecord]:
    """District, street, community and grid records (parents first), in WGS84."""
    district_code, district_name = district
    n_comms, n_streets = len(t.comm_code), len(t.street_code)
    comm_geoms = [_polygonal(shapely.union_all([grid_geoms[g] for g in range(len(t.grid_code))
                                                if t.grid_comm[g] == c]))
                  for c in range(n_comms)]
    street_geoms = [_polygonal(shapely.union_all([comm_geoms[c] for c in range(n_comms)
                                                  if t.comm_street[c] == s]))
                    for s in range(n_streets)]
    areas = [AreaRecord("district", district_code, district_name,
                        plane.inv(_polygonal(shapely.union_all(street_geoms))))]
    for s, sc in enumerate(t.street_code):
        areas.append(AreaRecord("street", sc, f"{street_name} {s + 1}",
                                plane.inv(street_geoms[s]), district_code))
    for c, cc in enumerate(t.comm_code):
        areas.append(AreaRecord("community", cc, f"{community_name} {t.comm_street[c] + 1}-"
                                f"{cc[-3:].lstrip('0')}", plane.inv(comm_geoms[c]),
                                t.street_code[t.comm_street[c]]))
    for g, gc in enumerate(t.grid_code):
        areas.append(AreaRecord("grid", gc, f"Grid {gc[-9:-6].lstrip('0')}-{gc[-6:-3].lstrip('0')}"
                                f"-{gc[-3:].lstrip('0')}", plane.inv(grid_geoms[g]),
                                t.comm_code[t.grid_comm[g]]))
    return areas


def draw_territory(b: Buildings, district_code: str, district_name: str,
                   params: DrawParams | None = None, street_name: str = "Street",
                   community_name: str = "Community") -> Drawn:
    """Draw district → streets → communities → grids → units from buildings alone."""
    p = params or DrawParams()
    plane = Plane.around(b.lon, b.lat)
    gm = plane.fwd(b.geoms)
    pts = plane.fwd(shapely.points(b.lon, b.lat))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    floors = np.where(np.isnan(b.floors.astype(float)), 1.0, b.floors.astype(float))
    floor_area = shapely.area(gm) * np.maximum(floors, 1.0)
    hull = _district_hull(gm, p.margin_m)
    t = _codes(district_code, len(b), *_groups(x, y, floor_area, p))
    n_grids = len(t.grid_code)
    grid_of = t.grid_of
    cells, owner = building_cells(gm, hull)
    grid_geoms = tile(dissolve(cells, grid_of[owner], n_grids),
                      [shapely.union_all(gm[grid_of == g]) for g in range(n_grids)], hull,
                      [pts[grid_of == g] for g in range(n_grids)])
    areas = _level_records(t, grid_geoms, plane, (district_code, district_name), street_name,
                           community_name)
    bunit = [""] * len(b)
    bgrid = [""] * len(b)
    for g, gc in enumerate(t.grid_code):
        idx = np.nonzero(grid_of == g)[0]
        sel = np.isin(owner, idx)
        local = {int(i): k for k, i in enumerate(idx)}
        recs, labels = _units_for_grid(gc, grid_geoms[g], gm[idx], x[idx], y[idx],
                                       [b.keys[i] for i in idx], p, plane,
                                       cells[sel], np.array([local[int(o)] for o in owner[sel]]))
        areas += recs
        for k, i in enumerate(idx):
            bunit[i] = recs[labels[k]].code
            bgrid[i] = gc
    return Drawn(areas, bunit, bgrid)


def _units_for_grid(grid_code: str, grid_m: BaseGeometry, geoms_m: np.ndarray, x: np.ndarray,
                    y: np.ndarray, keys: list[str], p: DrawParams, plane: Plane,
                    cells: np.ndarray | None = None, cell_owner: np.ndarray | None = None,
                    labels: np.ndarray | None = None, codes: list[str] | None = None
                    ) -> tuple[list[AreaRecord], np.ndarray]:
    """Unit records of one grid and each building's position in them (``labels`` and ``codes``
    when the grouping and the codes were decided already)."""
    if len(keys) == 0:
        return [], np.zeros(0, dtype=np.int64)
    if labels is None:
        labels = group_units(x, y, keys, p.unit_max_buildings, p.unit_max_gap_m)
    n = int(labels.max()) + 1
    if codes is None:
        codes = [f"{grid_code}{k + 1:03d}" for k in range(n)]
    if any(len(c) != len(grid_code) + 3 or not c[-3:].isdigit() or c[-3:] == "000"
           for c in codes):
        raise ValueError(f"grid {grid_code}: {n} units do not fit 3-digit codes")
    polys = unit_polygons(grid_m, geoms_m, labels, cells, cell_owner, shapely.points(x, y))
    recs = []
    for k, g in enumerate(polys):
        recs.append(AreaRecord("unit", codes[k], f"Unit {int(codes[k][-3:])}",
                               plane.inv(g), grid_code,
                               extra={"buildings": [keys[i] for i in np.nonzero(labels == k)[0]]}))
    return recs, labels


def regroup_with_previous(x: np.ndarray, y: np.ndarray, keys: list[str],
                          previous: dict[str, np.ndarray], p: DrawParams
                          ) -> Regrouped:
    """Groups for a redraw that keeps what has not changed.

    ``previous`` maps each old unit code to the buildings (positions) lying in it now. An old
    unit holding 1..unit_max_buildings of them stays as it is (same buildings, same code);
    the buildings of bigger ones and those in no old unit are grouped afresh. Returns the
    groups and, for each, the old code it keeps (None for the regrouped ones).
    """
    n = len(keys)
    taken = np.zeros(n, dtype=bool)
    groups: list[np.ndarray] = []
    kept: list[str | None] = []
    for code in sorted(previous):
        members = np.unique(np.asarray(previous[code], dtype=np.int64))
        members = members[~taken[members]]
        if 1 <= len(members) <= p.unit_max_buildings:
            groups.append(members)
            kept.append(code)
            taken[members] = True
    loose = np.nonzero(~taken)[0]
    if len(loose):
        lab = group_units(x[loose], y[loose], [keys[i] for i in loose], p.unit_max_buildings,
                          p.unit_max_gap_m)
        for k in range(int(lab.max()) + 1):
            groups.append(loose[lab == k])
            kept.append(None)
    return Regrouped(groups, kept)


def match_codes(grid_code: str, groups: list[np.ndarray], previous: dict[str, np.ndarray],
                used: set[str], kept: list[str | None] | None = None) -> MatchedCodes:
    """A code for each group: the old unit's code when the group holds the same buildings,
    else the old unit it overlaps most (one-to-one, biggest overlaps first), else the next
    sequence number of the grid never used before (``used``: every code the grid ever had)."""
    codes: list[str | None] = list(kept) if kept is not None else [None] * len(groups)
    old_sets = {c: frozenset(np.asarray(v).tolist()) for c, v in previous.items()}
    free_old = set(old_sets) - {c for c in codes if c}
    by_set: dict[frozenset, str] = {}
    for c in sorted(free_old):
        by_set.setdefault(old_sets[c], c)
    same = 0
    for k, g in enumerate(groups):
        if codes[k] is None:
            c = by_set.get(frozenset(g.tolist()))
            if c is not None and c in free_old:
                codes[k] = c
                free_old.discard(c)
    same = sum(c is not None for c in codes)
    pairs = []
    for k, g in enumerate(groups):
        if codes[k] is None:
            gs = set(g.tolist())
            for c in free_old:
                ov = len(gs & old_sets[c])
                if ov:
                    pairs.append((-ov, c, k))
    overlap = 0
    for _neg, c, k in sorted(pairs):
        if codes[k] is None and c in free_old:
            codes[k] = c
            free_old.discard(c)
            overlap += 1
    seqs = [int(u[-3:]) for u in used if len(u) == len(grid_code) + 3 and u[-3:].isdigit()
            and u.startswith(grid_code)]
    nxt = max(seqs, default=0) + 1
    new = 0
    for k in range(len(groups)):
        if codes[k] is None:
            if nxt > 999:
                raise ValueError(f"grid {grid_code}: no 3-digit unit code left (all 999 used)")
            codes[k] = f"{grid_code}{nxt:03d}"
            nxt += 1
            new += 1
    return MatchedCodes(codes, {"same_buildings": same, "by_overlap": overlap,
                                "new": new, "retired": len(free_old)})


def draw_units(grid_code: str, grid_geom: BaseGeometry, b: Buildings,
               params: DrawParams | None = None, previous: dict[str, np.ndarray] | None = None,
               used_codes: set[str] | None = None, regroup: bool = False,
               stats: dict | None = None) -> DrawnUnits:
    """Units for one existing grid (WGS84) from the buildings whose point lies in it.

    ``previous``: the grid's current units (code → positions of the buildings lying in each).
    Unchanged units are kept with their codes (all regrouped with ``regroup``), new groups
    take the code of the old unit holding the same buildings or overlapping them most, and
    only genuinely new units get new codes, after every code in ``used_codes``.
    """
    p = params or DrawParams()
    if len(b) == 0:
        if stats is not None and previous:
            stats["retired"] = stats.get("retired", 0) + len(previous)
        return DrawnUnits([], np.zeros(0, dtype=np.int64))
    gb = np.array(shapely.bounds(grid_geom))
    plane = Plane(float((gb[0] + gb[2]) / 2), float((gb[1] + gb[3]) / 2))
    gm = plane.fwd(b.geoms)
    grid_m = plane.fwd(grid_geom)
    pts = plane.fwd(shapely.points(b.lon, b.lat))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    previous = previous or {}
    used = set(used_codes or ()) | set(previous)
    if previous or used:
        if regroup:
            lab = group_units(x, y, b.keys, p.unit_max_buildings, p.unit_max_gap_m)
            groups = [np.nonzero(lab == k)[0] for k in range(int(lab.max()) + 1)]
            kept = None
        else:
            groups, kept = regroup_with_previous(x, y, b.keys, previous, p)
        codes, st = match_codes(grid_code, groups, previous, used, kept)
        if stats is not None:
            for k, v in st.items():
                stats[k] = stats.get(k, 0) + v
        order = sorted(range(len(groups)), key=lambda k: codes[k])
        labels = np.empty(len(b), dtype=np.int64)
        for new_k, k in enumerate(order):
            labels[groups[k]] = new_k
        return DrawnUnits(*_units_for_grid(grid_code, grid_m, gm, x, y, b.keys, p, plane,
                                           labels=labels, codes=[codes[k] for k in order]))
    recs, labels = _units_for_grid(grid_code, grid_m, gm, x, y, b.keys, p, plane)
    if stats is not None:
        stats["new"] = stats.get("new", 0) + len(recs)
    return DrawnUnits(recs, labels)
