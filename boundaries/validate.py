"""The validation report: every problem of a boundary file, before anything changes."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from boundaries.model import ERROR, INFO, REPAIRED, WARNING, Feature, Problem, level_zh, zh_en
from boundaries.reader import Source
from gis.db.queries import q
from gis.territory import generations
from gis.territory.generations import GRID_KINDS, LEVELS, PARENT_LEVEL

SQL = "boundaries.sql"
PKG = "boundaries.sql"
CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
POLYGONAL = ("Polygon", "MultiPolygon")
PLURAL = {"district": "districts", "street": "streets", "community": "communities",
          "grid": "grids", "unit": "units"}


@dataclass
class Options:
    """Validation settings."""

    min_area_m2: float = 5.0
    repair: bool = False
    max_buildings: int = 3


@dataclass
class Area:
    """One boundary of the territory the import would produce (from the file or kept)."""

    level: str
    code: str
    name: str
    parent_code: str | None
    kind: str
    geom: BaseGeometry | None
    from_file: bool
    feature: int | None = None
    recut: bool = False  # a unit re-cut along its moved grid (boundaries.recut)

    def label(self) -> str:
        """How the report names it."""
        kept = " (re-cut)" if self.recut else "" if self.from_file else \
            " (kept from the active generation)"
        return f"{self.level} {self.code}{kept}"

    def label_zh(self) -> str:
        """How the report names it, in Chinese."""
        kept = "（重新划分）" if self.recut else "" if self.from_file else "（沿用现有边界）"
        return f"{level_zh(self.level)} {self.code}{kept}"


@dataclass
class Validation:
    """The outcome: problems, the territory to store, and the generation it is based on."""

    problems: list[Problem]
    areas: dict[str, list[Area]]
    file_levels: list[str]
    base_generation: int | None
    metric: Transformer | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    recut: Any = None  # boundaries.recut.RecutReport when units were re-cut

    @property
    def blocking(self) -> list[Problem]:
        """Problems that stop the import."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def written_levels(self) -> list[str]:
        """The levels the import writes from ``areas`` (the file's, and re-cut units)."""
        return [lvl for lvl in LEVELS if lvl in self.file_levels
                or (lvl == "unit" and self.recut)]


class Recutter(Protocol):
    """A step that re-cuts units before the checks and explains what still blocks after."""

    def before(self, conn: Connection, v: Validation, opts: Options) -> Any:
        """Change ``v.areas`` before the checks; returns what it did (None: nothing)."""

    def after(self, v: Validation) -> None:
        """Look at the problems once the checks ran."""


def metric_transformer(geoms: list[BaseGeometry]) -> Transformer:
    """A Lambert azimuthal equal-area projection centred on the data (metres)."""
    ok = [g for g in geoms if g is not None and not g.is_empty]
    if ok:
        minx, miny, maxx, maxy = shapely.total_bounds(np.array(ok, dtype=object))
        lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    else:
        lon0, lat0 = 120.6, 31.3
    lon0, lat0 = min(max(lon0, -180), 180), min(max(lat0, -89), 89)
    return Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
        always_xy=True)


def to_metric(tr: Transformer, geoms: Any) -> Any:
    """Geometries (one or an array) in the metric projection."""
    def fn(xy: np.ndarray) -> np.ndarray:
        """Vectorised coordinate transform."""
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])
    return shapely.transform(geoms, fn)


def areas_m2(tr: Transformer, geoms: Any) -> np.ndarray:
    """Areas in square metres."""
    return shapely.area(to_metric(tr, np.asarray(geoms, dtype=object)))


def _where(g: BaseGeometry | None) -> tuple[float | None, float | None]:
    """A point inside the geometry, rounded (lon, lat)."""
    if g is None or g.is_empty:
        return None, None
    p = shapely.point_on_surface(g)
    return round(p.x, 7), round(p.y, 7)


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """Polygonal part of a geometry (possibly empty) as a MultiPolygon."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type in POLYGONAL]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(polys)


# -- per-feature checks ---------------------------------------------------------------------
Add = Callable[..., Problem]


def _feature_checks(f: Feature, opts: Options, tr: Transformer, problems: list[Problem],
                    valid: bool) -> BaseGeometry | None:
    """Attribute and geometry checks of one feature; returns the geometry to use (or None)."""
    def add(check: str, severity: str, zh: str, en: str, **kw: Any) -> Problem:
        """Record a problem of this feature (Chinese first, then English)."""
        p = Problem(check, severity, zh_en(f"{f.label_zh()}：{zh}", f"{f.label()}: {en}"),
                    f.level, f.code, f.index, **kw)
        problems.append(p)
        return p

    _attribute_checks(f, add)
    g = f.geom
    if not _usable_geometry(f, add):
        return None
    if f.ring_problems:
        msg = "; ".join(f.ring_problems)
        repair = {"method": "close unclosed rings, drop rings with too few positions",
                  "geometry_type": g.geom_type}
        sev = REPAIRED if opts.repair else ERROR
        zh = "环未闭合或点数太少" + ("，已修复" if opts.repair
                                     else "：用 `repair` 选项闭合或去掉它们")
        add("bad_ring", sev, zh, msg + ("; repaired" if opts.repair else
                                        "; the `repair` option closes / drops them"),
            geom=g, repair=repair, repair_geom=g)
    return g if valid else _made_valid(g, opts, tr, add)


def _attribute_checks(f: Feature, add: Add) -> None:
    """Level, code (its form and its parent's prefix) and grid kind."""
    if f.level is None:
        add("missing_level", ERROR, "没有 level：请给出 level 属性或 `level` 选项",
            "no level: give a 'level' property or the `level` option")
    elif f.level not in LEVELS:
        add("unknown_level", ERROR, f"level {f.level!r} 未知（应为 {', '.join(LEVELS)} 之一）",
            f"unknown level {f.level!r} (one of {', '.join(LEVELS)})")
    if f.code is None:
        add("missing_code", ERROR, "没有 code：每个边界都需要编码（用 `map` 选项 code=字段 指定）",
            "no code: every boundary needs one (map a field to it with the `map` option: "
            "code=FIELD)")
    elif not CODE_RE.match(f.code):
        add("bad_code", ERROR, f"code {f.code!r} 只能含字母、数字、'_' 和 '-'（最多 40 个）",
            f"code {f.code!r} may only hold letters, digits, '_' and '-' (at most 40)")
    elif f.parent_code and not (f.code.startswith(f.parent_code)
                                and len(f.code) > len(f.parent_code)):
        add("code_parent_mismatch", ERROR, f"code {f.code} 必须以上级编码 parent_code "
            f"{f.parent_code} 开头", f"code {f.code} must start with its parent's code "
            f"{f.parent_code}")
    if f.level == "grid" and f.kind not in GRID_KINDS:
        add("bad_kind", ERROR, f"网格类型 kind {f.kind!r} 不是 {'、'.join(GRID_KINDS)} 之一",
            f"grid kind {f.kind!r} is not one of {', '.join(GRID_KINDS)}")


def _usable_geometry(f: Feature, add: Add) -> bool:
    """A non-empty (Multi)Polygon in longitude/latitude; else the problem is recorded."""
    g = f.geom
    if g is None:
        add("no_geometry", ERROR, "没有几何", "has no geometry")
        return False
    if g.geom_type not in POLYGONAL:
        t = f.geom_type or g.geom_type
        add("wrong_type", ERROR, f"几何是 {t}；边界必须是 Polygon 或 MultiPolygon",
            f"geometry is a {t}; boundaries must be Polygon or MultiPolygon",
            geom=g if not g.is_empty else None)
        return False
    if g.is_empty:
        reason = "; ".join(f.ring_problems) if f.ring_problems else "no coordinates"
        add("empty_geometry", ERROR, "几何为空", f"geometry is empty ({reason})")
        return False
    xmin, ymin, xmax, ymax = g.bounds
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        box_ = f"({xmin:.1f}, {ymin:.1f})..({xmax:.1f}, {ymax:.1f})"
        add("out_of_range", ERROR, f"坐标 {box_} 不是经纬度：文件是投影坐标系吗？请给出 `crs` "
            "选项（如 EPSG:4547）", f"coordinates {box_} are not longitude/latitude: is the "
            "file in a projected CRS? give the `crs` option (e.g. EPSG:4547)")
        return False
    return True


def _made_valid(g: BaseGeometry, opts: Options, tr: Transformer,
                add: Add) -> BaseGeometry | None:
    """An invalid geometry made valid (with ``opts.repair``; else None), the change recorded."""
    reason = shapely.is_valid_reason(g)
    fixed = _polygonal(shapely.make_valid(g))
    lon, lat = _where(shapely.boundary(g))
    if fixed.is_empty:
        add("invalid_geometry", ERROR, "几何无效，make_valid 后不剩多边形：请重画",
            f"invalid geometry ({reason}); make_valid leaves no polygon, redraw it",
            geom=g, lon=lon, lat=lat)
        return None
    before = float(areas_m2(tr, [g])[0])
    after = float(areas_m2(tr, [fixed])[0])
    repair = {"method": "shapely make_valid (polygonal parts kept)",
              "geometry_type": fixed.geom_type, "parts": len(shapely.get_parts(fixed)),
              "area_m2_before": round(before, 2), "area_m2_after": round(after, 2),
              "wkt": shapely.to_wkt(fixed, rounding_precision=7)}
    if opts.repair:
        add("invalid_geometry", REPAIRED, f"几何无效，已用 make_valid 修复为 {repair['parts']} "
            f"个多边形，{after:.0f} m²", f"invalid geometry ({reason}); repaired with "
            f"make_valid into {repair['parts']} polygon(s), {after:.0f} m²",
            geom=g, lon=lon, lat=lat, repair=repair, repair_geom=fixed)
        return fixed
    add("invalid_geometry", ERROR, f"几何无效（{reason}）；make_valid 可修复为 {repair['parts']} "
        f"个多边形，共 {after:.0f} m²：用 `repair` 选项采用修复结果", f"invalid geometry "
        f"({reason}); make_valid would give {repair['parts']} polygon(s) of {after:.0f} m² "
        f"(was {before:.0f} m²): run with the `repair` option to use it", geom=g, lon=lon,
        lat=lat, repair=repair, repair_geom=fixed)
    return None


def _slivers(areas: list[Area], opts: Options, tr: Transformer,
             problems: list[Problem]) -> None:
    """Polygon parts of file boundaries smaller than ``min_area_m2``."""
    items = [a for a in areas if a.from_file and a.geom is not None]
    if not items:
        return
    parts, owner = shapely.get_parts(np.array([a.geom for a in items], dtype=object),
                                     return_index=True)
    area = areas_m2(tr, parts)
    for k in np.nonzero(area < opts.min_area_m2)[0]:
        a = items[owner[k]]
        lon, lat = _where(parts[k])
        problems.append(Problem(
            "sliver", WARNING, zh_en(
                f"{a.label_zh()}：有一块 {area[k]:.2f} m² 的碎片面（小于 {opts.min_area_m2:g} m²）",
                f"{a.label()}: a sliver part of {area[k]:.2f} m² (below "
                f"{opts.min_area_m2:g} m²)"), a.level, a.code, a.feature, parts[k], float(area[k]),
            lon, lat))


def _touching_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of intersecting polygons, at least one of them not a clean coverage member.

    GEOS' coverage validator flags every polygon that overlaps another or whose edges do not
    match its neighbours' (an overlap is always flagged on at least one side), in about a
    quarter of the time of relating every neighbouring pair; only those are paired.
    """
    try:
        flagged = np.nonzero(~shapely.is_empty(shapely.coverage_invalid_edges(geoms)))[0]
    except shapely.errors.GEOSException:
        flagged = np.arange(len(geoms))
    if not len(flagged):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k, j = shapely.STRtree(geoms).query(geoms[flagged], predicate="intersects")
    i = flagged[k]
    pairs = np.unique(np.column_stack([np.minimum(i, j), np.maximum(i, j)]), axis=0)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    return pairs[:, 0], pairs[:, 1]


def _overlaps(areas: list[Area], opts: Options, tr: Transformer,
              problems: list[Problem], level: str = "grid") -> None:
    """Pairs of grids (or units) whose interiors overlap, with the overlap's area and place.

    An overlap of ``min_area_m2`` or more blocks the import (a point there would belong to
    two areas); a smaller one above 0.01 m² is a warning (a sliver of digitising).
    """
    check = "overlap" if level == "grid" else f"{level}_overlap"
    items = [a for a in areas if a.geom is not None]
    if len(items) < 2:
        return
    geoms = np.array([a.geom for a in items], dtype=object)
    i, j = _touching_pairs(geoms)
    if not len(i):
        return
    rel = shapely.relate(geoms[i], geoms[j])
    inter = np.array([r[0] != "F" for r in rel], dtype=bool)
    i, j = i[inter], j[inter]
    if not len(i):
        return
    ov = shapely.intersection(geoms[i], geoms[j])
    ov = np.array([_polygonal(g) for g in ov], dtype=object)
    area = areas_m2(tr, ov)
    for a_i, b_j, g, ar in zip(i, j, ov, area, strict=True):
        if ar <= 0.01:
            continue
        a, b = items[a_i], items[b_j]
        lon, lat = _where(g)
        sev = ERROR if ar >= opts.min_area_m2 else WARNING
        problems.append(Problem(
            check, sev, zh_en(f"{level_zh(level)} {a.code} 与 {b.code} 重叠 {ar:.1f} m²，位于 "
                              f"({lon}, {lat}) 附近",
                              f"{PLURAL[level]} {a.code} and {b.code} overlap by {ar:.1f} m² "
                              f"near ({lon}, {lat})"),
            level, a.code, a.feature, g, float(ar), lon, lat, others=[b.code]))


def _outside_parent(children: list[Area], parents: dict[str, Area], check: str, what: str,
                    opts: Options, tr: Transformer, problems: list[Problem]) -> None:
    """Children sticking out of their parent by at least ``min_area_m2``."""
    pairs = [(c, parents[c.parent_code]) for c in children
             if c.geom is not None and c.parent_code in parents
             and parents[c.parent_code].geom is not None]
    if not pairs:
        return
    cg = np.array([c.geom for c, _ in pairs], dtype=object)
    pg = np.array([p.geom for _, p in pairs], dtype=object)
    shapely.prepare(pg)
    out = ~shapely.covers(pg, cg)
    idx = np.nonzero(out)[0]
    if not len(idx):
        return
    diff = np.array([_polygonal(g) for g in shapely.difference(cg[idx], pg[idx])], dtype=object)
    area = areas_m2(tr, diff)
    for k, g, ar in zip(idx, diff, area, strict=True):
        if ar < opts.min_area_m2:
            continue
        c, p = pairs[k]
        lon, lat = _where(g)
        problems.append(Problem(
            check, ERROR, zh_en(f"{c.label_zh()} 超出其{level_zh(p.level)} {p.code} {ar:.1f} m²，"
                                f"位于 ({lon}, {lat}) 附近",
                                f"{c.label()} {what} {p.level} {p.code} by {ar:.1f} m² near "
                                f"({lon}, {lat})"),
            c.level, c.code, c.feature, g, float(ar), lon, lat, others=[p.code]))


def _gaps(communities: list[Area], grids: list[Area], opts: Options, tr: Transformer,
          problems: list[Problem]) -> None:
    """Parts of a community no grid covers (every place needs a grid and a worker)."""
    by_parent: dict[str, list[BaseGeometry]] = defaultdict(list)
    for g in grids:
        if g.geom is not None:
            by_parent[g.parent_code].append(g.geom)
    for c in communities:
        if c.geom is None:
            continue
        members = by_parent.get(c.code)
        if not members:
            problems.append(Problem("community_without_grids", WARNING,
                                    zh_en(f"{c.label_zh()} 没有网格", f"{c.label()} has no grid"),
                                    c.level, c.code, c.feature))
            continue
        rest = _polygonal(shapely.difference(c.geom, shapely.union_all(members)))
        if rest.is_empty:
            continue
        parts = shapely.get_parts(rest)
        area = areas_m2(tr, parts)
        for g, ar in zip(parts, area, strict=True):
            if ar < opts.min_area_m2:
                continue
            lon, lat = _where(g)
            problems.append(Problem(
                "gap", ERROR, zh_en(f"{c.label_zh()}：({lon}, {lat}) 附近 {ar:.1f} m² "
                                    "不在任何网格内",
                                    f"{c.label()}: {ar:.1f} m² near ({lon}, {lat}) lie in no "
                                    "grid"),
                c.level, c.code, c.feature, g, float(ar), lon, lat))


def _buildings(conn: Connection, units: list[Area], grids: list[Area], opts: Options,
               problems: list[Problem], stats: dict[str, Any]) -> None:
    """Units with 0 or more than ``max_buildings`` buildings; buildings in no unit."""
    items = [u for u in units if u.geom is not None]
    if not items:
        return
    geoms = np.array([u.geom for u in items], dtype=object)
    minx, miny, maxx, maxy = (float(x) for x in shapely.total_bounds(geoms))
    rows = conn.execute(q(SQL, "buildings_in_box", PKG),
                        {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}).all()
    stats["buildings_checked"] = len(rows)
    if not rows:
        problems.append(Problem("buildings", INFO, zh_en(
            "此区域未加载楼栋，跳过了楼栋检查",
            "no buildings are loaded in this area: the building checks were skipped")))
        return
    ids = np.array([r.id for r in rows])
    pts = shapely.points(np.array([r.lon for r in rows]), np.array([r.lat for r in rows]))
    tree = shapely.STRtree(geoms)
    b_idx, u_idx = tree.query(pts, predicate="intersects")
    codes = np.array([u.code for u in items], dtype=object)
    # a building on a shared edge belongs to the unit with the lowest code, like the locator
    order = np.lexsort((codes[u_idx], b_idx))
    b_idx, u_idx = b_idx[order], u_idx[order]
    first = np.ones(len(b_idx), dtype=bool)
    first[1:] = b_idx[1:] != b_idx[:-1]
    b_idx, u_idx = b_idx[first], u_idx[first]
    counts = np.bincount(u_idx, minlength=len(items))
    for k in np.nonzero(counts == 0)[0]:
        u = items[k]
        lon, lat = _where(u.geom)
        problems.append(Problem("unit_without_building", WARNING,
                                zh_en(f"{u.label_zh()} 没有楼栋", f"{u.label()} has no building"),
                                u.level, u.code, u.feature, u.geom, None, lon, lat))
    for k in np.nonzero(counts > opts.max_buildings)[0]:
        u = items[k]
        lon, lat = _where(u.geom)
        problems.append(Problem(
            "unit_too_many_buildings", WARNING, zh_en(
                f"{u.label_zh()} 有 {counts[k]} 栋楼（最小单元为 1–{opts.max_buildings} 栋）",
                f"{u.label()} has {counts[k]} buildings (a minimal unit holds "
                f"1-{opts.max_buildings})"), u.level, u.code, u.feature, u.geom,
            None, lon, lat))
    in_unit = np.zeros(len(rows), dtype=bool)
    in_unit[b_idx] = True
    gg = np.array([g.geom for g in grids if g.geom is not None], dtype=object)
    inside = np.zeros(len(rows), dtype=bool)
    if len(gg):
        bi, _ = shapely.STRtree(gg).query(pts, predicate="intersects")
        inside[bi] = True
    for k in np.nonzero(inside & ~in_unit)[0]:
        problems.append(Problem(
            "building_without_unit", WARNING, zh_en(
                f"楼栋 {ids[k]} 在网格内但不在任何单元内",
                f"building {ids[k]} lies in a grid but in no unit"),
            None, None, None, pts[k], None, round(pts[k].x, 7), round(pts[k].y, 7)))


# -- the whole report -----------------------------------------------------------------------
def base_areas(conn: Connection, generation: int | None, levels: list[str]
               ) -> dict[str, list[Area]]:
    """Boundaries of ``levels`` in a stored generation."""
    out: dict[str, list[Area]] = {lvl: [] for lvl in levels}
    if generation is None:
        return out
    for lvl in levels:
        rows = conn.execute(q(SQL, f"areas_{lvl}", PKG), {"g": generation}).all()
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
        out[lvl] = [Area(lvl, r.code, r.name, r.parent_code, r.kind, g, False)
                    for r, g in zip(rows, geoms, strict=True)]
    return out


def _file_areas(source: Source, opts: Options, tr: Transformer,
                problems: list[Problem]) -> dict[str, list[Area]]:
    """Each feature checked; the file's areas by level (a repeated code counts once)."""
    seen: dict[str, Feature] = {}
    file_areas: dict[str, list[Area]] = {lvl: [] for lvl in LEVELS}
    valid = shapely.is_valid(np.array([f.geom for f in source.features], dtype=object))
    for f, ok in zip(source.features, valid, strict=True):
        geom = _feature_checks(f, opts, tr, problems, bool(ok))
        if f.code is not None:
            prev = seen.get(f.code)
            if prev is not None:
                problems.append(Problem("duplicate_code", ERROR, zh_en(
                    f"{f.label_zh()}：编码 code {f.code} 重复（第 {prev.index + 1} 个要素已用）",
                    f"{f.label()}: code {f.code} is used again (first by feature "
                    f"#{prev.index + 1})"), f.level, f.code, f.index, f.geom))
                continue
            seen[f.code] = f
        if f.level in file_areas and f.code is not None:
            file_areas[f.level].append(Area(f.level, f.code, f.name, f.parent_code, f.kind,
                                            geom, True, f.index))
    return file_areas


def _code_level_conflicts(conn: Connection, source: Source, problems: list[Problem]) -> None:
    """Codes already known at another level (codes never change meaning)."""
    codes = [f.code for f in source.features if f.code]
    if not codes:
        return
    known = dict(conn.execute(q(SQL, "area_levels", PKG), {"codes": codes}).all())
    for f in source.features:
        if f.code in known and f.level in LEVELS and known[f.code] != f.level:
            problems.append(Problem("code_level_conflict", ERROR, zh_en(
                f"{f.label_zh()}：编码 code {f.code} 已是{level_zh(known[f.code])}的编码"
                "（编码不改变含义）",
                f"{f.label()}: code {f.code} is already a {known[f.code]} (codes never change "
                "meaning)"), f.level, f.code, f.index))


def _parent_checks(conn: Connection, base: int | None, areas: dict[str, list[Area]],
                   file_levels: list[str], tr: Transformer, problems: list[Problem]) -> None:
    """Every area's parent exists in the territory the import produces; the missing ones are
    reported once each (renamed, dropped or unknown), their children folded under them."""
    for lvl in LEVELS[1:]:
        plevel = PARENT_LEVEL[lvl]
        parent_codes = {a.code for a in areas[plevel]}
        lost = [a for a in areas[lvl] if a.parent_code not in parent_codes]
        if not lost:
            continue
        causes = _missing_parents(conn, base, areas[plevel], lost, plevel, file_levels, tr)
        problems.extend(causes.values())
        for a in lost:
            problems.append(_lost_parent(a, plevel, file_levels, causes[a.parent_code].key))


def _lost_parent(a: Area, plevel: str, file_levels: list[str], cause: str) -> Problem:
    """One area whose parent is not in the territory the import produces."""
    pz = level_zh(plevel)
    if not a.from_file:
        return Problem("orphan", ERROR, zh_en(
            f"{a.label_zh()} 将失去其{pz} {a.parent_code}（文件中没有它）："
            f"请把{level_zh(a.level)}层也放进文件", f"{a.label()} would lose its {plevel} "
            f"{a.parent_code}, which the file drops: include the {a.level} level in the file "
            "too"), a.level, a.code, cause=cause)
    if plevel in file_levels:
        why = f"is not in the file (the file's {plevel} level replaces the active one)"
        zh = "不在文件中（文件的该层取代现有的）"
    else:
        why = "is neither in the file nor in the active generation"
        zh = "既不在文件中也不在现有边界中"
    return Problem("missing_parent", ERROR, zh_en(
        f"{a.label_zh()}：上级{pz} parent_code {a.parent_code} {zh}",
        f"{a.label()}: its {plevel} {a.parent_code} {why}"), a.level, a.code, a.feature,
        cause=cause)


def _renamed(old: Area, candidates: list[Area], tr: Transformer) -> Area | None:
    """The new area of the file covering most of ``old`` (at least half of it), if any."""
    if old.geom is None or not candidates:
        return None
    geoms = np.array([c.geom for c in candidates], dtype=object)
    shared = areas_m2(tr, shapely.intersection(geoms, old.geom))
    whole = float(areas_m2(tr, [old.geom])[0])
    k = int(np.argmax(shared))
    return candidates[k] if whole > 0 and shared[k] >= 0.5 * whole else None


def _renamed_prefixes(conn: Connection, base: int | None, areas: dict[str, list[Area]],
                      file_levels: list[str], tr: Transformer, problems: list[Problem]) -> None:
    """Children whose code still starts with the old code of a parent renamed in the file
    (their parent_code already the new one): one renamed_code cause, the mismatches under it."""
    by_code = {a.code: a for lvl in file_levels for a in areas[lvl] if a.from_file}
    groups: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        child = by_code.get(p.code or "")
        if p.check == "code_parent_mismatch" and child is not None and child.parent_code:
            groups[(child.code[:-3], child.parent_code)].append(p)
    olds: dict[str, dict[str, Area]] = {}
    for (old_code, new_code), probs in groups.items():
        plevel = PARENT_LEVEL.get(probs[0].level or "")
        new = by_code.get(new_code)
        if plevel is None or new is None or new.level != plevel or old_code in by_code:
            continue
        if plevel not in olds:
            olds[plevel] = {a.code: a for a in base_areas(conn, base, [plevel])[plevel]}
        old = olds[plevel].get(old_code)
        if old is None or _renamed(old, [new], tr) is None:
            continue
        cause = next((c for c in problems if c.key == f"renamed_code:{old_code}"), None)
        if cause is None:
            n, ck, cz, pz = len(probs), PLURAL[probs[0].level], level_zh(probs[0].level), \
                level_zh(plevel)
            cause = Problem("renamed_code", ERROR, zh_en(
                f"{pz} {old_code} 在文件中改为编码 {new_code}：{n} 个{cz}的编码仍以 {old_code} "
                f"开头；编码不改变含义，请保留编码 {old_code}，或为这些{cz}换用以 {new_code} "
                "开头的编码",
                f"{plevel} {old_code} is {new_code} in the file: {n} {ck} still have codes "
                f"starting with {old_code}; codes never change meaning: keep code {old_code}, "
                f"or give those {ck} codes starting with {new_code}"), plevel, old_code,
                new.feature, others=[new_code])
            problems.append(cause)
        for p in probs:
            p.cause = cause.key


def _missing_parents(conn: Connection, base: int | None, parents: list[Area], lost: list[Area],
                     plevel: str, file_levels: list[str], tr: Transformer
                     ) -> dict[str, Problem]:
    """The cause of each missing parent code: renamed in the file, dropped by it, or unknown."""
    children = defaultdict(list)
    for a in lost:
        children[a.parent_code].append(a)
    old = {a.code: a for a in base_areas(conn, base, [plevel])[plevel]} \
        if plevel in file_levels else {}
    fresh = [a for a in parents if a.code not in old and a.geom is not None]
    out: dict[str, Problem] = {}
    for code, kids in children.items():
        n, lvl = len(kids), kids[0].level
        ck, pz, cz = PLURAL[lvl], level_zh(plevel), level_zh(lvl)
        if code in old:
            new = _renamed(old[code], fresh, tr)
            if new is not None:
                out[code] = Problem("renamed_code", ERROR, zh_en(
                    f"{pz} {code} 在文件中改为编码 {new.code}：{n} 个{cz}的上级编码仍是 "
                    f"{code}；编码不改变含义，请在文件中保留编码 {code}，或为这些{cz}换用以 "
                    f"{new.code} 开头的编码",
                    f"{plevel} {code} is {new.code} in the file: {n} {ck} still have parent_code "
                    f"{code}; codes never change meaning: keep code {code}, or give those {ck} "
                    f"codes starting with {new.code}"), plevel, code, new.feature,
                    others=[new.code])
                continue
            out[code] = Problem("dropped_code", ERROR, zh_en(
                f"{pz} {code} 不在文件中，但 {n} 个{cz}仍以它为上级：请在文件中加回 {code}，"
                f"或去掉这些{cz}", f"{plevel} {code} is not in the file but {n} {ck} still "
                f"have it as parent_code: add {code} back, or leave those {ck} out"),
                plevel, code)
            continue
        out[code] = Problem("unknown_parent_code", ERROR, zh_en(
            f"{pz} {code} 既不在文件中也不在现有边界中，却是 {n} 个{cz}的上级：请在文件中加入"
            f" {code}，或改正它们的 parent_code", f"{plevel} {code} is neither in the file nor "
            f"in the active generation, yet {n} {ck} have it as parent_code: add it to the "
            "file, or correct their parent_code"), plevel, code)
    return out


def _relations(areas: dict[str, list[Area]], relevant: set[str], opts: Options,
               tr: Transformer, problems: list[Problem]) -> None:
    """Slivers, overlaps, gaps and areas outside their parent, for the levels concerned."""
    for lvl in ("community", "grid", "unit"):
        _slivers(areas[lvl], opts, tr, problems)
    if relevant & {"grid"}:
        _overlaps(areas["grid"], opts, tr, problems)
    if relevant & {"unit"}:
        _overlaps(areas["unit"], opts, tr, problems, "unit")
    if relevant & {"grid", "community"}:
        _gaps(areas["community"], areas["grid"], opts, tr, problems)
        _outside_parent(areas["grid"], {c.code: c for c in areas["community"]},
                        "grid_outside_community", "crosses the boundary of its", opts, tr,
                        problems)
    if relevant & {"grid", "unit"}:
        _outside_parent(areas["unit"], {g.code: g for g in areas["grid"]}, "unit_outside_grid",
                        "lies outside its", opts, tr, problems)


def validate(conn: Connection, source: Source, opts: Options | None = None,
             recutter: Recutter | None = None) -> Validation:
    """Check a file against itself and the active generation; nothing is written.

    With a ``recutter`` the units of moved grids are re-cut before the checks run."""
    opts = opts or Options()
    problems: list[Problem] = []
    base = generations.active_generation(conn)
    tr = metric_transformer([f.geom for f in source.features])
    file_levels = [lvl for lvl in LEVELS if any(f.level == lvl for f in source.features)]
    if not source.features:
        problems.append(Problem("empty_file", ERROR, zh_en(
            f"{source.path}：文件中没有要素", f"{source.path}: the file holds no features")))
    file_areas = _file_areas(source, opts, tr, problems)
    _code_level_conflicts(conn, source, problems)
    # the territory the import produces: the file's levels replace the active ones
    kept_levels = [lvl for lvl in LEVELS if lvl not in file_levels]
    kept = base_areas(conn, base, kept_levels)
    areas = {lvl: (file_areas[lvl] if lvl in file_levels else kept[lvl]) for lvl in LEVELS}
    v = Validation(problems, areas, file_levels, base, tr)
    if recutter is not None:
        v.recut = recutter.before(conn, v, opts)
    _parent_checks(conn, base, areas, file_levels, tr, problems)
    _renamed_prefixes(conn, base, areas, file_levels, tr, problems)
    relevant = {"grid", "community", "unit"} & set(v.written_levels)
    _relations(areas, relevant, opts, tr, problems)
    v.stats = {"features": len(source.features),
               **{PLURAL[lvl]: len(areas[lvl]) for lvl in LEVELS}}
    if relevant & {"unit", "grid"}:
        _buildings(conn, areas["unit"], areas["grid"], opts, problems, v.stats)
    if recutter is not None:
        recutter.after(v)
    return v
