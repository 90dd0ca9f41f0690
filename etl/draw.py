"""Database side of drawing: a whole territory from buildings, or new units for some grids."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, Engine, text

from etl.units import Buildings, DrawParams, draw_territory, draw_units
from gis.db.queries import q
from gis.errors import InvalidInput, UnknownReference
from gis.territory import activation
from gis.territory import generations as territory
from gis.territory.locator import Locator

log = logging.getLogger(__name__)
PKG = "etl.sql"


def load_buildings(engine: Engine, source: str | None = None) -> Buildings:
    """All stored buildings (optionally of one source) in a stable order."""
    with engine.connect() as conn:
        rows = conn.execute(q("etl.sql", "all_buildings", PKG), {"source": source}).all()
    return Buildings(
        keys=[f"{r.source}:{r.source_id}" for r in rows],
        geoms=shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([]),
        lon=np.array([r.lon for r in rows], dtype=float),
        lat=np.array([r.lat for r in rows], dtype=float),
        floors=np.array([r.floors for r in rows], dtype=float),
        ids=[r.id for r in rows],
    )


def _summary(areas: list[territory.AreaRecord]) -> dict[str, Any]:
    """Counts per level and the unit size histogram."""
    levels = Counter(a.level for a in areas)
    sizes = Counter(len(a.extra.get("buildings", ())) for a in areas if a.level == "unit")
    return {"levels": dict(levels), "buildings_per_unit": {str(k): v for k, v in
                                                           sorted(sizes.items())}}


def draw_district(engine: Engine, district_code: str, district_name: str,
                  source: str | None = None, params: DrawParams | None = None,
                  commit: bool = False, description: str | None = None,
                  generation_source: str = "etl:draw", actor: str | None = None,
                  max_m: float = 300.0) -> dict[str, Any]:
    """Draw streets, communities, grids and units from buildings; a new active generation."""
    if not (district_code.isdigit() and len(district_code) == 6):
        raise InvalidInput.field("district", f"a district code has 6 digits, got "
                                 f"{district_code!r}", "bad_code")
    b = load_buildings(engine, source)
    if len(b) == 0:
        raise InvalidInput.field("buildings", "no buildings loaded"
                                 + (f" from source {source!r}" if source else ""),
                                 "no_buildings")
    drawn = draw_territory(b, district_code, district_name, params)
    out = {"district": district_code, "buildings": len(b), **_summary(drawn.areas),
           "committed": commit, "generation": None}
    if commit:
        with engine.connect() as conn:
            base = territory.active_generation(conn)
        with engine.begin() as conn:
            res = activation.commit_generation(
                conn, lambda c, gen: territory.insert_areas(c, gen, drawn.areas), base=base,
                description=description or f"drawn from {len(b)} buildings",
                source=generation_source, actor=actor, max_m=max_m)
        out["generation"] = res["generation"]
        out["activation"] = res
    out["drawn"] = drawn
    return out


def redraw_units(engine: Engine, grids: list[str] | None, params: DrawParams | None = None,
                 commit: bool = False, regroup: bool = False, actor: str | None = None,
                 max_m: float = 300.0) -> dict[str, Any]:
    """New units for some grids (None = all) of the active generation, as a new generation.

    Codes stay stable: a grid's units whose buildings did not change are kept with their codes
    (``regroup`` groups every building afresh instead), a regrouped unit takes the code of the
    old unit with the same buildings or the biggest share of them (one-to-one), and only new
    units get new codes (the grid's next sequence number never used, retired ones included).
    """
    loc = Locator(engine)
    snap = loc.refresh(force=True)
    if snap.generation is None:
        raise InvalidInput.field("grid", "no active territory", "no_territory")
    codes = list(snap.grid_codes) if grids is None else grids
    unknown = [c for c in codes if c not in snap.grid_codes]
    if unknown:
        raise UnknownReference(f"grid: no grid {', '.join(unknown)} in the active generation "
                               f"{snap.generation}", code="unknown_grid",
                               details=[{"field": "grid", "reason": f"unknown grid {c}"}
                                        for c in unknown])
    b = load_buildings(engine)
    gidx = np.full(len(b), -1)
    uidx = np.full(len(b), -1)
    if len(b):
        gidx, uidx, _d = snap.locate_many(b.lon, b.lat, with_outside=False)
    pos = {c: i for i, c in enumerate(snap.grid_codes)}
    with engine.connect() as conn:
        used_rows = conn.execute(text(
            "SELECT code FROM area WHERE level = 'unit' AND "
            "left(code, length(code) - 3) = ANY(:g)"), {"g": codes}).scalars().all()
        old_units = conn.execute(text(
            "SELECT code, grid_code FROM unit WHERE generation_id = :s AND grid_code = ANY(:g)"),
            {"s": snap.generation, "g": codes}).all()
    used: dict[str, set[str]] = {}
    for c in used_rows:
        used.setdefault(c[:-3], set()).add(c)
    old_by_grid: dict[str, set[str]] = {}
    for r in old_units:
        old_by_grid.setdefault(r.grid_code, set()).add(r.code)
    unit_codes = np.array(list(snap.unit_codes) + [None], dtype=object)
    records: list[territory.AreaRecord] = []
    per_grid: dict[str, int] = {}
    stats: dict[str, int] = {}
    for code in codes:
        idx = np.nonzero(gidx == pos[code])[0]
        located = unit_codes[uidx[idx]]
        previous: dict[str, np.ndarray] = {c: np.zeros(0, dtype=np.int64)
                                           for c in old_by_grid.get(code, ())}
        for c in previous:
            previous[c] = np.nonzero(located == c)[0]
        recs, _labels = draw_units(code, snap.grid_geoms[pos[code]], b.subset(idx), params,
                                   previous=previous, used_codes=used.get(code, set()),
                                   regroup=regroup, stats=stats)
        records += recs
        per_grid[code] = len(recs)
    out = {"grids": len(codes), "units": len(records), "buildings": int(np.isin(
        gidx, [pos[c] for c in codes]).sum()), **_summary(records),
        "codes": {"kept_or_same_buildings": stats.get("same_buildings", 0),
                  "by_overlap": stats.get("by_overlap", 0), "new": stats.get("new", 0),
                  "retired": stats.get("retired", 0)},
        "per_grid": per_grid,
        "committed": commit, "generation": None, "replaces_generation": snap.generation}
    if commit:
        def fill(conn: Connection, gen: int) -> None:
            """The active generation with the redrawn grids' units replaced."""
            territory.copy_generation(conn, snap.generation, gen,
                                      levels=("district", "street", "community", "grid"))
            conn.execute(text(
                "INSERT INTO unit (generation_id, code, name, grid_code, geom) "
                "SELECT :t, code, name, grid_code, geom FROM unit "
                "WHERE generation_id = :s AND NOT (grid_code = ANY(:g))"),
                {"s": snap.generation, "t": gen, "g": codes})
            territory.insert_areas(conn, gen, records)

        with engine.begin() as conn:
            res = activation.commit_generation(
                conn, fill, base=snap.generation,
                description=f"units redrawn for {len(codes)} grid(s)", source="etl:units",
                actor=actor, max_m=max_m, summary={"codes": out["codes"], "grids": len(codes)})
        out["generation"] = res["generation"]
        out["activation"] = res
    return out
