"""Street blocks (街坊) for drawing: the enclosures of streets, barriers and the district edge.

As momepy's ``enclosures`` do, the street and barrier lines are noded together with the
district's outline and polygonized: every face is an enclosure, and the faces tile the district
(dead-end streets close nothing). A face holding buildings is a block; a face without any
(a park, a traffic island, water) joins the neighbouring block it shares the longest edge with,
so every block holds buildings and the blocks still tile the district. A block heavier than
one grid's workload is cut into parts along the gaps between its buildings (the edges of their
Voronoi cells, midway between the nearest buildings). All geometry is in the plane metres of
``etl.units.Plane``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

GRID_SIZE_M = 0.01  # noding precision of the street lines and the district outline (m)


class Blocks(NamedTuple):
    """Blocks tiling the district (plane polygons) and the block of each building."""

    geoms: np.ndarray
    of_building: np.ndarray


class Adjacency(NamedTuple):
    """Pairs of pieces sharing an edge (a < b) and the length of the edge, metres."""

    a: np.ndarray
    b: np.ndarray
    length: np.ndarray


def enclosures(lines_m: np.ndarray, extent: BaseGeometry) -> np.ndarray:
    """Faces of the lines noded with the extent's outline, inside the extent (tiling it)."""
    faces = shapely.get_parts(shapely.polygonize(_noded(lines_m, extent)))
    if not len(faces):
        return np.array([extent], dtype=object)
    inside = shapely.contains(extent, shapely.point_on_surface(faces))
    return faces[inside]


def _noded(lines_m: np.ndarray, extent: BaseGeometry) -> np.ndarray:
    """The lines near the extent and its outline, noded: simple segments between crossings."""
    near = shapely.intersection(np.asarray(lines_m, dtype=object), extent.buffer(1.0))
    near = near[~shapely.is_empty(near)] if len(near) else near
    edges = shapely.union_all(np.concatenate([near, [shapely.boundary(extent)]]),
                              grid_size=GRID_SIZE_M)
    return shapely.get_parts(shapely.line_merge(edges))


def extend_dangles(lines_m: np.ndarray, extent: BaseGeometry, reach_m: float) -> np.ndarray:
    """Dead ends carried on straight ahead to the first line or district edge within
    ``reach_m`` (as momepy's extend_lines): a street that stops short of the next one or of the
    edge (a gap in the data, a cut at the extract's edge) still closes its block."""
    segs = _noded(lines_m, extent)
    ends = np.concatenate([shapely.get_point(segs, 0), shapely.get_point(segs, -1)])
    xy = np.round(shapely.get_coordinates(ends), 2)
    _u, inv, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    tree = shapely.STRtree(segs)
    out = []
    for k in np.nonzero(counts[inv.ravel()] == 1)[0]:
        seg = segs[k % len(segs)]
        c = shapely.get_coordinates(seg)
        tip, prev = (c[0], c[1]) if k < len(segs) else (c[-1], c[-2])
        d = tip - prev
        norm = float(np.hypot(*d))
        if norm == 0 or not extent.contains(shapely.Point(tip)):
            continue
        ray = shapely.LineString([tip + d / norm * 0.01, tip + d / norm * reach_m])
        hits = [h for h in tree.query(ray, predicate="intersects") if segs[h] is not seg]
        if not hits:
            continue
        cross = shapely.intersection(ray, shapely.union_all(segs[hits]))
        near = min(shapely.get_parts(cross), key=lambda g: shapely.distance(g, shapely.Point(tip)))
        out.append(shapely.shortest_line(shapely.Point(tip), near))
    return np.concatenate([np.asarray(lines_m, dtype=object), np.array(out, dtype=object)])


def locate(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Index of the face holding each point (on an edge: the first; outside all: nearest)."""
    tree = shapely.STRtree(faces)
    pi, fi = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1, dtype=np.int64)
    out[pi[::-1]] = fi[::-1]
    lost = np.nonzero(out < 0)[0]
    if len(lost):
        out[lost] = tree.query_nearest(points[lost], return_distance=False, all_matches=False)[1]
    return out


def adjacency(pieces: np.ndarray, min_m: float = 0.5) -> Adjacency:
    """Pieces sharing an edge longer than ``min_m`` (touching at a point does not count)."""
    tree = shapely.STRtree(pieces)
    a, b = tree.query(pieces, predicate="intersects")
    m = a < b
    a, b = a[m], b[m]
    shared = shapely.length(shapely.intersection(shapely.boundary(pieces[a]),
                                                 shapely.boundary(pieces[b]),
                                                 grid_size=GRID_SIZE_M))
    keep = shared > min_m
    return Adjacency(a[keep], b[keep], shared[keep])


def _attach_empty(faces: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Each empty face (owner -1) given the owner of the neighbour it shares most edge with,
    round by round outwards; faces touching no owned face take the nearest one's owner."""
    owner = owner.copy()
    adj = adjacency(faces)
    while True:
        best: dict[int, tuple[float, int]] = {}
        for a, b, length in zip(adj.a, adj.b, adj.length, strict=True):
            for empty, full in ((a, b), (b, a)):
                if owner[empty] < 0 <= owner[full] and length > best.get(empty, (0.0, -1))[0]:
                    best[int(empty)] = (float(length), int(owner[full]))
        if not best:
            break
        for f, (_len, o) in best.items():
            owner[f] = o
    left = np.nonzero(owner < 0)[0]
    owned = np.nonzero(owner >= 0)[0]
    if len(left) and len(owned):
        tree = shapely.STRtree(faces[owned])
        near = tree.query_nearest(faces[left], return_distance=False, all_matches=False)[1]
        owner[left] = owner[owned[near]]
    return owner


def street_blocks(lines_m: np.ndarray, extent: BaseGeometry, points_m: np.ndarray) -> Blocks:
    """Blocks of the buildings (``points_m``: a point inside each) tiling ``extent``."""
    faces = enclosures(lines_m, extent)
    face_of = locate(points_m, faces)
    used = np.unique(face_of)
    owner = np.full(len(faces), -1, dtype=np.int64)
    owner[used] = np.arange(len(used))
    owner = _attach_empty(faces, owner)
    geoms = np.empty(len(used), dtype=object)
    for k in range(len(used)):
        part = faces[owner == k]
        geoms[k] = part[0] if len(part) == 1 else _coverage_union(part)
    return Blocks(geoms, owner[face_of])


def _coverage_union(parts: np.ndarray) -> BaseGeometry:
    """Union of faces sharing exact edges (a plain union if the coverage one fails)."""
    try:
        return shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        return shapely.union_all(parts, grid_size=GRID_SIZE_M)


def split_heavy(blocks: Blocks, fits: Callable[[np.ndarray], bool],
                split: Callable[[BaseGeometry, np.ndarray], list[np.ndarray]],
                cut: Callable[[BaseGeometry, list[np.ndarray]], list[BaseGeometry] | None]
                ) -> Blocks:
    """Blocks whose buildings do not ``fits`` one grid cut into parts: ``split`` groups the
    buildings of a block, ``cut`` gives each group its piece of the block (pieces tile it)."""
    geoms: list[BaseGeometry] = []
    of_b = np.full(len(blocks.of_building), -1, dtype=np.int64)
    for k, g in enumerate(blocks.geoms):
        idx = np.nonzero(blocks.of_building == k)[0]
        groups = [idx] if fits(idx) else split(g, idx)
        pieces = None if len(groups) == 1 else cut(g, groups)
        if pieces is None:  # fits, or cannot be cut cleanly: the block stays whole
            groups, pieces = [idx], [g]
        for grp, piece in zip(groups, pieces, strict=True):
            of_b[grp] = len(geoms)
            geoms.append(piece)
    return Blocks(np.array(geoms, dtype=object), of_b)


class StreetFit(NamedTuple):
    """How well drawn grids and units follow the streets (the targets of issue 15)."""

    multi_units: int
    multi_units_across: int
    boundary_m: float
    boundary_near_m: float
    near_share: float
    grids_in_pieces: int


def units_across(lines_m: np.ndarray, district: BaseGeometry,
                 unit_points: list[np.ndarray]) -> int:
    """Units of several buildings (their points, one array per unit) whose buildings lie in
    different enclosures of the lines and the district edge."""
    faces = enclosures(lines_m, district)
    multi = [u for u in unit_points if len(u) > 1]
    if not multi:
        return 0
    face = locate(np.concatenate(multi), faces)
    cuts = np.cumsum([0] + [len(u) for u in multi])
    return sum(len(set(face[cuts[k]:cuts[k + 1]].tolist())) > 1 for k in range(len(multi)))


class BoundaryNear(NamedTuple):
    """Length of the boundary between grids, and of its part near the lines or the edge."""

    total_m: float
    near_m: float


def boundary_near(grids: np.ndarray, lines_m: np.ndarray, district: BaseGeometry,
                  within_m: float = 10.0) -> BoundaryNear:
    """Length of the boundary between grids, and of the part within ``within_m`` of a line or
    the district edge (metres)."""
    adj = adjacency(grids, min_m=0.0)
    shared = shapely.intersection(shapely.boundary(grids[adj.a]), shapely.boundary(grids[adj.b]),
                                  grid_size=GRID_SIZE_M)
    between = shapely.union_all(shared)
    guide = shapely.union_all(np.concatenate([np.asarray(lines_m, dtype=object),
                                              [shapely.boundary(district)]]))
    near = shapely.intersection(between, shapely.buffer(guide, within_m, quad_segs=4))
    return BoundaryNear(float(shapely.length(between)), float(shapely.length(near)))


def street_fit(grids: np.ndarray, lines_m: np.ndarray, unit_points: list[np.ndarray],
               within_m: float = 10.0) -> StreetFit:
    """The three street targets measured on drawn grids (plane polygons), the lines, and the
    building points of each unit."""
    district = shapely.union_all(grids, grid_size=GRID_SIZE_M)
    across = units_across(lines_m, district, unit_points)
    total, near = boundary_near(grids, lines_m, district, within_m)
    pieces = sum(len(shapely.get_parts(g)) > 1 for g in grids)
    return StreetFit(sum(len(u) > 1 for u in unit_points), across, round(total, 1),
                     round(near, 1), round(near / total, 4) if total else 1.0, pieces)
