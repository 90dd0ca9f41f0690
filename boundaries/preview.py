"""Preview against the active boundaries: grids and units added/removed/changed, what
would move."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, NotRequired, TypedDict

import numpy as np
import shapely
from sqlalchemy import Connection, text

from boundaries.validate import Area, Validation, areas_m2, base_areas
from gis.db.queries import named, q
from gis.territory.activation import locate_open_sql, locate_params, tune

SQL = "boundaries.sql"
PKG = "boundaries.sql"


class AreaChange(TypedDict):
    """How one code's area changes: added / removed / changed, areas (m²), change %, parent."""

    change: str
    area_m2_old: NotRequired[float]
    area_m2_new: NotRequired[float]
    area_change_pct: NotRequired[float | None]
    parent: str | None


class Moves(TypedDict):
    """Open events and buildings that would change grid or worker (rows of counts ``n``)."""

    events: list[dict[str, Any]]
    buildings: list[dict[str, Any]]


WorkerMove = TypedDict("WorkerMove", {"from": str | None, "to": str | None, "events": int})
WorkerMove.__doc__ = "Open events passing from one worker to another."


class Preview(TypedDict):
    """The whole preview: totals, one row per grid touched, worker moves."""

    totals: dict[str, Any]
    grids: list[dict[str, Any]]
    worker_moves: list[WorkerMove]


def area_changes(conn: Connection, v: Validation, level: str = "grid"
                 ) -> dict[str, AreaChange]:
    """Per code of ``level`` in the file: added / removed / changed with old and new area (m²),
    change % and the parent (its grid, for a unit)."""
    if level not in v.written_levels or v.metric is None:
        return {}
    old = {a.code: a for a in base_areas(conn, v.base_generation, [level])[level]}
    new = {a.code: a for a in v.areas[level] if a.geom is not None}
    out: dict[str, AreaChange] = {}

    def area(items: dict[str, Area]) -> dict[str, float]:
        codes = list(items)
        vals = areas_m2(v.metric, [items[c].geom for c in codes]) if codes else []
        return dict(zip(codes, (float(x) for x in vals), strict=True))

    oa, na = area(old), area(new)
    common = sorted(set(old) & set(new))
    if common:
        same = shapely.equals(np.array([old[c].geom for c in common], dtype=object),
                              np.array([new[c].geom for c in common], dtype=object))
        for c, eq in zip(common, same, strict=True):
            if not eq:
                pct = (na[c] - oa[c]) / oa[c] * 100 if oa[c] else None
                out[c] = {"change": "changed", "area_m2_old": round(oa[c], 1),
                          "area_m2_new": round(na[c], 1),
                          "area_change_pct": round(pct, 2) if pct is not None else None,
                          "parent": new[c].parent_code}
    for c in sorted(set(new) - set(old)):
        out[c] = {"change": "added", "area_m2_new": round(na[c], 1),
                  "parent": new[c].parent_code}
    for c in sorted(set(old) - set(new)):
        out[c] = {"change": "removed", "area_m2_old": round(oa[c], 1),
                  "parent": old[c].parent_code}
    return out


def moves(conn: Connection, gen: int, base: int | None, max_m: float,
          activation: int | None = None) -> Moves:
    """Open events and buildings that would change grid or worker if ``gen`` became active.

    After an activation (``activation`` given) the event moves are read from what it did.
    """
    tune(conn)
    if activation is not None:
        ev = conn.execute(q(SQL, "activation_moves", PKG), {"activation": activation}).all()
    else:
        tail = named(SQL, PKG)["preview_events_tail"].text
        ev = conn.execute(text(locate_open_sql() + "\n" + tail),
                          locate_params(gen, max_m)).all()
    bl = conn.execute(q(SQL, "preview_buildings", PKG), {"gen": gen, "base": base}).all() \
        if base is not None else []
    return {"events": [dict(r._mapping) for r in ev], "buildings": [dict(r._mapping) for r in bl]}


def _event_kinds(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Moving open events: changing grid, changing only their worker, the rest (unit or
    location status only)."""
    grid = sum(r["n"] for r in rows if r["old_grid"] != r["new_grid"])
    worker = sum(r["n"] for r in rows if r["old_grid"] == r["new_grid"]
                 and r["old_worker"] != r["new_worker"])
    total = sum(r["n"] for r in rows)
    return {"events_changing_grid": grid, "events_worker_only": worker,
            "events_unit_only": total - grid - worker}


def preview(conn: Connection, v: Validation, gen: int | None, max_m: float,
            activation: int | None = None) -> Preview:
    """The whole preview; event/building moves only when the draft ``gen`` is stored."""
    grids = area_changes(conn, v, "grid")
    units = area_changes(conn, v, "unit")
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "events_out": 0, "events_in": 0, "buildings_out": 0, "buildings_in": 0,
        "units_added": 0, "units_removed": 0, "units_changed": 0})
    for code, info in grids.items():
        per[code].update({k: x for k, x in info.items() if k != "parent"})
    for info in units.values():
        if info["parent"]:
            per[info["parent"]][f"units_{info['change']}"] += 1
    totals: dict[str, Any] = {
        f"{level}s_{change}": sum(1 for g in found.values() if g["change"] == change)
        for level, found in (("grid", grids), ("unit", units))
        for change in ("added", "removed", "changed")
    }
    if v.recut:
        totals["units_recut"] = v.recut["counts"]
    worker_moves: Counter = Counter()
    if gen is not None:
        m = moves(conn, gen, v.base_generation, max_m, activation)
        totals["events_moving"] = sum(r["n"] for r in m["events"])
        totals["buildings_moving"] = sum(r["n"] for r in m["buildings"])
        totals["open_events"] = conn.execute(q(SQL, "open_events_total", PKG)).scalar_one()
        totals.update(_event_kinds(m["events"]))
        for r in m["events"]:
            if r["old_grid"] != r["new_grid"]:
                if r["old_grid"]:
                    per[r["old_grid"]]["events_out"] += r["n"]
                if r["new_grid"]:
                    per[r["new_grid"]]["events_in"] += r["n"]
            if r["old_worker"] != r["new_worker"]:
                worker_moves[(r["old_worker"], r["new_worker"])] += r["n"]
        for r in m["buildings"]:
            if r["old_grid"]:
                per[r["old_grid"]]["buildings_out"] += r["n"]
            if r["new_grid"]:
                per[r["new_grid"]]["buildings_in"] += r["n"]
    else:
        totals["moves"] = "not computed: fix the blocking problems first"
    codes = sorted(per)
    workers: dict[str, list[str]] = defaultdict(list)
    if codes:
        for r in conn.execute(q(SQL, "grid_workers", PKG), {"codes": codes}):
            workers[r.area_code].append(f"{r.code} ({r.role})")
    rows = []
    unstaffed = []
    for c in codes:
        d = {"grid": c, "change": per[c].get("change", "unchanged"), **per[c],
             "workers": workers.get(c, [])}
        if d["change"] == "removed" and d["workers"]:
            d["workers_losing_grid"] = d["workers"]
        if d["change"] == "added" and not d["workers"]:
            unstaffed.append(c)
        rows.append(d)
    totals["grids_without_worker"] = unstaffed
    return {
        "totals": totals, "grids": rows,
        "worker_moves": [{"from": a, "to": b, "events": n}
                         for (a, b), n in worker_moves.most_common()],
    }
