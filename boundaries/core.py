"""The one import pipeline behind the CLI and the upload endpoint: read, validate, preview,
store as a new generation, activate (only when asked and acceptable)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import shapely
from sqlalchemy import Engine

from boundaries import preview as pv
from boundaries import store
from boundaries.model import ERROR, REPAIRED, WARNING, Problem, ProblemDict, UnreadableFile, zh_en
from boundaries.reader import read
from boundaries.recut import UnitRecut
from boundaries.report import group_lines, group_problems
from boundaries.validate import Options, Validation, validate
from gis.territory import activation as act

OK, BLOCKED, UNREADABLE = 0, 1, 2


@dataclass
class ImportResult:
    """What an import did: exit code, the JSON report and the problem geometries."""

    exit_code: int
    report: dict[str, Any]
    problems_geojson: dict[str, Any] = field(default_factory=dict)
    recut_geojson: dict[str, Any] = field(default_factory=dict)


class ProblemFeature(TypedDict):
    """One problem place (or offered repair) as a GeoJSON Feature."""

    type: str
    properties: dict[str, Any]
    geometry: dict[str, Any]


class ProblemCollection(TypedDict):
    """Problem geometries (and offered repairs) as a GeoJSON FeatureCollection."""

    type: str
    features: list[ProblemFeature]


def problems_feature_collection(problems: list[Problem]) -> ProblemCollection:
    """Problem geometries (and offered repairs) as GeoJSON."""
    feats: list[ProblemFeature] = []
    for p in problems:
        props: dict[str, Any] = dict(p.to_dict())
        props.pop("repair", None)
        for g, role in ((p.geom, "problem"), (p.repair_geom, "repair")):
            if g is None or g.is_empty or (role == "repair" and p.repair_geom is p.geom):
                continue
            feats.append({"type": "Feature", "properties": {**props, "role": role},
                          "geometry": shapely.geometry.mapping(g)})
    return {"type": "FeatureCollection", "features": feats}


def recut_feature_collection(v: Validation) -> ProblemCollection:
    """The re-cut units (code, grid, change, buildings) as GeoJSON, to see before a commit."""
    rows = {u["code"]: u for u in v.recut["units"]} if v.recut else {}
    feats: list[ProblemFeature] = [
        {"type": "Feature", "properties": dict(rows.get(a.code, {"code": a.code})),
         "geometry": shapely.geometry.mapping(a.geom)}
        for a in v.areas["unit"] if a.recut and a.geom is not None]
    return {"type": "FeatureCollection", "features": feats}


def _unreadable(path: str, message: str) -> ImportResult:
    """The result for a file that cannot be read."""
    problems: list[ProblemDict] = [{"check": "unreadable", "severity": ERROR,
                                    "message": message}]
    return ImportResult(UNREADABLE, {"file": path, "readable": False, "acceptable": False,
                                     "committed": False, "error": message,
                                     "problems": problems, "groups": group_problems(problems)})


def run_import(engine: Engine, path: str | Path, *, crs: str | None = None,
               level: str | None = None, mapping: dict[str, str] | None = None,
               layer: str | None = None, options: Options | None = None, commit: bool = False,
               description: str = "", actor: str | None = None, max_m: float = 300.0,
               source_name: str | None = None) -> ImportResult:
    """Import a boundary file; activates it only with ``commit`` and no blocking problem."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    name = source_name or Path(path).name
    try:
        source = read(path, crs=crs, level=level, mapping=mapping, layer=layer)
    except UnreadableFile as e:
        return _unreadable(name, str(e))
    timings["read_s"] = time.perf_counter() - t0
    with engine.connect() as conn:
        v = validate(conn, source, options, UnitRecut())
    timings["validate_s"] = time.perf_counter() - t0 - timings["read_s"]
    blocking = v.blocking
    report: dict[str, Any] = {
        "file": name, "readable": True, "crs": source.crs, "levels": v.file_levels,
        "layers": source.layers, "base_generation": v.base_generation, "stats": v.stats,
        "acceptable": not blocking, "committed": False, "generation": None,
        "counts": {s: sum(1 for p in v.problems if p.severity == s)
                   for s in (ERROR, WARNING, REPAIRED)},
    }
    t1 = time.perf_counter()
    if blocking:
        with engine.connect() as conn:
            report["preview"] = pv.preview(conn, v, None, max_m)
    else:
        report.update(_store(engine, v, commit, description or f"import of {name}", name,
                             actor, max_m))
    timings["store_preview_activate_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - t0
    report["timings"] = {k: round(x, 3) for k, x in timings.items()}
    report["problems"] = [p.to_dict() for p in v.problems]
    report["groups"] = group_problems(report["problems"])
    if v.recut:
        report["recut"] = v.recut
    code = BLOCKED if blocking else OK
    return ImportResult(code, report, problems_feature_collection(v.problems),
                        recut_feature_collection(v) if v.recut else {})


def _store(engine: Engine, v: Validation, commit: bool, description: str, source: str,
           actor: str | None, max_m: float) -> dict[str, Any]:
    """Store the draft, preview against it (and roll back) or, with ``commit``, activate it.

    A committed import stores the draft in its own transaction first and announces it, so the
    API processes build their index of it while the activation re-locates the open events
    (a failed activation marks the draft discarded); the preview then reads what moved.
    """
    out: dict[str, Any] = {}
    during = "the file was validated"
    with engine.begin() as conn:
        act.lock(conn)
        act.check_base(conn, v.base_generation, during)
        t = time.perf_counter()
        gen = store.store(conn, v, description, source)
        out["store_s"] = round(time.perf_counter() - t, 3)
        if not commit:
            t = time.perf_counter()
            out["preview"] = pv.preview(conn, v, gen, max_m)
            out["preview_s"] = round(time.perf_counter() - t, 3)
            conn.rollback()
            out["generation"] = None
            out["note"] = "preview only: nothing was changed; commit to activate"
            return out
        act.announce_draft(conn, gen)
    t = time.perf_counter()
    out["activation"] = act.activate_draft(engine, gen, base=v.base_generation, during=during,
                                           actor=actor, max_m=max_m)
    out["activate_s"] = round(time.perf_counter() - t, 3)
    # the preview of a committed import reports what the activation actually moved
    t = time.perf_counter()
    with engine.begin() as conn:
        act.lock(conn)
        out["preview"] = pv.preview(conn, v, gen, max_m, out["activation"]["activation"])
        act.record_summary(conn, out["activation"]["activation"], out["preview"]["totals"])
    out["preview_s"] = round(time.perf_counter() - t, 3)
    out["generation"] = gen
    out["committed"] = True
    return out


def table(report: dict[str, Any], limit: int = 40) -> str:
    """The report as readable text (Chinese first)."""
    lines = [f"文件 file: {report['file']}"]
    if not report.get("readable", True):
        lines.append(f"无法读取 UNREADABLE: {report.get('error')}")
        return "\n".join(lines)
    lines.append(f"坐标系 CRS: {report.get('crs')}   层级 levels: "
                 f"{', '.join(report.get('levels') or [])}   基于版本 base generation: "
                 f"{report.get('base_generation')}")
    st = report.get("stats", {})
    lines.append("导入后 territory after import: " + ", ".join(
        f"{st.get(k, 0)} {k}" for k in ("districts", "streets", "communities", "grids", "units")))
    lines += _problem_lines(report)
    lines += _recut_lines(report.get("recut") or {}, limit)
    lines += _preview_lines(report.get("preview") or {}, limit)
    lines.append(_outcome_line(report))
    return "\n".join(lines)


def _problem_lines(report: dict[str, Any]) -> list[str]:
    """Problem counts, then the problems grouped by check (errors first)."""
    c = report.get("counts", {})
    groups = report.get("groups") or group_problems(report.get("problems", []))
    lines = [f"问题 problems: {c.get('error', 0)} 项阻止导入 blocking, {c.get('warning', 0)} "
             f"项警告 warnings, {c.get('repaired', 0)} 项已修复 repaired; {len(groups)} 类检查 "
             "checks"]
    return lines + group_lines(groups)


def _recut_lines(recut: dict[str, Any], limit: int) -> list[str]:
    """The units re-cut along moved grid boundaries: totals, then per grid the units whose
    buildings changed (+new, ~other buildings, -retired, buildings in brackets)."""
    if not recut:
        return []
    n = recut["counts"]
    lines = [zh_en(f"重新划分单元：{n['grids']} 个网格的边界移动了，其 {n['units_before']} "
                   f"个单元重划为 {n['units_after']} 个（{n['kept']} 个楼栋不变，"
                   f"{n['changed']} 个楼栋有变，新编 {n['new']} 个，撤销 {n['retired']} 个），"
                   f"共 {n['buildings']} 栋楼",
                   f"re-cut units: {n['grids']} grids moved; their {n['units_before']} units "
                   f"become {n['units_after']} ({n['kept']} with the same buildings, "
                   f"{n['changed']} with other buildings, {n['new']} new, {n['retired']} retired), "
                   f"{n['buildings']} buildings")]
    if recut.get("streets"):
        lines.append("  单元在道路围成的街块内分组 (units grouped inside the street blocks)")
    by: dict[str, list[str]] = {}
    for u in recut["units"]:
        if u["change"] != "kept":
            mark = {"changed": "~", "new": "+", "retired": "-"}[u["change"]]
            by.setdefault(u["grid"], []).append(f"{mark}{u['code']}({u['buildings']})")
    grids = list(dict.fromkeys([*recut["grids"], *by]))  # re-cut, then dropped grids
    for g in grids[:limit]:
        lines.append(f"  {g}: " + (" ".join(by[g]) if g in by else "单元不变 (units as before)"))
    if len(grids) > limit:
        lines.append(f"  … 另有 {len(grids) - limit} 个网格 (and {len(grids) - limit} more "
                     "grids, all in the JSON report)")
    return lines


def _unit_edits(g: dict) -> str:
    """A grid's unit changes as +added-removed~changed ('' when none)."""
    n = (g.get("units_added", 0), g.get("units_removed", 0), g.get("units_changed", 0))
    return f"+{n[0]}-{n[1]}~{n[2]}" if any(n) else ""


def _preview_lines(pv_: dict[str, Any], limit: int) -> list[str]:
    """Preview totals, then the grids that change (or whose events move)."""
    tot = pv_.get("totals", {})
    if not tot:
        return []
    lines = [f"预览 preview: {tot.get('grids_added', 0)} grids added, "
             f"{tot.get('grids_removed', 0)} removed, {tot.get('grids_changed', 0)} "
             f"changed; units: {tot.get('units_added', 0)} added, "
             f"{tot.get('units_removed', 0)} removed, {tot.get('units_changed', 0)} "
             f"changed; open events moving: {tot.get('events_moving', '-')} of "
             f"{tot.get('open_events', '-')}; buildings moving: "
             f"{tot.get('buildings_moving', '-')}"]
    if "events_changing_grid" in tot:
        lines.append(f"  未结事件 open events: {tot['events_changing_grid']} 件换网格 change grid, "
                     f"{tot['events_worker_only']} 件仅换网格员 change worker only, "
                     f"{tot['events_unit_only']} 件仅换单元或定位状态 change unit or location only")
    if tot.get("grids_without_worker"):
        lines.append("  新网格尚无专职网格员 new grids without a responsible worker: "
                     + ", ".join(tot["grids_without_worker"][:20]))
    rows = [g for g in pv_.get("grids", []) if g.get("change") != "unchanged"
            or g.get("events_out") or g.get("events_in") or _unit_edits(g)]
    if not rows:
        return lines
    lines.append("  网格、变化、面积变化、单元增减改、事件移出/移入、楼栋移出/移入、网格员:")
    lines.append(f"  {'grid':<20} {'change':<9} {'area %':>8} {'units':>8} "
                 f"{'ev out':>7} {'ev in':>6} {'bld out':>8} {'bld in':>7}  workers")
    for g in rows[:limit]:
        pct = g.get("area_change_pct")
        lines.append(
            f"  {g['grid']:<20} {g['change']:<9} "
            f"{'' if pct is None else f'{pct:+.1f}':>8} {_unit_edits(g):>8} "
            f"{g['events_out']:>7} {g['events_in']:>6} {g['buildings_out']:>8} "
            f"{g['buildings_in']:>7}  " + ", ".join(g.get("workers", [])[:3]))
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more grids (all in the JSON report)")
    return lines


def _outcome_line(report: dict[str, Any]) -> str:
    """Activated, acceptable (a preview) or blocked."""
    if report.get("committed"):
        a = report.get("activation", {})
        return zh_en(f"已启用版本 {report['generation']}（原为 {a.get('previous')}）：重新定位 "
                     f"{a.get('relocated', 0)} 件未结事件，其中 {a.get('moved', 0)} 件改变了网格、"
                     "单元或网格员",
                     f"ACTIVATED generation {report['generation']} (was {a.get('previous')}): "
                     f"{a.get('relocated', 0)} open events re-located, {a.get('moved', 0)} "
                     "moved grid/unit/worker (only those were rewritten)")
    if report.get("acceptable"):
        return zh_en("可以导入：仅预览，未作任何更改（加 commit 启用）",
                     "acceptable: preview only, nothing changed (commit to activate)")
    return zh_en("已阻止：请先改正阻止导入的问题（未作任何更改）",
                 "BLOCKED: fix the blocking problems (nothing changed)")
