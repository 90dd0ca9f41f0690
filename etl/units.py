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

from gis.territory import names as area_names
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
    population: np.ndarray | None = None  # per building, NaN unknown (None: no such field)
    households: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, idx: np.ndarray) -> Buildings:
        """The buildings at positions ``idx``."""
        return Buildings([self.keys[i] for i in idx], self.geoms[idx], self.lon[idx],
                         self.lat[idx], self.floors[idx],
                         [self.ids[i] for i in idx] if self.ids else [],
                         None if self.population is None else self.population[idx],
                         None if self.households is None else self.households[idx])


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
                max_gap_m: float = 60.0, blocks: np.ndarray | None = None) -> np.ndarray:
    """Group neighbouring buildings (metric x, y) into units of 1..max_size; label per building.

    Deterministic: buildings are visited in Hilbert order (ties by key); each unvisited one
    takes its nearest unvisited neighbours within ``max_gap_m`` (and, with ``blocks``, in its
    own block only: a unit never pairs buildings across a street). Labels follow that order.
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
        free = np.nonzero((labels < 0) if blocks is None else
                          (labels < 0) & (blocks == blocks[i]))[0]
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
    grid_max_residents: float = 1_500.0  # only when the building layer has them
    grids_per_community: int = 4
    communities_per_street: int = 2
    unit_max_buildings: int = 3
    unit_max_gap_m: float = 60.0
    margin_m: float = 30.0
    dangle_reach_m: float = 60.0


class Flag(NamedTuple):
    """A grid or unit drawn in several pieces, and why."""

    level: str
    code: str
    pieces: int
    reason: str


class FloorArea(NamedTuple):
    """Each building's floor area (m²) and how many had their floors imputed, with what."""

    area: np.ndarray
    imputed: int
    value: float


@dataclass
class Drawn:
    """A drawn territory: area records (parents first), each building's unit and grid code,
    floor areas, pieces flagged, and whether streets were followed (notes say how)."""

    areas: list[AreaRecord]
    building_unit: list[str]
    building_grid: list[str]
    floor_area: FloorArea | None = None
    flags: list[Flag] = field(default_factory=list)
    streets: bool = False
    notes: list[str] = field(default_factory=list)


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


def _groups(x: np.ndarray, y: np.ndarray, floor_area: np.ndarray, p: DrawParams,
            people: np.ndarray | None = None
            ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Buildings bisected into grids (by count, floor area and residents when known), grids
    into communities, communities into streets: (grids, communities, streets), each a list of
    member indexes."""
    w = _weights(floor_area, people)
    leaves: list[np.ndarray] = []
    _bisect(np.arange(len(x)), x, y, w, _grid_fits(floor_area, p, people), leaves)
    return (leaves, *_upper_levels(leaves, x, y, w, p))


def _weights(floor_area: np.ndarray, people: np.ndarray | None = None) -> np.ndarray:
    """Each building's share of the workload: by count and by floor area (and by residents
    when the layer has them), in equal parts."""
    parts = [np.full(len(floor_area), 1.0 / len(floor_area)),
             floor_area / (float(floor_area.sum()) or 1.0)]
    if people is not None:
        parts.append(people / (float(people.sum()) or 1.0))
    return sum(parts) / len(parts)


def _people(b: Buildings) -> np.ndarray | None:
    """Residents per building (households × 2.8 where only those are known), or None."""
    pop = None if b.population is None else np.asarray(b.population, dtype=float)
    hh = None if b.households is None else np.asarray(b.households, dtype=float) * 2.8
    if pop is None and hh is None:
        return None
    if pop is None:
        return np.nan_to_num(hh)
    return np.where(np.isnan(pop), np.nan_to_num(hh) if hh is not None else 0.0, pop)


def _grid_fits(floor_area: np.ndarray, p: DrawParams, people: np.ndarray | None = None):
    """Whether buildings (an index array) are few and small enough for one grid worker (and
    house few enough residents, when known)."""
    def fits(idx: np.ndarray) -> bool:
        """Small enough for one full-time worker."""
        return bool(len(idx) <= p.grid_max_buildings
                    and floor_area[idx].sum() <= p.grid_max_floor_area_m2
                    and (people is None or people[idx].sum() <= p.grid_max_residents))
    return fits


def _upper_levels(leaves: list[np.ndarray], x: np.ndarray, y: np.ndarray, w: np.ndarray,
                  p: DrawParams) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Grids (building index arrays) bisected into communities, communities into streets."""
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
    return comms, streets


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
                   ) -> list[AreaRecord]:
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
        areas.append(AreaRecord("street", sc, area_names.street(s + 1),
                                plane.inv(street_geoms[s]), district_code))
    for c, cc in enumerate(t.comm_code):
        areas.append(AreaRecord("community", cc, area_names.community(
                                    t.comm_street[c] + 1, int(cc[-3:])), plane.inv(comm_geoms[c]),
                                t.street_code[t.comm_street[c]]))
    for g, gc in enumerate(t.grid_code):
        areas.append(AreaRecord("grid", gc, area_names.grid(int(gc[-9:-6]), int(gc[-6:-3]),
                                                       int(gc[-3:])), plane.inv(grid_geoms[g]),
                                t.comm_code[t.grid_comm[g]]))
    return areas


def floor_areas(b: Buildings, geoms_m: np.ndarray) -> FloorArea:
    """Footprint area times floors; unknown floors take the median of the known ones (else 1)."""
    f = np.asarray(b.floors, dtype=float)
    unknown = np.isnan(f)
    known = f[~unknown]
    value = float(max(1, round(float(np.median(known))))) if len(known) else 1.0
    floors = np.where(unknown, value, np.maximum(np.nan_to_num(f), 1.0))
    return FloorArea(shapely.area(geoms_m) * floors, int(unknown.sum()), value)


@dataclass
class _Site:
    """Buildings in the plane: footprints, points, coordinates, floor areas, district outline."""

    b: Buildings
    plane: Plane
    gm: np.ndarray
    pts: np.ndarray
    x: np.ndarray
    y: np.ndarray
    fa: FloorArea
    hull: BaseGeometry


def _site(b: Buildings, p: DrawParams) -> _Site:
    """The buildings in a plane about them, with floor areas and the district outline."""
    plane = Plane.around(b.lon, b.lat)
    gm = plane.fwd(b.geoms)
    pts = plane.fwd(shapely.points(b.lon, b.lat))
    return _Site(b, plane, gm, pts, shapely.get_x(pts), shapely.get_y(pts),
                 floor_areas(b, gm), _district_hull(gm, p.margin_m))


def draw_territory(b: Buildings, district_code: str, district_name: str,
                   params: DrawParams | None = None, lines: np.ndarray | None = None
                   ) -> Drawn:
    """Draw district → streets → communities → grids → units from buildings, along the
    street and barrier ``lines`` (WGS84) when given (see etl.blocks), else from buildings
    alone."""
    p = params or DrawParams()
    st = _site(b, p)
    names = (district_code, district_name)
    if lines is not None and len(lines):
        drawn = _draw_along_streets(st, st.plane.fwd(np.asarray(lines, dtype=object)), p, names)
    else:
        drawn = _draw_without_streets(st, p, names)
    drawn.floor_area = st.fa
    drawn.flags += unit_flags(drawn, st)
    return drawn


def _draw_without_streets(st: _Site, p: DrawParams, names: tuple[str, str]) -> Drawn:
    """Grids by bisecting the buildings, cut along the gaps between them (no street layer)."""
    b, gm, pts, x, y = st.b, st.gm, st.pts, st.x, st.y
    t = _codes(names[0], len(b), *_groups(x, y, st.fa.area, p, _people(b)))
    n_grids = len(t.grid_code)
    grid_of = t.grid_of
    cells, owner = building_cells(gm, st.hull)
    grid_geoms = tile(dissolve(cells, grid_of[owner], n_grids),
                      [shapely.union_all(gm[grid_of == g]) for g in range(n_grids)], st.hull,
                      [pts[grid_of == g] for g in range(n_grids)])
    areas = _level_records(t, grid_geoms, st.plane, names)
    bunit = [""] * len(b)
    bgrid = [""] * len(b)
    for g, gc in enumerate(t.grid_code):
        idx = np.nonzero(grid_of == g)[0]
        sel = np.isin(owner, idx)
        local = {int(i): k for k, i in enumerate(idx)}
        recs, labels = _units_for_grid(gc, grid_geoms[g], gm[idx], x[idx], y[idx],
                                       [b.keys[i] for i in idx], p, st.plane,
                                       cells[sel], np.array([local[int(o)] for o in owner[sel]]))
        areas += recs
        for k, i in enumerate(idx):
            bunit[i] = recs[labels[k]].code
            bgrid[i] = gc
    flags = [Flag("grid", gc, len(shapely.get_parts(grid_geoms[g])), "no_street_layer")
             for g, gc in enumerate(t.grid_code)
             if grid_geoms[g] is not None and len(shapely.get_parts(grid_geoms[g])) > 1]
    return Drawn(areas, bunit, bgrid, flags=flags, notes=[
        "没有道路图层：网格与单元仅按建筑之间的空隙划分，边界不一定沿街 (no street layer: grids "
        "and units follow the gaps between buildings only; load one with wangge etl streets)"])


def _draw_along_streets(st: _Site, lines_m: np.ndarray, p: DrawParams,
                        names: tuple[str, str]) -> Drawn:
    """Grids as unions of whole street blocks, units inside blocks (see etl.blocks)."""
    from etl import blocks as bk

    w = _weights(st.fa.area, _people(st.b))
    fits = _grid_fits(st.fa.area, p, _people(st.b))
    st.hull = _street_district(st.hull, lines_m, p.margin_m)
    lines_m = bk.extend_dangles(lines_m, st.hull, p.dangle_reach_m)
    raw = bk.street_blocks(lines_m, st.hull, st.pts)
    atoms = bk.split_heavy(raw, fits, lambda block, idx: _split(block, idx, st, w, fits),
                           lambda block, groups: _cut(block, groups, st))
    adj = bk.adjacency(atoms.geoms)
    atom_grid, stuck = _one_piece(adj, _atoms_to_grids(atoms, st, w, fits),
                                  np.bincount(atoms.of_building, w, len(atoms.geoms)), atoms,
                                  fits)
    atom_grid = _merge_small(atom_grid, atoms, adj, fits)
    grid_of_b = atom_grid[atoms.of_building]
    leaves = [np.nonzero(grid_of_b == g)[0] for g in np.unique(atom_grid)]
    t = _codes(names[0], len(st.b), leaves, *_upper_levels(leaves, st.x, st.y, w, p))
    atom_pos = np.array([t.grid_of[np.nonzero(atoms.of_building == a)[0][0]]
                         for a in range(len(atoms.geoms))])
    grid_geoms = [bk._coverage_union(atoms.geoms[atom_pos == g])
                  for g in range(len(t.grid_code))]
    areas = _level_records(t, grid_geoms, st.plane, names)
    drawn = Drawn(areas, [""] * len(st.b), [""] * len(st.b), streets=True)
    for g, gc in enumerate(t.grid_code):
        _grid_units(drawn, gc, np.nonzero(atom_pos == g)[0], atoms, st, p)
    stuck_pos = {int(atom_pos[a]) for a in stuck}
    drawn.flags = [Flag("grid", gc, len(shapely.get_parts(grid_geoms[g])),
                        "district_in_parts" if g in stuck_pos else "touching_at_a_point")
                   for g, gc in enumerate(t.grid_code)
                   if len(shapely.get_parts(grid_geoms[g])) > 1]
    drawn.notes.append(
        f"沿道路划分：{len(lines_m)} 条道路与障碍线围合出 {len(raw.geoms)} 个有建筑的街坊；"
        f"{len(atoms.geoms) - len(raw.geoms)} 处因单个街坊超过一个网格的工作量而沿建筑间空隙切分 "
        f"({len(lines_m)} street/barrier lines enclose {len(raw.geoms)} blocks with buildings; "
        f"{len(atoms.geoms) - len(raw.geoms)} extra cut(s) where one block alone exceeds a "
        "grid's workload)")
    return drawn


def _street_district(hull: BaseGeometry, lines_m: np.ndarray, margin_m: float) -> BaseGeometry:
    """The district outline with the roads that link its built-up parts (a corridor of
    ``margin_m`` each side of every line within the buildings' convex hull), holes filled."""
    inside = shapely.intersection(np.asarray(lines_m, dtype=object), shapely.convex_hull(hull))
    corridor = shapely.union_all(shapely.buffer(inside, margin_m, quad_segs=4, cap_style="flat"))
    out = shapely.union(hull, corridor).simplify(1.0)
    out = shapely.union_all([shapely.Polygon(r.exterior) for r in shapely.get_parts(out)
                             if r.geom_type == "Polygon"])
    return _polygonal(out)


CUT_ANGLES = (0.0, 45.0, 90.0, 135.0)
CUT_SHARES = (0.4, 0.5, 0.6)


def _split(block: BaseGeometry, idx: np.ndarray, st: _Site, w: np.ndarray,
           fits) -> list[np.ndarray]:
    """A heavy block's buildings cut in two where the line between the two sides (the edges of
    their cells, midway between buildings) is shortest, among straight cuts in four directions
    at 40, 50 and 60 % of the workload (those leaving two parts that fit first); again on
    each side until each part fits."""
    if fits(idx) or len(idx) < 2:
        return [idx]
    cells, owner = building_cells(st.gm[idx], block)
    best: tuple[tuple[bool, float], np.ndarray, list] | None = None
    for ang in CUT_ANGLES:
        t = math.radians(ang)
        proj = st.x[idx] * math.cos(t) + st.y[idx] * math.sin(t)
        order = np.lexsort((idx, proj))
        cw = np.cumsum(w[idx][order])
        for share in CUT_SHARES:
            cut = min(max(int(np.searchsorted(cw, cw[-1] * share)) + 1, 1), len(idx) - 1)
            side = np.zeros(len(idx), dtype=np.int64)
            side[order[cut:]] = 1
            halves = dissolve(cells, side[owner], 2)
            if any(h is None for h in halves):
                continue
            length = float(shapely.length(shapely.intersection(
                shapely.boundary(halves[0]), shapely.boundary(halves[1]))))
            both = fits(idx[side == 0]) and fits(idx[side == 1])
            key = (not both, length)
            if best is None or key < best[0]:
                best = (key, side, halves)
    if best is None:
        out: list[np.ndarray] = []
        _bisect(idx, st.x, st.y, w, fits, out)
        return out
    _len, side, halves = best
    return [g for k in (0, 1) for g in _split(_polygonal(shapely.intersection(halves[k], block))
                                              or block, idx[side == k], st, w, fits)]


def _cut(block: BaseGeometry, groups: list[np.ndarray], st: _Site) -> list[BaseGeometry] | None:
    """A block cut between groups of its buildings along the gaps between them (None when it
    cannot be cut cleanly)."""
    idx = np.concatenate(groups)
    lab = np.concatenate([np.full(len(g), k) for k, g in enumerate(groups)])
    cells, owner = building_cells(st.gm[idx], block)
    pieces = tile(dissolve(cells, lab[owner], len(groups)),
                  [shapely.union_all(st.gm[g]) for g in groups], block,
                  [st.pts[g] for g in groups])
    if any(pc is None for pc in pieces):  # cannot cut cleanly: the block stays whole
        return None
    return pieces


def _atoms_to_grids(atoms, st: _Site, w: np.ndarray, fits) -> np.ndarray:
    """Blocks bisected (weighted median of their centres) into grids that fit one worker."""
    n = len(atoms.geoms)
    members = [np.nonzero(atoms.of_building == a)[0] for a in range(n)]
    ax = np.array([st.x[m].mean() for m in members])
    ay = np.array([st.y[m].mean() for m in members])
    aw = np.array([w[m].sum() for m in members])
    leaves: list[np.ndarray] = []
    _bisect(np.arange(n), ax, ay, aw,
            lambda a: fits(np.concatenate([members[i] for i in a])), leaves)
    out = np.empty(n, dtype=np.int64)
    for k, lf in enumerate(leaves):
        out[lf] = k
    return out


def _components(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of pieces linked by edges (a, b) between pieces of one label."""
    parent = np.arange(len(labels))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a, b, strict=True):
        if labels[i] == labels[j]:
            parent[root(int(i))] = root(int(j))
    return np.array([root(i) for i in range(len(labels))])


def _merge_small(atom_grid: np.ndarray, atoms, adj, fits) -> np.ndarray:
    """Grids that together still fit one worker merged, smallest first, each into the
    neighbour (sharing an edge) that leaves the lightest grid."""
    grid = atom_grid.copy()
    while True:
        members = {int(g): np.nonzero(np.isin(atoms.of_building, np.nonzero(grid == g)[0]))[0]
                   for g in np.unique(grid)}
        near: dict[int, set[int]] = {}
        for i, j in zip(adj.a, adj.b, strict=True):
            if grid[i] != grid[j]:
                near.setdefault(int(grid[i]), set()).add(int(grid[j]))
                near.setdefault(int(grid[j]), set()).add(int(grid[i]))
        best = None
        for g in sorted(members, key=lambda g: (len(members[g]), g)):
            for h in sorted(near.get(g, ())):
                both = np.concatenate([members[g], members[h]])
                if fits(both) and (best is None or len(both) < best[0]):
                    best = (len(both), g, h)
            if best:
                break
        if best is None:
            return grid
        grid[grid == best[1]] = best[2]


def _one_piece(adj, atom_grid: np.ndarray, aw: np.ndarray, atoms, fits
               ) -> tuple[np.ndarray, list[int]]:
    """Stray pieces of a grid (blocks cut off from its main piece) handed to the neighbouring
    grid sharing most edge among those that stay within one worker's load; else a grid of
    their own (a tiny piece: the lightest neighbour). The blocks of pieces no other grid
    touches stay where they are (and are returned)."""
    grid = atom_grid.copy()
    stuck: list[int] = []
    for _round in range(20):
        comp = _components(grid, adj.a, adj.b)
        weight = np.bincount(comp, aw, len(grid))
        main = {}
        for c in np.unique(comp):
            g = int(grid[c])
            if g not in main or weight[c] > weight[main[g]]:
                main[g] = int(c)
        strays = [int(c) for c in np.unique(comp) if main[int(grid[c])] != c]
        moved, stuck = _move_strays(strays, comp, grid, adj, _Loads(atoms, fits))
        if not moved:
            break
    return grid, stuck


class _Loads:
    """Buildings of sets of blocks, and whether a set fits one worker or is a third of that."""

    def __init__(self, atoms, fits) -> None:
        self.members = [np.nonzero(atoms.of_building == a)[0] for a in range(len(atoms.geoms))]
        self.fits = fits

    def of(self, mask: np.ndarray) -> np.ndarray:
        """The buildings of the blocks in ``mask``."""
        return np.concatenate([self.members[a] for a in np.nonzero(mask)[0]])

    def small(self, mask: np.ndarray) -> bool:
        """Under a tenth of a grid: ten copies would still fit one worker."""
        return bool(self.fits(np.tile(self.of(mask), 10)))


def _move_strays(strays: list[int], comp: np.ndarray, grid: np.ndarray, adj,
                 loads: _Loads) -> tuple[bool, list[int]]:
    """Each stray piece to a grid of its own or a neighbouring grid (in place)."""
    moved = False
    stuck: list[int] = []
    for c in strays:
        mine = comp == c
        shared: dict[int, float] = {}
        for i, j, length in zip(adj.a, adj.b, adj.length, strict=True):
            for u, v in ((i, j), (j, i)):
                if mine[u] and not mine[v] and grid[v] != grid[u]:
                    shared[int(grid[v])] = shared.get(int(grid[v]), 0.0) + float(length)
        if not shared:
            stuck += np.nonzero(mine)[0].tolist()
            continue
        size = {g: len(loads.of(mine | (grid == g))) for g in shared}
        ok = [g for g in sorted(shared) if loads.fits(loads.of(mine | (grid == g)))]
        if ok:
            grid[mine] = max(ok, key=lambda g: shared[g])
        elif loads.small(mine):
            grid[mine] = min(sorted(shared), key=lambda g: size[g])
        else:
            grid[mine] = grid.max() + 1
        moved = True
    return moved, stuck


def _grid_units(drawn: Drawn, grid_code: str, atom_ids: np.ndarray, atoms, st: _Site,
                p: DrawParams) -> None:
    """Units of one grid (buildings grouped inside their blocks; a unit whose buildings'
    cells do not touch becomes one unit per piece), added to ``drawn`` in Hilbert order."""
    idx = np.concatenate([np.nonzero(atoms.of_building == a)[0] for a in atom_ids])
    idx.sort()
    block = atoms.of_building[idx]
    labels = group_units(st.x[idx], st.y[idx], [st.b.keys[i] for i in idx],
                         p.unit_max_buildings, p.unit_max_gap_m, blocks=block)
    units: list[tuple[np.ndarray, BaseGeometry | None]] = []
    for a in atom_ids:
        here = np.nonzero(block == a)[0]
        _u, local = np.unique(labels[here], return_inverse=True)
        pts = st.pts[idx[here]]
        keep = [pts[local == k] for k in range(int(local.max()) + 1)]
        pieces = reattach_fragments(
            unit_polygons(atoms.geoms[a], st.gm[idx[here]], local, points=pts), keep)
        for k, piece in enumerate(pieces):
            units += _one_unit_per_piece(idx[here[local == k]], keep[k], piece)
    rank = np.empty(len(idx), dtype=np.int64)
    rank[np.lexsort(([st.b.keys[i] for i in idx], hilbert_index(st.x[idx], st.y[idx])))] = \
        np.arange(len(idx))
    pos = {int(i): r for i, r in zip(idx, rank, strict=True)}
    units.sort(key=lambda u: min(pos[int(i)] for i in u[0]))
    if len(units) > 999:
        raise ValueError(f"grid {grid_code}: {len(units)} units do not fit 3-digit codes")
    for k, (members, poly) in enumerate(units):
        code = f"{grid_code}{k + 1:03d}"
        drawn.areas.append(AreaRecord("unit", code, area_names.unit(k + 1), st.plane.inv(poly),
                                      grid_code, extra={"buildings": [st.b.keys[i]
                                                                      for i in members]}))
        for i in members:
            drawn.building_unit[i] = code
            drawn.building_grid[i] = grid_code


def _one_unit_per_piece(members: np.ndarray, pts: np.ndarray, piece: BaseGeometry | None
                        ) -> list[tuple[np.ndarray, BaseGeometry | None]]:
    """A unit as (buildings, polygon); split into one unit per piece when its polygon is in
    pieces that each hold some of its buildings."""
    parts = shapely.get_parts(piece) if piece is not None else []
    if len(parts) < 2:
        return [(members, piece)]
    where = np.array([int(np.argmax(shapely.intersects(parts, pt))) for pt in pts])
    if len(set(where.tolist())) < 2 or len(set(where.tolist())) < len(parts):
        return [(members, piece)]
    return [(members[where == j], parts[j]) for j in range(len(parts))]


def reattach_fragments(pieces: list[BaseGeometry | None], keep: list[np.ndarray]
                       ) -> list[BaseGeometry | None]:
    """Parts of a piece holding none of its points (cut off by a bend of the block) given to
    the neighbouring piece they share most edge with; the pieces still tile what they did."""
    out = list(pieces)
    for k in range(len(out)):
        parts = shapely.get_parts(out[k]) if out[k] is not None else []
        if len(parts) < 2:
            continue
        holds = np.array([bool(shapely.intersects(pt, keep[k]).any()) for pt in parts])
        if holds.all() or not holds.any():
            continue
        out[k] = _polygonal(shapely.union_all(parts[holds]))
        for part in parts[~holds]:
            edge = [shapely.length(shapely.intersection(shapely.boundary(part),
                                                        shapely.boundary(o)))
                    if o is not None and j != k else 0.0 for j, o in enumerate(out)]
            j = int(np.argmax(edge)) if max(edge, default=0.0) > 0 else k
            out[j] = _polygonal(shapely.union(out[j], part))
    return out


def unit_flags(drawn: Drawn, st: _Site) -> list[Flag]:
    """Units drawn in several pieces: their buildings lie apart (another unit's cells between),
    or a sliver without buildings was left (overlapping footprints)."""
    out = []
    by_unit: dict[str, list[int]] = {}
    for i, u in enumerate(drawn.building_unit):
        by_unit.setdefault(u, []).append(i)
    for a in drawn.areas:
        if a.level != "unit" or a.geom is None:
            continue
        parts = shapely.get_parts(a.geom)
        if len(parts) < 2:
            continue
        pts = shapely.points(st.b.lon[by_unit[a.code]], st.b.lat[by_unit[a.code]])
        holding = sum(bool(shapely.intersects(pt, pts).any()) for pt in parts)
        out.append(Flag("unit", a.code, len(parts),
                        "buildings_apart" if holding > 1 else "sliver"))
    return out


def _units_for_grid(grid_code: str, grid_m: BaseGeometry, geoms_m: np.ndarray, x: np.ndarray,
                    y: np.ndarray, keys: list[str], p: DrawParams, plane: Plane,
                    cells: np.ndarray | None = None, cell_owner: np.ndarray | None = None,
                    labels: np.ndarray | None = None, codes: list[str] | None = None,
                    blocks=None) -> tuple[list[AreaRecord], np.ndarray]:
    """Unit records of one grid and each building's position in them (``labels`` and ``codes``
    when the grouping and the codes were decided already; ``blocks``: the grid's street
    blocks, each unit then drawn inside its block)."""
    if len(keys) == 0:
        return [], np.zeros(0, dtype=np.int64)
    if labels is None:
        labels = group_units(x, y, keys, p.unit_max_buildings, p.unit_max_gap_m,
                             None if blocks is None else blocks.of_building)
    n = int(labels.max()) + 1
    if codes is None:
        codes = [f"{grid_code}{k + 1:03d}" for k in range(n)]
    if any(len(c) != len(grid_code) + 3 or not c[-3:].isdigit() or c[-3:] == "000"
           for c in codes):
        raise ValueError(f"grid {grid_code}: {n} units do not fit 3-digit codes")
    if blocks is None:
        polys = unit_polygons(grid_m, geoms_m, labels, cells, cell_owner, shapely.points(x, y))
    else:
        polys = [_polygonal(shapely.intersection(g, grid_m)) if g is not None else None
                 for g in _block_polygons(blocks, geoms_m, labels, shapely.points(x, y))]
    recs = []
    for k, g in enumerate(polys):
        recs.append(AreaRecord("unit", codes[k], area_names.unit(int(codes[k][-3:])),
                               plane.inv(g), grid_code,
                               extra={"buildings": [keys[i] for i in np.nonzero(labels == k)[0]]}))
    return recs, labels


def _block_polygons(blocks, geoms_m: np.ndarray, labels: np.ndarray,
                    pts: np.ndarray) -> list[BaseGeometry | None]:
    """Unit polygons drawn block by block (each unit's buildings lie in one block)."""
    polys: list[BaseGeometry | None] = [None] * (int(labels.max()) + 1)
    for a, block in enumerate(blocks.geoms):
        here = np.nonzero(blocks.of_building == a)[0]
        if not len(here):
            continue
        units, local = np.unique(labels[here], return_inverse=True)
        keep = [pts[here][local == k] for k in range(len(units))]
        pieces = reattach_fragments(unit_polygons(block, geoms_m[here], local,
                                                  points=pts[here]), keep)
        for u, piece in zip(units, pieces, strict=True):
            polys[u] = piece
    return polys


def regroup_with_previous(x: np.ndarray, y: np.ndarray, keys: list[str],
                          previous: dict[str, np.ndarray], p: DrawParams,
                          blocks: np.ndarray | None = None) -> Regrouped:
    """Groups for a redraw that keeps what has not changed.

    ``previous`` maps each old unit code to the buildings (positions) lying in it now. An old
    unit holding 1..unit_max_buildings of them (all in one street block, given ``blocks``)
    stays as it is (same buildings, same code); the buildings of bigger ones (or of ones across
    a street) and those in no old unit are grouped afresh. Returns the groups and, for each,
    the old code it keeps (None for the regrouped ones).
    """
    n = len(keys)
    taken = np.zeros(n, dtype=bool)
    groups: list[np.ndarray] = []
    kept: list[str | None] = []
    for code in sorted(previous):
        members = np.unique(np.asarray(previous[code], dtype=np.int64))
        members = members[~taken[members]]
        one_block = blocks is None or len(set(blocks[members].tolist())) <= 1
        if 1 <= len(members) <= p.unit_max_buildings and one_block:
            groups.append(members)
            kept.append(code)
            taken[members] = True
    loose = np.nonzero(~taken)[0]
    if len(loose):
        lab = group_units(x[loose], y[loose], [keys[i] for i in loose], p.unit_max_buildings,
                          p.unit_max_gap_m, None if blocks is None else blocks[loose])
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
               stats: dict | None = None, lines: np.ndarray | None = None) -> DrawnUnits:
    """Units for one existing grid (WGS84) from the buildings whose point lies in it.

    ``previous``: the grid's current units (code → positions of the buildings lying in each).
    Unchanged units are kept with their codes (all regrouped with ``regroup``), new groups
    take the code of the old unit holding the same buildings or overlapping them most, and
    only genuinely new units get new codes, after every code in ``used_codes``. With street
    ``lines`` (WGS84), units are grouped and drawn inside the grid's street blocks (an old unit
    across a street is regrouped).
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
    blk = _grid_blocks(lines, plane, grid_m, pts, p)
    of = None if blk is None else blk.of_building
    previous = previous or {}
    used = set(used_codes or ()) | set(previous)
    if previous or used:
        if regroup:
            lab = group_units(x, y, b.keys, p.unit_max_buildings, p.unit_max_gap_m, of)
            groups = [np.nonzero(lab == k)[0] for k in range(int(lab.max()) + 1)]
            kept = None
        else:
            groups, kept = regroup_with_previous(x, y, b.keys, previous, p, of)
        codes, st = match_codes(grid_code, groups, previous, used, kept)
        if stats is not None:
            for k, v in st.items():
                stats[k] = stats.get(k, 0) + v
        order = sorted(range(len(groups)), key=lambda k: codes[k])
        labels = np.empty(len(b), dtype=np.int64)
        for new_k, k in enumerate(order):
            labels[groups[k]] = new_k
        return DrawnUnits(*_units_for_grid(grid_code, grid_m, gm, x, y, b.keys, p, plane,
                                           labels=labels, codes=[codes[k] for k in order],
                                           blocks=blk))
    recs, labels = _units_for_grid(grid_code, grid_m, gm, x, y, b.keys, p, plane, blocks=blk)
    if stats is not None:
        stats["new"] = stats.get("new", 0) + len(recs)
    return DrawnUnits(recs, labels)


def _grid_blocks(lines: np.ndarray | None, plane: Plane, grid_m: BaseGeometry, pts: np.ndarray,
                 p: DrawParams):
    """The street blocks of one grid (None without lines or when none crosses the grid)."""
    if lines is None or not len(lines):
        return None
    from etl import blocks as bk

    lm = plane.fwd(np.asarray(lines, dtype=object))
    lm = lm[shapely.intersects(lm, grid_m)]
    if not len(lm):
        return None
    return bk.street_blocks(bk.extend_dangles(lm, grid_m, p.dangle_reach_m), grid_m, pts)
