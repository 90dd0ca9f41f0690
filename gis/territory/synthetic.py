"""Seeded generator of a district cut into streets, communities, grids and units.

The district is a jittered lattice: every unit is a quadrilateral sharing its edges with its
neighbours, grids are blocks of units, communities blocks of grids, streets blocks of
communities, so boundaries meet exactly as real ones do (shared edges, shared vertices).
Used for the demo before real boundaries are drawn, for tests and for benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import shapely
from sqlalchemy import Engine

from gis.territory import activation, names, people
from gis.territory.generations import AreaRecord, create_generation, insert_areas


class UnitsShape(NamedTuple):
    """How many units the whole district has along x and y (``Layout.shape``)."""

    x: int
    y: int


@dataclass(frozen=True)
class Layout:
    """How many children each level has, along x and y."""

    streets: tuple[int, int] = (2, 1)
    communities: tuple[int, int] = (2, 2)
    grids: tuple[int, int] = (2, 2)
    units: tuple[int, int] = (3, 3)

    @property
    def shape(self) -> UnitsShape:
        """Units along x and y in the whole district."""
        return UnitsShape(
            self.streets[0] * self.communities[0] * self.grids[0] * self.units[0],
            self.streets[1] * self.communities[1] * self.grids[1] * self.units[1],
        )


def _lattice(
    bounds: tuple[float, float, float, float], nx: int, ny: int, jitter: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Jittered vertex lattice of (nx+1) x (ny+1) points; the outer border stays straight."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    xs = np.linspace(minx, maxx, nx + 1)
    ys = np.linspace(miny, maxy, ny + 1)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    dx, dy = (maxx - minx) / nx, (maxy - miny) / ny
    jx = rng.uniform(-jitter, jitter, gx.shape) * dx
    jy = rng.uniform(-jitter, jitter, gy.shape) * dy
    jx[0, :] = jx[-1, :] = 0
    jy[:, 0] = jy[:, -1] = 0
    return np.round(gx + jx, 9), np.round(gy + jy, 9)


def _block_polygon(gx: np.ndarray, gy: np.ndarray, i0: int, j0: int, i1: int, j1: int):
    """Polygon of the lattice block [i0, i1] x [j0, j1] following the lattice vertices."""
    idx = (
        [(i, j0) for i in range(i0, i1)]
        + [(i1, j) for j in range(j0, j1)]
        + [(i, j1) for i in range(i1, i0, -1)]
        + [(i0, j) for j in range(j1, j0, -1)]
    )
    idx.append(idx[0])
    ii, jj = np.array(idx).T
    return shapely.Polygon(np.column_stack([gx[ii, jj], gy[ii, jj]]))


def generate(
    bounds: tuple[float, float, float, float] = (120.5920, 31.3000, 120.6140, 31.3190),
    layout: Layout = Layout(),
    district_code: str = "320508",
    district_name: str = "演示区",
    jitter: float = 0.25,
    seed: int = 42,
    special_last_grid: str | None = "industrial",
) -> list[AreaRecord]:
    """Areas of a generated district, parents before children."""
    nx, ny = layout.shape
    gx, gy = _lattice(bounds, nx, ny, jitter, seed)
    ux, uy = layout.units
    grx, gry = layout.grids
    cx, cy = layout.communities
    sx, sy = layout.streets
    recs: list[AreaRecord] = [
        AreaRecord("district", district_code, district_name, _block_polygon(gx, gy, 0, 0, nx, ny))
    ]
    grids: list[AreaRecord] = []
    units: list[AreaRecord] = []
    for s_i in range(sx * sy):
        si, sj = s_i % sx, s_i // sx
        s_code = f"{district_code}{s_i + 1:03d}"
        w = cx * grx * ux
        h = cy * gry * uy
        recs.append(
            AreaRecord(
                "street", s_code, names.street(s_i + 1),
                _block_polygon(gx, gy, si * w, sj * h, (si + 1) * w, (sj + 1) * h), district_code,
            )
        )
        for c_i in range(cx * cy):
            ci, cj = si * cx + c_i % cx, sj * cy + c_i // cx
            c_code = f"{s_code}{c_i + 1:03d}"
            w, h = grx * ux, gry * uy
            recs.append(
                AreaRecord(
                    "community", c_code, names.community(s_i + 1, c_i + 1),
                    _block_polygon(gx, gy, ci * w, cj * h, (ci + 1) * w, (cj + 1) * h), s_code,
                )
            )
            for g_i in range(grx * gry):
                gi, gj = ci * grx + g_i % grx, cj * gry + g_i // grx
                g_code = f"{c_code}{g_i + 1:03d}"
                grids.append(
                    AreaRecord(
                        "grid", g_code, names.grid(s_i + 1, c_i + 1, g_i + 1),
                        _block_polygon(gx, gy, gi * ux, gj * uy, (gi + 1) * ux, (gj + 1) * uy),
                        c_code,
                    )
                )
                for u_i in range(ux * uy):
                    i, j = gi * ux + u_i % ux, gj * uy + u_i // ux
                    quad = shapely.Polygon(
                        [
                            (gx[i, j], gy[i, j]), (gx[i + 1, j], gy[i + 1, j]),
                            (gx[i + 1, j + 1], gy[i + 1, j + 1]), (gx[i, j + 1], gy[i, j + 1]),
                        ]
                    )
                    units.append(
                        AreaRecord("unit", f"{g_code}{u_i + 1:03d}", names.unit(u_i + 1), quad,
                                   g_code)
                    )
    if special_last_grid and grids:
        grids[-1].kind = special_last_grid
    return recs + grids + units


@dataclass
class RosterEntry:
    """A generated worker and the role they hold in one grid."""

    worker_code: str
    name: str
    phone: str
    role: str
    area_code: str


def roster(areas: list[AreaRecord], seed: int = 7, leader_only_every: int = 0) -> list[RosterEntry]:
    """One full-time worker per grid, the community secretary as grid leader of its grids.

    With ``leader_only_every = k`` every k-th grid has no full-time worker (leader fallback).
    """
    rng = np.random.default_rng(seed)
    out: list[RosterEntry] = []
    grid_recs = [a for a in areas if a.level == "grid"]
    for n, g in enumerate(grid_recs):
        leader = f"L{g.parent_code}"
        out.append(RosterEntry(leader, names.leader(g.parent_code[-6:]), _phone(rng),
                               "grid_leader", g.code))
        if leader_only_every and n % leader_only_every == leader_only_every - 1:
            continue
        out.append(RosterEntry(f"W{g.code}", names.worker(g.code[-9:]), _phone(rng),
                               "full_time", g.code))
    return out


def _phone(rng: np.random.Generator) -> str:
    """A plausible mainland mobile number."""
    return "13" + "".join(str(d) for d in rng.integers(0, 10, 9))


def load_synthetic(engine: Engine, layout: Layout | None = None,
                   bounds: tuple[float, float, float, float] | None = None,
                   description: str = "generated demo district") -> int:
    """Load a generated district as a new active generation, with its roster; returns its id."""
    areas = generate(layout=layout or Layout(),
                               **({"bounds": bounds} if bounds else {}))
    entries = roster(areas, leader_only_every=5)
    since = datetime.now(UTC) - timedelta(days=365)
    with engine.begin() as conn:
        gen = create_generation(conn, description, source="synthetic")
        insert_areas(conn, gen, areas)
        activation.activate(conn, gen, actor="demo")  # the one activation path
        ids = people.upsert_workers(conn, [people.WorkerEntry(e.worker_code, e.name, e.phone)
                                           for e in entries])
        people.assign_roles(conn, [people.RoleGrant(ids[e.worker_code], e.area_code, e.role,
                                                    since) for e in entries])
    return gen
