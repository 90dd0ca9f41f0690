"""Database side of drawing: a whole territory from buildings, or new units for some grids."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, NotRequired, TypedDict

import numpy as np
import shapely
from sqlalchemy import Connection, Engine

from etl import streets as stl
from etl import workload
from etl.units import Buildings, Drawn, DrawParams, draw_territory, draw_units
from gis.db.queries import q
from gis.errors import InvalidInput, UnknownReference
from gis.territory import activation
from gis.territory import generations as territory
from gis.territory.activation import ActivationResult
from gis.territory.locator import Locator

log = logging.getLogger(__name__)
SQL = "etl.sql"
PKG = "etl.sql"


def load_buildings(engine: Engine, source: str | None = None) -> Buildings:
    """All stored buildings (optionally of one source) in a stable order; unknown floors are
    NaN (the drawing imputes them and says so), population and households when given."""
    with engine.connect() as conn:
        rows = conn.execute(q("streets.sql", "buildings_for_draw", PKG),
                            {"source": source}).all()

    def column(name: str) -> np.ndarray | None:
        """Per building values of a property (NaN where missing), None when none has it."""
        v = np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in rows],
                     dtype=float)
        return v if len(v) and not np.isnan(v).all() else None

    return Buildings(
        keys=[f"{r.source}:{r.source_id}" for r in rows],
        geoms=shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([]),
        lon=np.array([r.lon for r in rows], dtype=float),
        lat=np.array([r.lat for r in rows], dtype=float),
        floors=np.array([np.nan if r.floors is None else r.floors for r in rows], dtype=float),
        ids=[r.id for r in rows], population=column("population"),
        households=column("households"),
    )


def _summary(areas: list[territory.AreaRecord]) -> dict[str, Any]:
    """Counts per level and the unit size histogram."""
    levels = Counter(a.level for a in areas)
    sizes = Counter(len(a.extra.get("buildings", ())) for a in areas if a.level == "unit")
    return {"levels": dict(levels), "buildings_per_unit": {str(k): v for k, v in
                                                           sorted(sizes.items())}}


class DrawnDistrict(TypedDict):
    """What ``draw_district`` drew (and activated, when committed): counts, the streets it
    followed, each grid's workload and its spread, pieces flagged, and the drawing."""

    district: str
    buildings: int
    levels: dict[str, int]
    buildings_per_unit: dict[str, int]
    streets: dict[str, Any]
    workload: dict[str, Any]
    flags: list[dict[str, Any]]
    notes: list[str]
    committed: bool
    generation: int | None
    activation: NotRequired[ActivationResult]
    drawn: Drawn


class RedrawnUnits(TypedDict):
    """What ``redraw_units`` drew (and activated, when committed), and whether it followed
    the stored street lines."""

    grids: int
    units: int
    buildings: int
    levels: dict[str, int]
    buildings_per_unit: dict[str, int]
    codes: dict[str, int]
    per_grid: dict[str, int]
    streets: dict[str, Any]
    committed: bool
    generation: int | None
    replaces_generation: int | None
    activation: NotRequired[ActivationResult]


def draw_district(engine: Engine, district_code: str, district_name: str,
                  source: str | None = None, params: DrawParams | None = None,
                  commit: bool = False, description: str | None = None,
                  generation_source: str = "etl:draw", actor: str | None = None,
                  max_m: float = 300.0, streets: bool | None = None,
                  street_classes: frozenset[str] | None = None) -> DrawnDistrict:
    """Draw streets, communities, grids and units from buildings (along the stored street and
    barrier lines: ``streets`` None uses them when there are any); a new active generation."""
    if not (district_code.isdigit() and len(district_code) == 6):
        raise InvalidInput.field("district", f"a district code has 6 digits, got "
                                 f"{district_code!r}", "bad_code")
    b = load_buildings(engine, source)
    if len(b) == 0:
        raise InvalidInput.field("buildings", "no buildings loaded"
                                 + (f" from source {source!r}" if source else ""),
                                 "no_buildings")
    lines = _street_lines(engine, b, streets, street_classes)
    drawn = draw_territory(b, district_code, district_name, params, lines=lines)
    out: Any = {"district": district_code, "buildings": len(b), **_summary(drawn.areas),
                "streets": {"used": drawn.streets, "lines": 0 if lines is None else len(lines),
                            "classes": sorted(street_classes or stl.BLOCKING)},
                "workload": workload.grid_workload(drawn, b),
                "flags": [f._asdict() | {"reason_text": workload.REASONS.get(f.reason, f.reason)}
                          for f in drawn.flags],
                "notes": drawn.notes, "committed": commit, "generation": None}
    if lines is not None:
        out["streets"]["fit"] = workload.street_fit(drawn, b, lines)
    if commit:
        with engine.connect() as conn:
            base = territory.active_generation(conn)
        res = activation.commit_generation(
            engine, lambda c, gen: territory.insert_areas(c, gen, drawn.areas), base=base,
            description=description or f"drawn from {len(b)} buildings",
            source=generation_source, actor=actor, max_m=max_m)
        out["generation"] = res["generation"]
        out["activation"] = res
    out["drawn"] = drawn
    return out


def _street_lines(engine: Engine, b: Buildings, use: bool | None,
                  classes: frozenset[str] | None) -> np.ndarray | None:
    """The stored lines near the buildings to draw along (None: none stored, or not asked)."""
    if use is False or (use is None and not stl.has_streets(engine)):
        return None
    box = (float(b.lon.min()), float(b.lat.min()), float(b.lon.max()), float(b.lat.max()))
    lines = stl.load_lines(engine, box, classes)
    if not len(lines.geoms):
        if use:
            raise InvalidInput.field("streets", "建筑范围内没有已加载的道路或障碍线，请先运行 "
                                     "wangge etl streets (no street lines near the buildings)",
                                     "no_streets")
        return None
    return lines.geoms


def _grids_to_redraw(snap: Any, grids: list[str] | None) -> list[str]:
    """The grid codes asked for (None: all), each a grid of the active generation."""
    if snap.generation is None:
        raise InvalidInput.field("grid", "no active territory", "no_territory")
    codes = list(snap.grid_codes) if grids is None else grids
    unknown = [c for c in codes if c not in snap.grid_codes]
    if unknown:
        raise UnknownReference(f"grid: no grid {', '.join(unknown)} in the active generation "
                               f"{snap.generation}", code="unknown_grid",
                               details=[{"field": "grid", "reason": f"unknown grid {c}"}
                                        for c in unknown])
    return codes


def _unit_codes(engine: Engine, generation: int,
                codes: list[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per grid: every unit code ever used (never given again), and its current units."""
    with engine.connect() as conn:
        used_rows = conn.execute(q(SQL, "unit_codes_ever_used", PKG),
                                 {"g": codes}).scalars().all()
        old_units = conn.execute(q(SQL, "units_of_grids", PKG),
                                 {"s": generation, "g": codes}).all()
    used: dict[str, set[str]] = {}
    for c in used_rows:
        used.setdefault(c[:-3], set()).add(c)
    old_by_grid: dict[str, set[str]] = {}
    for r in old_units:
        old_by_grid.setdefault(r.grid_code, set()).add(r.code)
    return used, old_by_grid


def _redraw(engine: Engine, snap: Any, codes: list[str], params: DrawParams | None,
            regroup: bool, streets: bool | None = None
            ) -> tuple[list[territory.AreaRecord], dict[str, Any]]:
    """The new units of the grids ``codes`` and what the drawing did (counts, code stats)."""
    b = load_buildings(engine)
    lines = _street_lines(engine, b, streets, None) if len(b) else None
    gidx = np.full(len(b), -1)
    uidx = np.full(len(b), -1)
    if len(b):
        gidx, uidx, _d = snap.locate_many(b.lon, b.lat, with_outside=False)
    pos = {c: i for i, c in enumerate(snap.grid_codes)}
    used, old_by_grid = _unit_codes(engine, snap.generation, codes)
    unit_codes = np.array(list(snap.unit_codes) + [None], dtype=object)
    records: list[territory.AreaRecord] = []
    per_grid: dict[str, int] = {}
    stats: dict[str, int] = {}
    for code in codes:
        idx = np.nonzero(gidx == pos[code])[0]
        located = unit_codes[uidx[idx]]
        previous = {c: np.nonzero(located == c)[0] for c in old_by_grid.get(code, ())}
        recs, _labels = draw_units(code, snap.grid_geoms[pos[code]], b.subset(idx), params,
                                   previous=previous, used_codes=used.get(code, set()),
                                   regroup=regroup, stats=stats, lines=lines)
        records += recs
        per_grid[code] = len(recs)
    return records, {
        "grids": len(codes), "units": len(records), "buildings": int(np.isin(
            gidx, [pos[c] for c in codes]).sum()), **_summary(records),
        "codes": {"kept_or_same_buildings": stats.get("same_buildings", 0),
                  "by_overlap": stats.get("by_overlap", 0), "new": stats.get("new", 0),
                  "retired": stats.get("retired", 0)},
        "per_grid": per_grid, "streets": {"used": lines is not None,
                                          "lines": 0 if lines is None else len(lines)}}


def _activate_redraw(engine: Engine, base: int, codes: list[str],
                     records: list[territory.AreaRecord], codes_summary: dict[str, int],
                     actor: str | None, max_m: float) -> dict[str, Any]:
    """A new generation: ``base`` with the redrawn grids' units replaced, activated."""
    def fill(conn: Connection, gen: int) -> None:
        """The active generation with the redrawn grids' units replaced."""
        territory.copy_generation(conn, base, gen,
                                  levels=("district", "street", "community", "grid"))
        conn.execute(q(SQL, "copy_units_except_grids", PKG), {"s": base, "t": gen, "g": codes})
        territory.insert_areas(conn, gen, records)

    return activation.commit_generation(
        engine, fill, base=base,
        description=f"units redrawn for {len(codes)} grid(s)", source="etl:units",
        actor=actor, max_m=max_m, summary={"codes": codes_summary, "grids": len(codes)})


def redraw_units(engine: Engine, grids: list[str] | None, params: DrawParams | None = None,
                 commit: bool = False, regroup: bool = False, actor: str | None = None,
                 max_m: float = 300.0, streets: bool | None = None) -> RedrawnUnits:
    """New units for some grids (None = all) of the active generation, as a new generation.

    Units are grouped inside the street blocks when street lines are stored (``streets``
    None: when there are any; an old unit across a street is regrouped). Codes stay stable:
    a grid's units whose buildings did not change are kept with their codes (``regroup``
    groups every building afresh instead), a regrouped unit takes the code of the old unit
    with the same buildings or the biggest share of them (one-to-one), and only new units get
    new codes (the grid's next sequence number never used, retired ones included).
    """
    snap = Locator(engine).refresh(force=True)
    codes = _grids_to_redraw(snap, grids)
    records, out = _redraw(engine, snap, codes, params, regroup, streets)
    out.update({"committed": commit, "generation": None, "replaces_generation": snap.generation})
    if commit:
        res = _activate_redraw(engine, snap.generation, codes, records, out["codes"], actor,
                               max_m)
        out["generation"] = res["generation"]
        out["activation"] = res
    return out
