"""Suggested grid boundaries that even out workload within each community (建议网格边界).

Workload of a unit, stated: a weighted sum of the events reported in it per month, the patrol
kilometres walked in it per month, its buildings, its floor area (per 1,000 m²) and one
minimal unit's own share (``Weights``; the command prints the formula). A grid's workload is
the sum of its units'.

Per community a graph of its units (sharing an edge longer than 0.5 m; touching at a point
does not count) is partitioned again into the same grids: starting from the current grids, a
local search moves one piece at a boundary to a neighbouring grid while that lowers the spread
(the sum of squared differences from the mean workload) more than it costs in new boundary and
in units taken from their grid, and leaves no grid in more parts than before (a grid already
in parts may shed one). Cutting along a street costs a tenth of cutting between neighbours in
the same block. Where street lines are loaded, the pieces are the units of one street block
(an enclosure of the lines) in one grid, so boundaries move only along streets; a piece
heavier than one grid's share falls apart into its units. Units are never split, grids never
leave their community, grids of a special kind (industrial, port …) stay as they are. A grid
keeping at least half of its units (or made at least half of its own units) keeps its code;
a unit that changes grid takes a new code under its new grid (codes never used before).

The result is a boundary file as ``boundaries.export`` writes it, sent through the one import
(``boundaries.core.run_import``) without commit: nothing is activated here.
"""

from __future__ import annotations

import calendar as stdcal
import json
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine

from boundaries.core import ImportResult, run_import
from boundaries.export import BoundaryGeoJSON, feature_collection
from boundaries.model import zh_en
from etl import blocks
from etl import streets as stl
from etl.units import Plane
from gis.clock import CST
from gis.db.queries import q
from gis.errors import InvalidInput, NotFound
from gis.territory import generations

SQL = "suggest.sql"
PKG = "boundaries.sql"
STREET_NEAR_M = 10.0  # an edge between units this close to a street line runs along it
STREET_COST = 0.1  # cutting along a street costs this share of cutting inside a block
# one unit's perimeter of extra grid boundary costs as much as this share of an average
# piece's weight in its grid's workload (the spread term is squared shares of the mean)
CUT_PENALTY = 0.1
# taking a piece away from its grid of today costs this share of its weight in the mean
# workload (fewer units and events change grid for the same balance)
STAY_PENALTY = 0.1
MAX_MONTHS = 120


@dataclass(frozen=True)
class Weights:
    """Weights of the workload of a unit (工作量权重); each measure per unit or per month."""

    events: float = 1.0  # per event reported a month
    patrol_km: float = 0.25  # per kilometre patrolled a month
    buildings: float = 0.1  # per building
    floor_area: float = 0.05  # per 1,000 m² of floor area
    unit: float = 1.0  # per minimal unit (its unit head, its visits)

    def check(self) -> None:
        """Weights are finite, not negative, and not all zero."""
        for k, v in asdict(self).items():
            if not np.isfinite(v) or v < 0:
                raise InvalidInput.field(f"weights.{k}", f"权重须为非负数 (must be a number ≥ 0), "
                                         f"got {v}", "bad_weight")
        if not any(asdict(self).values()):
            raise InvalidInput.field("weights", "权重不能全为 0 (the weights cannot all be 0)",
                                     "bad_weight")

    def text(self) -> str:
        """The formula as people read it (Chinese first)."""
        w = self
        return zh_en(f"单元工作量 = {w.events:g}×每月事件数 + {w.patrol_km:g}×每月巡查公里数 + "
                     f"{w.buildings:g}×楼栋数 + {w.floor_area:g}×建筑面积(千m²) + {w.unit:g}",
                     f"unit workload = {w.events:g}×events/month + {w.patrol_km:g}×patrol "
                     f"km/month + {w.buildings:g}×buildings + {w.floor_area:g}×floor area "
                     f"(1,000 m²) + {w.unit:g}")


@dataclass
class UnitLoad:
    """One active unit: its grid and community, geometry and what it asked in the period."""

    code: str
    name: str
    grid: str
    community: str
    kind: str
    geom: BaseGeometry
    events: int = 0
    patrol_m: float = 0.0
    buildings: int = 0
    floor_m2: float = 0.0

    def load(self, w: Weights, months: int) -> float:
        """The unit's workload by ``w`` (events and patrol per month of the period)."""
        return (w.events * self.events / months + w.patrol_km * self.patrol_m / 1000 / months
                + w.buildings * self.buildings + w.floor_area * self.floor_m2 / 1000 + w.unit)


@dataclass
class Spread:
    """Spread of the grids' workloads: min, max, mean, max/min, coefficient of variation."""

    min: float
    max: float
    mean: float
    max_over_min: float | None
    cv: float

    @classmethod
    def of(cls, values: np.ndarray) -> Spread:
        """The spread of per-grid values."""
        v = np.asarray(values, dtype=float)
        mean = float(v.mean()) if len(v) else 0.0
        return cls(round(float(v.min()), 2) if len(v) else 0.0,
                   round(float(v.max()), 2) if len(v) else 0.0, round(mean, 2),
                   round(float(v.max() / v.min()), 3) if len(v) and v.min() > 0 else None,
                   round(float(v.std() / mean), 4) if mean else 0.0)


@dataclass
class GridChange:
    """A grid whose units change: its code (``was``: the code it had), units and workload."""

    code: str
    was: str
    community: str
    units_before: int
    units_after: int
    units_in: int
    units_out: int
    load_before: float
    load_after: float


@dataclass
class CommunityResult:
    """One community: grids balanced, units, spread before and after, moves, streets used."""

    code: str
    grids: int
    units: int
    before: Spread
    after: Spread
    moves: int
    streets: bool


class SuggestionJSON(TypedDict):
    """A suggestion as JSON: ``Suggestion``'s fields, the import's report under ``import``."""

    months: int
    since: datetime
    until: datetime
    weights: dict[str, float]
    file: str
    communities: list[dict[str, Any]]
    grids: list[dict[str, Any]]
    units_moved: int
    events_moved: int
    buildings_imputed: int
    streets: bool
    # "import" (a keyword): the report of boundaries.core.run_import, or None


@dataclass
class Suggestion:
    """What ``suggest`` proposed, the file it wrote and the import preview of that file."""

    months: int
    since: datetime
    until: datetime
    weights: Weights
    file: str
    communities: list[CommunityResult] = field(default_factory=list)
    grids: list[GridChange] = field(default_factory=list)
    units_moved: int = 0
    events_moved: int = 0
    buildings_imputed: int = 0
    streets: bool = False
    preview: ImportResult | None = None

    def to_dict(self) -> SuggestionJSON:
        """JSON form (the import's report under ``import``)."""
        d = asdict(self)
        d.pop("preview")
        return SuggestionJSON(**d, **{"import": self.preview.report if self.preview else None})


@dataclass
class Graph:
    """Pieces (atoms) of a community to move between grids: the units of each, its workload
    and, per neighbouring piece, the cost of a grid boundary between them (metres)."""

    atoms: list[np.ndarray]
    load: np.ndarray
    nbrs: list[dict[int, float]]


# -- the graph of a community's units ---------------------------------------------------------
def _edge_costs(geoms_m: np.ndarray, lines_m: np.ndarray | None) -> blocks.Adjacency:
    """Units sharing an edge, the cost of cutting each edge: its length, a tenth of the part
    within ``STREET_NEAR_M`` of a street line."""
    adj = blocks.adjacency(geoms_m)
    if lines_m is None or not len(lines_m) or not len(adj.a):
        return adj
    shared = shapely.intersection(shapely.boundary(geoms_m[adj.a]),
                                  shapely.boundary(geoms_m[adj.b]), grid_size=blocks.GRID_SIZE_M)
    near = shapely.buffer(shapely.union_all(lines_m), STREET_NEAR_M, quad_segs=4)
    along = shapely.length(shapely.intersection(shared, near))
    return blocks.Adjacency(adj.a, adj.b, adj.length - (1 - STREET_COST) * along)


def _components(members: np.ndarray, edges: blocks.Adjacency) -> list[np.ndarray]:
    """The units ``members`` split into pieces connected through ``edges``."""
    inside = set(members.tolist())
    nb: dict[int, list[int]] = {int(m): [] for m in members}
    for a, b in zip(edges.a.tolist(), edges.b.tolist(), strict=True):
        if a in inside and b in inside:
            nb[a].append(b)
            nb[b].append(a)
    out: list[np.ndarray] = []
    seen: set[int] = set()
    for m in nb:
        if m in seen:
            continue
        comp, todo = [], deque([m])
        seen.add(m)
        while todo:
            x = todo.popleft()
            comp.append(x)
            for y in nb[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        out.append(np.array(sorted(comp), dtype=np.int64))
    return out


def _atoms(grid_of: np.ndarray, block_of: np.ndarray, load: np.ndarray,
           edges: blocks.Adjacency, target: float) -> list[np.ndarray]:
    """The pieces that move whole: the connected units of one block in one grid; a piece
    heavier than ``target`` (one grid's share) falls apart into its units."""
    out: list[np.ndarray] = []
    keys = sorted(set(zip(grid_of.tolist(), block_of.tolist(), strict=True)))
    for g, b in keys:
        members = np.nonzero((grid_of == g) & (block_of == b))[0]
        for comp in _components(members, edges):
            if len(comp) > 1 and load[comp].sum() > target:
                out += [np.array([u]) for u in comp]
            else:
                out.append(comp)
    return out


def _graph(atoms: list[np.ndarray], load: np.ndarray, edges: blocks.Adjacency) -> Graph:
    """The pieces, their workloads and the boundary cost between neighbouring pieces."""
    atom_of = np.empty(len(load), dtype=np.int64)
    for k, members in enumerate(atoms):
        atom_of[members] = k
    nbrs: list[dict[int, float]] = [{} for _ in atoms]
    for a, b, c in zip(atom_of[edges.a], atom_of[edges.b], edges.length, strict=True):
        if a != b:
            nbrs[a][int(b)] = nbrs[a].get(int(b), 0.0) + float(c)
            nbrs[b][int(a)] = nbrs[b].get(int(a), 0.0) + float(c)
    return Graph(atoms, np.array([load[m].sum() for m in atoms], dtype=float), nbrs)


# -- the local search -------------------------------------------------------------------------
def _connected_without(label: np.ndarray, a: int, nbrs: list[dict[int, float]]) -> bool:
    """Whether ``a``'s grid keeps another piece and does not fall into more parts without
    ``a``: its neighbours in the grid stay connected to each other (a grid already in parts
    may shed a part, never gain one)."""
    home = label[a]
    if int(np.sum(label == home)) < 2:
        return False
    ends = {y for y in nbrs[a] if label[y] == home}
    if len(ends) < 2:
        return True
    first = next(iter(ends))
    seen, todo = {first}, deque([first])
    while todo and not ends <= seen:
        x = todo.popleft()
        for y in nbrs[x]:
            if y != a and y not in seen and label[y] == home:
                seen.add(y)
                todo.append(y)
    return ends <= seen


def _candidates(g: Graph, label: np.ndarray, home: np.ndarray, loads: np.ndarray,
                mean: float, cut_w: float) -> list[tuple[float, int, int]]:
    """Moves (score, piece, grid) that lower the spread enough to pay for their boundary and
    for taking a piece away from its grid of today (coming back earns as much)."""
    out: list[tuple[float, int, int]] = []
    for a, x in enumerate(g.load):
        if x <= 0:
            continue
        to: dict[int, float] = {}
        for b, c in g.nbrs[a].items():
            to[int(label[b])] = to.get(int(label[b]), 0.0) + c
        cur = int(label[a])
        for dest, cost in to.items():
            d_sq = 2 * x * (loads[dest] - loads[cur] + x)  # change of Σ (load - mean)²
            if dest == cur or d_sq >= 0:
                continue
            stay = STAY_PENALTY * x / mean * (int(home[a] == cur) - int(home[a] == dest))
            score = -d_sq / mean**2 - cut_w * (to.get(cur, 0.0) - cost) - stay
            if score > 1e-9:
                out.append((score, a, dest))
    out.sort(key=lambda t: (-t[0], t[1], t[2]))
    return out


def local_search(g: Graph, label: np.ndarray, k: int, lref: float,
                 max_moves: int | None = None) -> int:
    """Move boundary pieces between the ``k`` grids (``label``: grid of each piece, changed in
    place) while that lowers the spread and keeps every grid in one piece; the moves made."""
    loads = np.bincount(label, weights=g.load, minlength=k)
    mean = float(loads.mean())
    limit = max_moves if max_moves is not None else 20 * len(g.atoms)
    cut_w = CUT_PENALTY * float(g.load.mean()) / mean / lref if mean > 0 else 0.0
    home = label.copy()
    moves = 0
    while mean > 0 and moves < limit:
        for _score, a, dest in _candidates(g, label, home, loads, mean, cut_w):
            if _connected_without(label, a, g.nbrs):
                loads[label[a]] -= g.load[a]
                loads[dest] += g.load[a]
                label[a] = dest
                moves += 1
                break
        else:
            break
    return moves


# -- one community ----------------------------------------------------------------------------
@dataclass
class Balanced:
    """A community's basic grids (original codes) and the grid of each unit before / after."""

    grids: list[str]
    before: np.ndarray
    after: np.ndarray
    moves: int
    streets: bool


def _blocks_of(geoms_m: np.ndarray, lines_m: np.ndarray | None) -> np.ndarray:
    """The street block (enclosure of the lines) holding each unit; each its own without."""
    if lines_m is None or not len(lines_m):
        return np.arange(len(geoms_m))
    extent = shapely.union_all(geoms_m, grid_size=blocks.GRID_SIZE_M)
    faces = blocks.enclosures(lines_m, extent)
    return blocks.locate(shapely.point_on_surface(geoms_m), faces)


def balance_community(units: list[UnitLoad], loads: np.ndarray,
                      lines: np.ndarray | None) -> Balanced:
    """The units of one community's basic grids partitioned again into the same grids, each
    in one piece, with a smaller spread of workload (``lines``: street lines, WGS84)."""
    grids = sorted({u.grid for u in units})
    pos = {c: k for k, c in enumerate(grids)}
    before = np.array([pos[u.grid] for u in units], dtype=np.int64)
    geoms = np.array([u.geom for u in units], dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    plane = Plane.around(np.array([x0, x1]), np.array([y0, y1]))
    geoms_m = plane.fwd(geoms)
    lines_m = plane.fwd(lines) if lines is not None and len(lines) else None
    if len(grids) < 2:
        return Balanced(grids, before, before.copy(), 0, lines_m is not None)
    edges = _edge_costs(geoms_m, lines_m)
    atoms = _atoms(before, _blocks_of(geoms_m, lines_m), loads, edges,
                   float(loads.sum()) / len(grids))
    g = _graph(atoms, loads, edges)
    label = np.array([before[m[0]] for m in atoms], dtype=np.int64)
    moves = local_search(g, label, len(grids), float(np.mean(shapely.length(geoms_m))))
    after = before.copy()
    for k, members in enumerate(atoms):
        after[members] = label[k]
    return Balanced(grids, before, after, moves, lines_m is not None)


# -- codes and geometries ---------------------------------------------------------------------
def next_code(prefix: str, taken: set[str]) -> str:
    """The code after the highest ``prefix`` + three digits in ``taken`` (added to it)."""
    nums = [int(c[len(prefix):]) for c in taken
            if c.startswith(prefix) and len(c) == len(prefix) + 3 and c[len(prefix):].isdigit()]
    n = max(nums, default=0) + 1
    if n > 999:
        raise InvalidInput.field("code", zh_en(f"{prefix} 下已无可用的三位编码",
                                               f"no three-digit code is left under {prefix}"),
                                 "codes_exhausted")
    code = f"{prefix}{n:03d}"
    taken.add(code)
    return code


def final_grid_codes(b: Balanced, community: str, used: set[str]) -> list[str]:
    """Each grid's code after the move: kept when it keeps at least half its units or at
    least half its units are its own; else a new code (it has become another grid)."""
    taken = used | set(b.grids)
    out = []
    for k, code in enumerate(b.grids):
        was, now = b.before == k, b.after == k
        kept = int(np.sum(was & now))
        same = 2 * kept >= min(int(was.sum()), int(now.sum()))
        out.append(code if same and kept else next_code(community, taken))
    return out


def _dissolve(geoms: list[BaseGeometry]) -> BaseGeometry:
    """Union of units sharing edges (a plain union when they do not form a coverage)."""
    arr = np.array(geoms, dtype=object)
    try:
        out = shapely.coverage_union_all(arr)
    except shapely.errors.GEOSException:
        out = None
    if out is None or not out.is_valid:
        out = shapely.union_all(arr, grid_size=1e-9)
    parts = shapely.get_parts(out)
    return parts[0] if len(parts) == 1 else out


def _grid_geom(old: BaseGeometry, orig: list[BaseGeometry], gone: list[BaseGeometry],
               came: list[BaseGeometry], members: list[BaseGeometry]) -> BaseGeometry:
    """A grid's new outline: the union of its units when they tile it, else the old outline
    without the units that left and with those that came."""
    tiled = abs(old.area - sum(g.area for g in orig)) <= 1e-4 * old.area
    if tiled:
        return _dissolve(members)
    g = old.difference(_dissolve(gone)) if gone else old
    return _dissolve([g, *came]) if came else g


@dataclass
class Plan:
    """What the file changes: grid code → (its code after, outline); unit code → (its code
    after, its grid after)."""

    grids: dict[str, tuple[str, BaseGeometry]] = field(default_factory=dict)
    units: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Territory:
    """The active grids (outline, kind) and the codes ever used, per level."""

    outline: dict[str, BaseGeometry]
    kind: dict[str, str]
    grid_codes_used: set[str]
    unit_codes_used: set[str]


def _changes(b: Balanced, codes: list[str], community: str, loads: np.ndarray
             ) -> list[GridChange]:
    """The grids whose units change, with their workload before and after."""
    out = []
    for k, code in enumerate(b.grids):
        was, now = b.before == k, b.after == k
        if np.array_equal(was, now):
            continue
        out.append(GridChange(codes[k], code, community, int(was.sum()), int(now.sum()),
                              int(np.sum(now & ~was)), int(np.sum(was & ~now)),
                              round(float(loads[was].sum()), 2),
                              round(float(loads[now].sum()), 2)))
    return out


def _plan_community(units: list[UnitLoad], b: Balanced, codes: list[str], t: Territory,
                    plan: Plan) -> None:
    """Add one community's new grid outlines and unit codes to ``plan``."""
    geoms = [u.geom for u in units]
    for k, code in enumerate(b.grids):
        was, now = b.before == k, b.after == k
        if np.array_equal(was, now) and codes[k] == code:
            continue
        pick = (lambda m: [geoms[i] for i in np.nonzero(m)[0]])  # noqa: E731
        plan.grids[code] = (codes[k], _grid_geom(t.outline[code], pick(was), pick(was & ~now),
                                                 pick(now & ~was), pick(now)))
    for i, u in enumerate(units):
        grid = codes[b.after[i]]
        if grid != u.grid:
            plan.units[u.code] = (next_code(grid, t.unit_codes_used), grid)


def _community(units: list[UnitLoad], loads: np.ndarray, lines: np.ndarray | None,
               t: Territory, s: Suggestion, plan: Plan) -> None:
    """Balance one community's basic grids; record its spread, changes and file edits."""
    basic = [i for i, u in enumerate(units) if t.kind[u.grid] == "basic"]
    if not basic:
        return
    sub = [units[i] for i in basic]
    ld = loads[basic]
    b = balance_community(sub, ld, lines)
    community = sub[0].community
    codes = final_grid_codes(b, community, t.grid_codes_used)
    k = len(b.grids)
    s.communities.append(CommunityResult(
        community, k, len(sub), Spread.of(np.bincount(b.before, ld, k)),
        Spread.of(np.bincount(b.after, ld, k)), b.moves, b.streets))
    s.grids += _changes(b, codes, community, ld)
    moved = b.after != b.before
    s.units_moved += int(moved.sum())
    s.events_moved += sum(u.events for u, m in zip(sub, moved, strict=True) if m)
    _plan_community(sub, b, codes, t, plan)


# -- reading the database ---------------------------------------------------------------------
def months_before(t: datetime, months: int) -> datetime:
    """``t`` moved back ``months`` calendar months in China Standard Time (day clamped)."""
    c = t.astimezone(CST)
    y, m = divmod(c.year * 12 + c.month - 1 - months, 12)
    return c.replace(year=y, month=m + 1, day=min(c.day, stdcal.monthrange(y, m + 1)[1]))


def check_months(months: int) -> None:
    """A period of 1 to ``MAX_MONTHS`` months."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput.field("months", zh_en(
            f"月数须在 1 到 {MAX_MONTHS} 之间，收到 {months}",
            f"the number of months must be 1 to {MAX_MONTHS}, got {months}"), "bad_months")


def _communities(conn: Connection, codes: list[str] | None) -> list[str] | None:
    """The communities asked for (None: all), each checked to be an active community."""
    if generations.active_generation(conn) is None:
        raise NotFound(zh_en("没有启用的网格边界", "no active grid boundaries"),
                       code="no_generation")
    if not codes:
        return None
    found = set(conn.execute(q(SQL, "suggest_communities", PKG), {"codes": codes}).scalars())
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(zh_en(f"社区 {', '.join(missing)} 不在现有边界中",
                             f"community {', '.join(missing)} is not in the active boundaries"),
                       code="unknown_community",
                       details=[{"field": "community", "reason": c} for c in missing])
    return sorted(set(codes))


def _units(conn: Connection, communities: list[str] | None, since: datetime,
           until: datetime) -> tuple[list[UnitLoad], int]:
    """The active units with their events, patrol and buildings; buildings imputed floors."""
    rows = conn.execute(q(SQL, "suggest_units", PKG), {"communities": communities}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    units = [UnitLoad(r.code, r.name, r.grid_code, r.community_code, r.kind, g)
             for r, g in zip(rows, geoms, strict=True)]
    by = {u.code: u for u in units}
    period = {"since": since, "until": until}
    for r in conn.execute(q(SQL, "suggest_events", PKG), period):
        if r.unit in by:
            by[r.unit].events = int(r.n)
    for r in conn.execute(q(SQL, "suggest_patrol", PKG), period):
        if r.unit in by:
            by[r.unit].patrol_m = float(r.m or 0.0)
    imputed = 0
    for r in conn.execute(q(SQL, "suggest_buildings", PKG)):
        if r.unit in by:
            by[r.unit].buildings, by[r.unit].floor_m2 = int(r.n), float(r.floor_m2 or 0.0)
            imputed += int(r.imputed)
    return units, imputed


def _territory(conn: Connection, communities: list[str] | None) -> Territory:
    """The active grids of the communities and every grid and unit code ever used there."""
    rows = conn.execute(q(SQL, "suggest_grids", PKG), {"communities": communities}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    comms = sorted({r.community_code for r in rows})
    grids = [r.code for r in rows]
    used_g = set(conn.execute(q(SQL, "suggest_grid_codes_used", PKG),
                              {"communities": comms}).scalars())
    used_u = set(conn.execute(q("boundaries.sql", "unit_codes_ever_used", PKG),
                              {"g": grids}).scalars())
    return Territory({r.code: g for r, g in zip(rows, geoms, strict=True)},
                     {r.code: r.kind for r in rows}, used_g | set(grids), used_u)


def _lines(engine: Engine, units: list[UnitLoad]) -> np.ndarray | None:
    """The stored street and barrier lines around the units (None: none loaded)."""
    if not units or not stl.has_streets(engine):
        return None
    box = shapely.total_bounds(np.array([u.geom for u in units], dtype=object))
    lines = stl.load_lines(engine, tuple(float(v) for v in box))
    return lines.geoms if len(lines.geoms) else None


# -- the file and the preview -----------------------------------------------------------------
def boundary_file(conn: Connection, plan: Plan) -> BoundaryGeoJSON:
    """The active boundaries as ``boundaries.export`` writes them, with the plan's grids and
    units in place of the active ones."""
    fc = feature_collection(conn)
    for f in fc["features"]:
        p = f["properties"]
        if p["level"] == "grid" and p["code"] in plan.grids:
            p["code"], geom = plan.grids[p["code"]]
            f["geometry"] = shapely.geometry.mapping(geom)
        elif p["level"] == "unit" and p["code"] in plan.units:
            p["code"], p["parent_code"] = plan.units[p["code"]]
    fc["name"] = "wangge suggested boundaries"
    fc["status"] = "suggestion"
    return fc


def suggest(engine: Engine, out: str | Path, *, months: int = 6,
            communities: list[str] | None = None, weights: Weights | None = None,
            now: datetime | None = None, max_m: float = 300.0) -> Suggestion:
    """Propose grids that even out the workload of the last ``months`` months within each
    community (``communities``: all when None), write them to ``out`` and preview that file
    through the import without committing. Nothing active changes."""
    check_months(months)
    w = weights or Weights()
    w.check()
    until = now or datetime.now(UTC)
    s = Suggestion(months, months_before(until, months), until.astimezone(CST), w, str(out))
    plan = Plan()
    with engine.connect() as conn:
        codes = _communities(conn, communities)
        units, s.buildings_imputed = _units(conn, codes, s.since, until)
        t = _territory(conn, codes)
        lines = _lines(engine, units)
        s.streets = lines is not None
        loads = np.array([u.load(w, months) for u in units], dtype=float)
        for c in sorted({u.community for u in units}):
            idx = [i for i, u in enumerate(units) if u.community == c]
            _community([units[i] for i in idx], loads[idx], lines, t, s, plan)
        fc = boundary_file(conn, plan)
    Path(out).write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")),
                         encoding="utf-8")
    s.preview = run_import(engine, out, max_m=max_m, source_name=Path(out).name,
                           description=f"suggested boundaries ({months} months)")
    return s


# -- what people read -------------------------------------------------------------------------
def _spread_text(sp: Spread) -> str:
    """min–max, max/min and cv of one spread."""
    ratio = "—" if sp.max_over_min is None else f"{sp.max_over_min:.2f}"
    return f"{sp.min:g}–{sp.max:g} (max/min {ratio}, cv {sp.cv:.3f})"


def lines(s: Suggestion, limit: int = 60) -> list[str]:
    """The suggestion as text (Chinese first): weights, spread per community, grids changed."""
    out = [zh_en(f"依据 {s.months} 个月的数据（北京时间 {s.since:%Y-%m-%d %H:%M} 至 "
                 f"{s.until.astimezone(CST):%Y-%m-%d %H:%M}）",
                 f"from {s.months} months of data (China Standard Time)"), s.weights.text()]
    if s.buildings_imputed:
        out.append(zh_en(f"{s.buildings_imputed} 栋楼层数未知，按已知层数的中位数计",
                         f"{s.buildings_imputed} buildings without floors counted with the "
                         "median of the known ones"))
    out.append(zh_en("沿已加载的道路街块调整" if s.streets else "未加载道路：按单元相邻关系调整",
                     "moved along the loaded street blocks" if s.streets
                     else "no street lines loaded: moved by unit adjacency"))
    out.append(f"{'社区 community':<18}{'网格':>5}{'单元':>6}{'移动':>6}  "
               "工作量离散 前 → 后 (workload spread before → after)")
    for c in s.communities[:limit]:
        out.append(f"{c.code:<18}{c.grids:>5}{c.units:>6}{c.moves:>6}  "
                   f"{_spread_text(c.before)} → {_spread_text(c.after)}")
    out.append(zh_en(f"{len(s.grids)} 个网格有变，{s.units_moved} 个单元换网格，期间 "
                     f"{s.events_moved} 件事件随之换网格",
                     f"{len(s.grids)} grids change, {s.units_moved} units change grid, "
                     f"{s.events_moved} events of the period with them"))
    for g in s.grids[:limit]:
        code = g.code if g.code == g.was else f"{g.was}→{g.code}"
        out.append(f"  {code:<22} 单元 units {g.units_before}→{g.units_after} "
                   f"(+{g.units_in} -{g.units_out})  工作量 workload {g.load_before:g}→"
                   f"{g.load_after:g}")
    out.append(zh_en(f"建议已写入 {s.file}（未启用；检查后再导入启用）",
                     f"suggestion written to {s.file} (not activated; review it, then import "
                     "and activate it)"))
    return out
