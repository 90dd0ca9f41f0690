"""Workload of drawn grids, stated: per grid buildings, floor area, km², units (population and
households when the building layer has them), their spread, floors imputed, and how well the
drawing follows the streets (issue 15's targets).

Spread of a measure: min, median, max, max/min and the coefficient of variation (standard
deviation / mean) over the grids.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

import numpy as np
import shapely

from etl import blocks
from etl.units import Buildings, Drawn, Plane

REASONS = {
    "district_in_parts": "网格所在区域本身互不相连（其间没有道路相连，如大片空地或水面），"
                         "无法合为一片 (the district is in separate parts here: no road links "
                         "them)",
    "touching_at_a_point": "网格各部分只在一点相接 (its pieces touch at a point only)",
    "no_street_layer": "未使用道路图层，网格按建筑二分得出，可能分成几片 (drawn without a street "
                       "layer: bisected buildings may leave pieces)",
    "buildings_apart": "单元的几栋建筑所占区域互不相接，中间隔着别的单元 (its buildings' cells do "
                       "not touch: another unit lies between)",
    "sliver": "重叠的建筑轮廓留下了没有建筑的碎片 (a sliver without buildings, left by "
              "overlapping footprints)",
}


class ImputedFloors(TypedDict):
    """How many buildings had no floors, the value counted for them, and a sentence saying so."""

    buildings: int
    value: float
    text: str


class Workload(TypedDict):
    """Per grid sizes (rows), their spread per measure, what sized them, floors imputed."""

    grids: list[dict[str, Any]]
    spread: dict[str, dict[str, float | None]]
    sized_by: list[str]
    imputed_floors: ImputedFloors


class FitFigures(TypedDict):
    """The street targets as measured (see ``etl.blocks.StreetFit``)."""

    multi_units: int
    multi_units_across: int
    boundary_m: float
    boundary_near_m: float
    near_share: float
    grids_in_pieces: int
    within_m: float
    grids_in_pieces_forced: int


MEASURES = ("buildings", "floor_area_m2", "km2", "units", "population", "households")


def _spread(values: np.ndarray) -> dict[str, float | None]:
    """min, median, max, max/min and coefficient of variation of per-grid values."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean()) if len(v) else 0.0
    return {"min": round(float(v.min()), 3), "median": round(float(np.median(v)), 3),
            "max": round(float(v.max()), 3),
            "max_over_min": round(float(v.max() / v.min()), 2) if v.min() > 0 else None,
            "cv": round(float(v.std() / mean), 3) if mean else 0.0}


def grid_workload(drawn: Drawn, b: Buildings) -> Workload:
    """Per grid sizes (buildings, floor area, km², units, population, households), their
    spread over the grids, and the floors imputed."""
    plane = Plane.around(b.lon, b.lat)
    grids = [a for a in drawn.areas if a.level == "grid"]
    units = Counter(a.parent_code for a in drawn.areas if a.level == "unit")
    pos = {g.code: k for k, g in enumerate(grids)}
    of = np.array([pos[c] for c in drawn.building_grid], dtype=np.int64)
    fa = drawn.floor_area.area if drawn.floor_area is not None else np.zeros(len(b))
    cols: dict[str, np.ndarray] = {
        "buildings": np.bincount(of, minlength=len(grids)).astype(float),
        "floor_area_m2": np.bincount(of, fa, len(grids)),
        "km2": shapely.area(plane.fwd(np.array([g.geom for g in grids], dtype=object))) / 1e6,
        "units": np.array([units[g.code] for g in grids], dtype=float)}
    for name in ("population", "households"):
        v = getattr(b, name)
        if v is not None:
            cols[name] = np.bincount(of, np.nan_to_num(v), len(grids))
    rows = [{"grid": g.code, **{m: round(float(cols[m][k]), 3 if m == "km2" else 0)
                                for m in MEASURES if m in cols}} for k, g in enumerate(grids)]
    imputed = drawn.floor_area.imputed if drawn.floor_area is not None else 0
    value = drawn.floor_area.value if drawn.floor_area is not None else 1.0
    return {"grids": rows, "spread": {m: _spread(cols[m]) for m in MEASURES if m in cols},
            "sized_by": [m for m in ("buildings", "floor_area_m2", "population", "households")
                         if m in cols],
            "imputed_floors": {
                "buildings": imputed, "value": value,
                "text": f"{imputed} 栋建筑层数未知，按 {value:g} 层计 ({imputed} building(s) "
                        f"without floors counted as {value:g} floor(s): the median of the "
                        "known ones, else 1)"}}


def street_fit(drawn: Drawn, b: Buildings, lines: np.ndarray,
               within_m: float = 10.0) -> FitFigures:
    """The street targets: multi-building units across a street, share of the boundary
    between grids within ``within_m`` of a street, barrier or the district edge, grids in
    pieces (and how many of those the district's own parts force)."""
    plane = Plane.around(b.lon, b.lat)
    grids = [a for a in drawn.areas if a.level == "grid"]
    pos = {k: i for i, k in enumerate(b.keys)}
    pts = plane.fwd(shapely.points(b.lon, b.lat))
    unit_points = [pts[[pos[k] for k in a.extra["buildings"]]] for a in drawn.areas
                   if a.level == "unit"]
    fit = blocks.street_fit(plane.fwd(np.array([g.geom for g in grids], dtype=object)),
                            plane.fwd(np.asarray(lines, dtype=object)), unit_points, within_m)
    forced = sum(f.level == "grid" and f.reason == "district_in_parts" for f in drawn.flags)
    return {**fit._asdict(), "within_m": within_m, "grids_in_pieces_forced": forced}


def lines_text(out: dict[str, Any], limit: int = 60) -> list[str]:
    """The draw's workload as lines for people (Chinese first): per grid, spread, flags."""
    w = out["workload"]
    text = [f"{'网格 grid':<20}{'楼栋':>7}{'建筑面积 m²':>14}{'km²':>8}{'单元':>6}"]
    for r in w["grids"][:limit]:
        text.append(f"{r['grid']:<20}{r['buildings']:>7.0f}{r['floor_area_m2']:>14,.0f}"
                    f"{r['km2']:>8.3f}{r['units']:>6.0f}")
    if len(w["grids"]) > limit:
        text.append(f"... 另有 {len(w['grids']) - limit} 个网格 (more grids in the JSON)")
    for m, s in w["spread"].items():
        text.append(f"离散 spread {m}: min {s['min']:g}, median {s['median']:g}, max "
                    f"{s['max']:g}, max/min {s['max_over_min']}, cv {s['cv']}")
    text.append(w["imputed_floors"]["text"])
    for f in out["flags"]:
        text.append(f"多片 in {f['pieces']} pieces: {f['level']} {f['code']}: {f['reason_text']}")
    fit = out["streets"].get("fit")
    if fit:
        text.append(f"沿街 street fit: 跨街多楼单元 {fit['multi_units_across']}/"
                    f"{fit['multi_units']}; 网格间边界 {fit['near_share']:.1%} 在道路/障碍/区界 "
                    f"{fit['within_m']:g} m 内; 多片网格 {fit['grids_in_pieces']} (其中区域本身"
                    f"不连通 {fit['grids_in_pieces_forced']})")
    return text + out["notes"]
