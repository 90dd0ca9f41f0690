"""Units re-cut along moved grid boundaries.

An import whose grids moved but whose units did not (the file's units of a moved grid are
those of the active generation, or the file leaves them out, or holds no units at all) gets
those grids' units drawn again from the buildings by the ETL's own unit drawing
(``etl.units.draw_units``): a unit whose buildings all stay in the grid keeps its code, the
others are regrouped into units of 1-3 buildings, codes matched to the old units they overlap,
new codes never used before. Each building belongs to the grid containing its point (the
lowest code on a shared edge, as the locator). Nothing is written here: the re-cut units join
the territory the import validates, previews, stores and activates through the one
activation path.
"""

from __future__ import annotations

from typing import NamedTuple, TypedDict

import numpy as np
import shapely
from sqlalchemy import Connection

from boundaries.model import ERROR, WARNING, Problem, zh_en
from boundaries.validate import Area, Options, Validation, base_areas
from etl import streets as stl
from etl.units import Buildings, DrawParams, draw_units
from gis.db.queries import q

SQL = "boundaries.sql"
PKG = "boundaries.sql"
BLOCKED = "recut_blocked"
# geometries within this (degrees, ~10 cm) count as the same: a file saved again by a desktop
# GIS (or written with fewer decimals) has not moved its units
SAME_DEG = 1e-6


class RecutUnit(TypedDict):
    """One unit of a re-cut grid: its code, grid, change (``kept``: same code and buildings,
    ``changed``: same code, other buildings, ``new``, ``retired``) and its buildings."""

    code: str
    grid: str
    change: str
    buildings: int


class RecutReport(TypedDict):
    """What the re-cut did: grids re-cut, their units, counts, whether along street lines."""

    grids: list[str]
    units: list[RecutUnit]
    counts: dict[str, int]
    streets: bool


class Plan(NamedTuple):
    """The grids to re-cut, the parents whose units the re-cut replaces, the moved grids."""

    grids: list[str]
    replaced: set[str]
    moved: list[str]


def _same(a: list, b: list) -> np.ndarray:
    """Pairwise: the geometries are equal, or no point of one lies ``SAME_DEG`` from the other."""
    ga, gb = np.array(a, dtype=object), np.array(b, dtype=object)
    return shapely.equals(ga, gb) | (shapely.hausdorff_distance(ga, gb) < SAME_DEG)


def _geoms_equal(a: list[Area], b: list[Area]) -> bool:
    """Same codes with the same geometries."""
    da, db = {x.code: x.geom for x in a}, {x.code: x.geom for x in b}
    if set(da) != set(db) or any(g is None for g in (*da.values(), *db.values())):
        return False
    codes = sorted(da)
    return bool(_same([da[c] for c in codes], [db[c] for c in codes]).all())


def _moved(new: dict[str, Area], old_grids: dict[str, Area]) -> list[str]:
    """Codes of the grids whose geometry differs from the active one."""
    common = sorted(c for c in set(new) & set(old_grids) if old_grids[c].geom is not None)
    if not common:
        return []
    same = _same([new[c].geom for c in common], [old_grids[c].geom for c in common])
    return [c for c, eq in zip(common, same, strict=True) if not eq]


def plan(v: Validation, old_grids: dict[str, Area], old_units: list[Area]) -> Plan:
    """The moved grids whose units did not move (or are left out), and the grids whose
    units go (those, and with no unit level in the file, the grids the file drops)."""
    new = {a.code: a for a in v.areas["grid"] if a.geom is not None}
    moved = _moved(new, old_grids)
    if "unit" not in v.file_levels:
        added = sorted(set(new) - set(old_grids))
        dropped = set(old_grids) - set(new)
        return Plan(moved + added, set(moved) | set(added) | dropped, moved)
    by_grid_old: dict[str, list[Area]] = {}
    for u in old_units:
        by_grid_old.setdefault(u.parent_code or "", []).append(u)
    by_grid_new: dict[str, list[Area]] = {}
    for u in v.areas["unit"]:
        by_grid_new.setdefault(u.parent_code or "", []).append(u)
    grids = [c for c in moved if not by_grid_new.get(c)
             or _geoms_equal(by_grid_new[c], by_grid_old.get(c, []))]
    return Plan(grids, set(grids), moved)


def _buildings(conn: Connection, geoms: list) -> Buildings:
    """The stored buildings in the box of ``geoms`` (as the ETL's drawing takes them)."""
    minx, miny, maxx, maxy = (float(x) for x in shapely.total_bounds(
        np.array(geoms, dtype=object)))
    rows = conn.execute(q(SQL, "recut_buildings", PKG),
                        {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}).all()
    return Buildings(
        keys=[f"{r.source}:{r.source_id}" for r in rows],
        geoms=shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([]),
        lon=np.array([r.lon for r in rows], dtype=float),
        lat=np.array([r.lat for r in rows], dtype=float),
        floors=np.array([r.floors for r in rows], dtype=float),
        ids=[r.id for r in rows])


def _street_lines(conn: Connection, b: Buildings) -> np.ndarray | None:
    """The stored street and barrier lines near the buildings (None: none stored), so re-cut
    units never pair buildings across a street, as the ETL's own redraw."""
    if not stl.has_streets(conn.engine):
        return None
    box = (float(b.lon.min()), float(b.lat.min()), float(b.lon.max()), float(b.lat.max()))
    lines = stl.load_lines(conn.engine, box)
    return lines.geoms if len(lines.geoms) else None


def _owner(points: np.ndarray, areas: list[Area]) -> np.ndarray:
    """Index into ``areas`` of the area holding each point (lowest code on an edge; -1 none)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(points) or not areas:
        return out
    order = sorted(range(len(areas)), key=lambda k: areas[k].code)
    geoms = np.array([areas[k].geom for k in order], dtype=object)
    p_idx, a_idx = shapely.STRtree(geoms).query(points, predicate="intersects")
    for p, a in sorted(zip(p_idx.tolist(), a_idx.tolist(), strict=True), reverse=True):
        out[p] = order[a]  # visited from the highest area position down: the lowest code wins
    return out


def _used_codes(conn: Connection, grids: list[str]) -> dict[str, set[str]]:
    """Per grid: every unit code it ever had (never given again)."""
    used: dict[str, set[str]] = {g: set() for g in grids}
    for c in conn.execute(q(SQL, "unit_codes_ever_used", PKG), {"g": grids}).scalars():
        used.setdefault(c[:-3], set()).add(c)
    return used


def _blocked(grids: list[str], zh: str, en: str) -> Problem:
    """The one problem saying why some grids' units could not be re-cut, and what to do."""
    shown = ", ".join(grids[:5]) + (f" (+{len(grids) - 5})" if len(grids) > 5 else "")
    return Problem(BLOCKED, WARNING, zh_en(f"网格 {shown} 的边界有变，{zh}", f"grids {shown} "
                                           f"changed: {en}"), "grid", ",".join(grids))


def _rows(grid: str, before: dict[str, set[str]], records: list) -> list[RecutUnit]:
    """The re-cut units of one grid against its old units (code → building keys)."""
    rows: list[RecutUnit] = []
    for r in records:
        keys = set(r.extra.get("buildings", ()))
        change = "new" if r.code not in before else "kept" if before[r.code] == keys \
            else "changed"
        rows.append({"code": r.code, "grid": grid, "change": change, "buildings": len(keys)})
    after = {r.code for r in records}
    rows += [{"code": c, "grid": grid, "change": "retired", "buildings": 0}
             for c in sorted(set(before) - after)]
    return rows


def _members(b: Buildings, olds: list[Area]) -> dict[str, set[str]]:
    """The buildings (keys) each old unit holds."""
    owner = _owner(shapely.points(b.lon, b.lat), olds)
    out: dict[str, set[str]] = {u.code: set() for u in olds}
    for i in np.nonzero(owner >= 0)[0]:
        out[olds[owner[i]].code].add(b.keys[i])
    return out


def _counts(grids: list[str], rows: list[RecutUnit]) -> dict[str, int]:
    """Totals of a re-cut."""
    n = {k: sum(r["change"] == k for r in rows) for k in ("kept", "changed", "new", "retired")}
    return {"grids": len(grids), "units_after": n["kept"] + n["changed"] + n["new"],
            "units_before": n["kept"] + n["changed"] + n["retired"], **n,
            "buildings": sum(r["buildings"] for r in rows)}


class UnitRecut:
    """The re-cut as a step of the validation: ``before`` the checks it replaces the moved
    grids' units; ``after`` them it ties what still blocks to its cause and what to do."""

    def __init__(self, params: DrawParams | None = None) -> None:
        self.params = params
        self.blocks: dict[str, Problem] = {}  # grid → why its units were not re-cut
        self.edited: set[str] = set()

    def before(self, conn: Connection, v: Validation, opts: Options) -> RecutReport | None:
        """Re-cut the units of moved grids in ``v``'s territory; None when no grid moved."""
        if "grid" not in v.file_levels or v.base_generation is None:
            return None
        old_grids = {a.code: a for a in base_areas(conn, v.base_generation, ["grid"])["grid"]}
        # without a unit level in the file its units are the active ones already
        old_units = v.areas["unit"] if "unit" not in v.file_levels else \
            base_areas(conn, v.base_generation, ["unit"])["unit"]
        p = plan(v, old_grids, old_units)
        self.edited = set(p.moved) - set(p.grids)
        if not p.replaced:
            return None
        new = {a.code: a for a in v.areas["grid"] if a.geom is not None}
        b = _buildings(conn, [new[c].geom for c in p.grids]
                       + [old_grids[c].geom for c in p.replaced if c in old_grids])
        if not len(b):
            self._block(sorted(p.replaced), "但此区域未加载楼栋，单元无法沿新边界重新划分："
                        "请先导入楼栋，或在文件中给出这些网格的新单元",
                        "no buildings are loaded here, so their units cannot be re-cut: load "
                        "the buildings first, or give these grids' new units in the file", v)
            return None
        return self._draw(conn, v, p, b, old_units, opts)

    def _block(self, grids: list[str], zh: str, en: str, v: Validation) -> None:
        """Record why ``grids`` keep their old units (a warning until a unit sticks out)."""
        pr = _blocked(grids, zh, en)
        self.blocks.update(dict.fromkeys(grids, pr))
        v.problems.append(pr)

    def _draw(self, conn: Connection, v: Validation, p: Plan, b: Buildings,
              old_units: list[Area], opts: Options) -> RecutReport:
        """Draw the units of ``p.grids`` and put them in place of the replaced ones."""
        grids = [a for a in v.areas["grid"] if a.geom is not None]
        pos = {a.code: k for k, a in enumerate(grids)}
        owner = _owner(shapely.points(b.lon, b.lat), grids)
        used = _used_codes(conn, p.grids)
        params = self.params or DrawParams(unit_max_buildings=opts.max_buildings)
        lines = _street_lines(conn, b)
        fresh: list[Area] = []
        rows: list[RecutUnit] = []
        failed: list[str] = []
        for g in p.grids:
            sub = b.subset(np.nonzero(owner == pos[g])[0])
            olds = [u for u in old_units if u.parent_code == g and u.geom is not None]
            inside = _owner(shapely.points(sub.lon, sub.lat), olds)
            previous = {u.code: np.nonzero(inside == k)[0] for k, u in enumerate(olds)}
            try:
                drawn = draw_units(g, grids[pos[g]].geom, sub, params=params,
                                   previous=previous, used_codes=used.get(g, set()),
                                   lines=lines)
            except ValueError as e:
                failed.append(g)
                self._block([g], f"其单元无法自动重新划分（{e}）：请在文件中给出该网格的单元",
                            f"its units cannot be re-cut ({e}): give the grid's units in the "
                            "file", v)
                continue
            fresh += [Area("unit", r.code, r.name, g, "basic", r.geom, False, recut=True)
                      for r in drawn.records]
            rows += _rows(g, _members(b, olds), drawn.records)
        gone = p.replaced - set(failed)
        for g in sorted(gone - set(p.grids)):  # grids the file drops: their units retire
            rows += _rows(g, {u.code: set() for u in old_units if u.parent_code == g}, [])
        v.areas["unit"] = [u for u in v.areas["unit"] if u.parent_code not in gone] + fresh
        done = [g for g in p.grids if g not in failed]
        return {"grids": done, "units": rows, "counts": _counts(done, rows),
                "streets": lines is not None}

    def after(self, v: Validation) -> None:
        """Units still sticking out of a moved grid: folded under the reason they were not
        re-cut, or told in one sentence how to have them re-cut."""
        for pr in v.problems:
            if pr.check != "unit_outside_grid" or not pr.others:
                continue
            block = self.blocks.get(pr.others[0])
            if block is not None:
                pr.cause = block.key
                block.severity = ERROR
            elif pr.others[0] in self.edited:
                pr.message += (" " + zh_en(
                    "请在文件中改画该单元，或让该网格的单元与现有的相同（或不列出），以便沿新网格边界"
                    "自动重新划分", "redraw the unit in the file, or keep that grid's units as "
                    "they are now (or leave them out) so they are re-cut along the new grid"))
