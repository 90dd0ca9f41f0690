"""Uniform-cell point-in-polygon index: most points resolve from one array lookup.

Each cell of a regular lattice over the polygons is either *pure* (wholly inside one polygon's
interior: the answer is stored), *empty* (touches no polygon) or *mixed* (a short candidate
list, tested exactly with prepared geometries). Polygon order is the tie-break: when several
polygons cover a point (a shared edge or vertex), the one with the lowest index wins; callers
sort polygons by code, so the lowest code wins.
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from numpy.typing import NDArray

EMPTY = -2
MIXED = -1
# shapely's vectorized calls hold the GIL: an index built beside requests (the API builds the
# next generation's while serving) calls them on slices this long, never for long at a time
CHUNK = 4_000


def chunked(fn, *arrays: NDArray) -> NDArray:
    """``fn(*arrays)`` computed slice by slice (same result, the GIL let go in between)."""
    n = len(arrays[0])
    if n <= CHUNK:
        return fn(*arrays)
    parts = []
    for k in range(0, n, CHUNK):
        parts.append(fn(*(a[k:k + CHUNK] for a in arrays)))
        time.sleep(0)  # let a waiting thread (the API's event loop) have the GIL now
    return np.concatenate(parts)


def release(geoms: NDArray[np.object_], keep: NDArray[np.bool_] | None = None) -> None:
    """Free the geometries of ``geoms`` (those not in ``keep``) slice by slice."""
    for k in range(0, len(geoms), CHUNK):
        part = geoms[k:k + CHUNK]
        if keep is None:
            part[:] = None
        else:
            part[~keep[k:k + CHUNK]] = None
        time.sleep(0)


def as_list(values: NDArray) -> list:
    """``values.tolist()`` slice by slice (millions of Python ints are made)."""
    out: list = []
    for k in range(0, len(values), CHUNK * 50):
        out.extend(values[k:k + CHUNK * 50].tolist())
        time.sleep(0)
    return out


class CellIndex:
    """Point → polygon index (lowest index among the polygons that cover the point)."""

    def __init__(self, polygons: NDArray[np.object_], cells_per_polygon: float = 16.0,
                 max_cells: int = 4_000_000) -> None:
        self.polygons = np.asarray(polygons, dtype=object)
        n = len(self.polygons)
        for k in range(0, n, CHUNK):
            shapely.prepare(self.polygons[k:k + CHUNK])
            time.sleep(0)
        if n == 0:
            self.x0 = self.y0 = 0.0
            self.dx = self.dy = 1.0
            self.nx = self.ny = 1
            self.state = np.full(1, EMPTY, dtype=np.int32)
            self.start = np.zeros(1, dtype=np.int64)
            self.end = np.zeros(1, dtype=np.int64)
            self.cand = np.zeros(0, dtype=np.int32)
            self._lists()
            return
        b = shapely.bounds(self.polygons)
        minx, miny = b[:, 0].min(), b[:, 1].min()
        maxx, maxy = b[:, 2].max(), b[:, 3].max()
        w, h = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
        ncells = int(min(max(n * cells_per_polygon, 1), max_cells))
        size = np.sqrt(w * h / ncells)
        self.nx = max(1, int(np.ceil(w / size)))
        self.ny = max(1, int(np.ceil(h / size)))
        self.x0, self.y0 = float(minx), float(miny)
        self.dx, self.dy = w / self.nx, h / self.ny
        self._build(b)
        self._lists()

    def _cell_range(self, lo: NDArray, hi: NDArray, origin: float, step: float, count: int):
        """Cells spanned by [lo, hi] along one axis."""
        a = np.clip(np.floor((lo - origin) / step).astype(np.int64), 0, count - 1)
        z = np.clip(np.floor((hi - origin) / step).astype(np.int64), 0, count - 1)
        return a, z

    def _build(self, b: NDArray) -> None:
        """Classify every cell as pure, empty or mixed."""
        i0, i1 = self._cell_range(b[:, 0], b[:, 2], self.x0, self.dx, self.nx)
        j0, j1 = self._cell_range(b[:, 1], b[:, 3], self.y0, self.dy, self.ny)
        wi, wj = i1 - i0 + 1, j1 - j0 + 1
        counts = wi * wj
        poly = np.repeat(np.arange(len(b), dtype=np.int64), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        ci = i0[poly] + local % wi[poly]
        cj = j0[poly] + local // wi[poly]
        boxes = chunked(shapely.box, self.x0 + ci * self.dx, self.y0 + cj * self.dy,
                        self.x0 + (ci + 1) * self.dx, self.y0 + (cj + 1) * self.dy)
        hit = chunked(shapely.intersects, self.polygons[poly], boxes)
        release(boxes, keep=hit)
        poly, ci, cj, boxes = poly[hit], ci[hit], cj[hit], boxes[hit]
        full = chunked(shapely.contains_properly, self.polygons[poly], boxes)
        release(boxes)
        cell = ci * self.ny + cj
        order = np.lexsort((poly, cell))
        cell, poly, full = cell[order], poly[order], full[order]
        ncell = self.nx * self.ny
        state = np.full(ncell, EMPTY, dtype=np.int32)
        first = np.ones(len(cell), dtype=bool)
        first[1:] = cell[1:] != cell[:-1]
        # the lowest-index polygon touching the cell decides purity
        pure = first & full
        state[cell[first]] = MIXED
        state[cell[pure]] = poly[pure]
        mixed_pairs = state[cell] == MIXED
        self.cand = poly[mixed_pairs].astype(np.int32)
        mc = cell[mixed_pairs]
        self.start = np.searchsorted(mc, np.arange(ncell), side="left").astype(np.int64)
        self.end = np.searchsorted(mc, np.arange(ncell), side="right").astype(np.int64)
        self.state = state

    def _lists(self) -> None:
        """Plain-Python copies for the single-point path (no numpy scalar overhead)."""
        self._state_l = as_list(self.state)
        self._start_l = as_list(self.start)
        self._end_l = as_list(self.end)
        self._cand_l = as_list(self.cand)
        self._polys_l = list(self.polygons)
        self._inv_dx, self._inv_dy = 1.0 / self.dx, 1.0 / self.dy

    def lookup(self, x: float, y: float) -> int:
        """Index of the polygon covering (x, y), or -1."""
        i = int((x - self.x0) * self._inv_dx)
        j = int((y - self.y0) * self._inv_dy)
        if x < self.x0 or y < self.y0:
            return -1
        if i >= self.nx:
            if x > self.x0 + self.nx * self.dx:
                return -1
            i = self.nx - 1
        if j >= self.ny:
            if y > self.y0 + self.ny * self.dy:
                return -1
            j = self.ny - 1
        c = i * self.ny + j
        s = self._state_l[c]
        if s >= 0:
            return s
        if s == EMPTY:
            return -1
        polys = self._polys_l
        for k in range(self._start_l[c], self._end_l[c]):
            p = self._cand_l[k]
            if shapely.intersects_xy(polys[p], x, y):
                return p
        return -1

    def lookup_many(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Vectorised :meth:`lookup`."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        out = np.full(x.shape, -1, dtype=np.int64)
        fi = np.floor((x - self.x0) / self.dx)
        fj = np.floor((y - self.y0) / self.dy)
        xmax, ymax = self.x0 + self.nx * self.dx, self.y0 + self.ny * self.dy
        ok = (x >= self.x0) & (y >= self.y0) & (x <= xmax) & (y <= ymax)
        idx = np.nonzero(ok)[0]
        i = np.minimum(fi[idx].astype(np.int64), self.nx - 1)
        j = np.minimum(fj[idx].astype(np.int64), self.ny - 1)
        c = i * self.ny + j
        s = self.state[c]
        pure = s >= 0
        out[idx[pure]] = s[pure]
        mixed = s == MIXED
        if mixed.any():
            pts = idx[mixed]
            mc = c[mixed]
            st, en = self.start[mc], self.end[mc]
            cnt = en - st
            rep = np.repeat(np.arange(len(pts)), cnt)
            off = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            cand = self.cand[np.repeat(st, cnt) + off].astype(np.int64)
            hit = shapely.intersects_xy(self.polygons[cand], x[pts[rep]], y[pts[rep]])
            big = np.iinfo(np.int64).max
            val = np.where(hit, cand, big)
            seg = np.cumsum(cnt) - cnt
            best = np.minimum.reduceat(val, seg)
            found = best != big
            out[pts[found]] = best[found]
        return out
