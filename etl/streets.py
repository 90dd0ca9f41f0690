"""Streets and barriers (道路、河道、铁路) from GeoJSON, GeoPackage, Shapefile or OSM (.pbf/.osm).

``read_streets`` turns a file into a frame in its own CRS with a class per feature: the OSM
``highway`` value (primary, residential, footway ...), ``water`` (waterways and the outlines
of water areas) or ``rail``. ``prepare`` checks and converts it to WGS84 lines, rejecting
every feature it cannot use with its row, id and the reason (Chinese first). ``load_streets``
replaces the source's lines in ``street_line`` (upsert by (source, source_id); lines the file
no longer has are removed) and only previews without ``commit``. Drawing reads them back with
``load_lines``.

Classes that close blocks (``BLOCKING``): roads a resident crosses as a street, water and
rail. Footways, cycleways, paths, service roads and tracks are stored but do not cut blocks
(they run through courtyards and estates); a planner may ask for them by class.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from etl import buildings as bld
from etl.common import EtlError, Report, file_error, find_column
from gis.db.queries import q

SQL = "streets.sql"
PKG = "etl.sql"
ROADS = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
         "living_street", "pedestrian", "road", "busway")
BLOCKING = frozenset(ROADS + tuple(f"{r}_link" for r in ROADS[:5]) + ("water", "rail"))
WATERWAYS = frozenset({"river", "stream", "canal", "drain", "ditch", "tidal_channel"})
RAILWAYS = frozenset({"rail", "light_rail", "narrow_gauge", "monorail", "funicular"})
NOT_BUILT = frozenset({"proposed", "construction", "abandoned", "disused", "razed", "platform"})
WATER_AREAS = {"natural": {"water", "bay"}, "waterway": {"riverbank", "dock"},
               "landuse": {"reservoir", "basin"}}
CLASS_COLUMNS = ("class", "highway", "fclass", "kind", "road_class", "dllx", "type")
NAME_COLUMNS = ("name", "name:zh", "road_name", "dlmc", "mc")
ID_COLUMNS = ("source_id", "osm_id", "road_id", "id")
_CLASS_OK = re.compile(r"^[a-z0-9_]{1,40}$")


class Lines(NamedTuple):
    """Stored street lines near an area: WGS84 geometries and the class of each."""

    geoms: np.ndarray
    classes: list[str]


def _osm_raw(path: Path, layer: str) -> pd.DataFrame:
    """One layer of an OSM file: its fields and each feature's WKB (``_wkb``), read with
    GDAL's custom indexing off when the node ids do not increase."""
    import pyogrio

    try:
        meta, _f, wkb, fields = pyogrio.raw.read(path, layer=layer)
    except Exception as e:
        if bld.OSM_ORDER_ERROR not in str(e).lower():
            raise
        meta, _f, wkb, fields = pyogrio.raw.read(path, layer=layer, USE_CUSTOM_INDEXING="NO")
    df = pd.DataFrame({name: col for name, col in zip(meta["fields"], fields, strict=True)})
    df["_wkb"] = np.asarray(wkb, dtype=object)
    return df


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column as objects (all None when the layer has no such field)."""
    if name in df.columns:
        return df[name].to_numpy(dtype=object)
    return np.full(len(df), None, dtype=object)


def _line_class(highway: object, waterway: object, railway: object,
                tags: dict[str, str]) -> str | None:
    """The class of an OSM way (None: not a street or barrier, or a tunnel)."""
    if tags.get("tunnel", "no") != "no" or tags.get("covered", "no") not in ("no", ""):
        return None
    if isinstance(highway, str) and highway and highway not in NOT_BUILT:
        return highway
    if isinstance(waterway, str) and waterway in WATERWAYS:
        return "water"
    if isinstance(railway, str) and railway in RAILWAYS:
        return "rail"
    return None


def _osm_lines(path: Path) -> pd.DataFrame:
    """Ways tagged highway, waterway or railway: id, name, class, WKB."""
    df = _osm_raw(path, "lines")
    tags = [bld._osm_tags(t if isinstance(t, str) else None) for t in _col(df, "other_tags")]
    cls = [_line_class(h, w, r, t) for h, w, r, t in zip(
        _col(df, "highway"), _col(df, "waterway"), _col(df, "railway"), tags, strict=True)]
    out = pd.DataFrame({"source_id": [f"w{i}" for i in _col(df, "osm_id")],
                        "name": _col(df, "name"), "class": cls, "_wkb": df["_wkb"]})
    return out[out["class"].notna()]


def _osm_water_areas(path: Path) -> pd.DataFrame:
    """Outlines of water areas (natural=water, riverbanks, reservoirs): id, name, WKB."""
    df = _osm_raw(path, "multipolygons")
    tags = [bld._osm_tags(t if isinstance(t, str) else None) for t in _col(df, "other_tags")]
    water = np.zeros(len(df), dtype=bool)
    for key, values in WATER_AREAS.items():
        col = _col(df, key) if key in df.columns else np.array([t.get(key) for t in tags],
                                                               dtype=object)
        water |= np.isin(col.astype(str), list(values))
    water |= np.array(["water" in t for t in tags], dtype=bool)
    ids = [f"r{o}" if isinstance(o, str) and o else f"w{w}"
           for o, w in zip(_col(df, "osm_id"), _col(df, "osm_way_id"), strict=True)]
    out = pd.DataFrame({"source_id": [f"area:{i}" for i in ids], "name": _col(df, "name"),
                        "class": "water", "_wkb": df["_wkb"]})
    return out[water]


def _read_osm(path: Path) -> gpd.GeoDataFrame:
    """Streets, waterways, railways and water-area outlines of an OSM extract, built feature
    by feature (a way cut at the extract's edge keeps no geometry and says why)."""
    df = pd.concat([_osm_lines(path), _osm_water_areas(path)], ignore_index=True)
    geoms, errors = bld.geoms_from_wkb(df.pop("_wkb").to_numpy(dtype=object))
    df["_geom_error"] = errors
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326")


def read_streets(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Any supported line file as a frame in its own CRS (no checks yet)."""
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise file_error(f"道路文件不存在 (no such file): {p}", "no_such_file")
    if p.stat().st_size == 0:
        raise file_error(f"道路文件为空 (the file is empty, 0 bytes): {p.name}", "empty_file")
    try:
        if p.name.lower().endswith((".osm.pbf", ".pbf", ".osm")):
            return _read_osm(p)
        return pyogrio.read_dataframe(p, layer=bld.pick_layer(p, layer))
    except EtlError:
        raise
    except Exception as e:  # GDAL: truncated, corrupt or not the format its name says
        msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise file_error(f"无法读取道路文件 {p.name}：文件可能被截断、已损坏或格式与扩展名不符 "
                         f"(cannot read the file: {msg})", "unreadable_file") from None


def _classes(gdf: gpd.GeoDataFrame, class_field: str | None,
             default_class: str | None) -> np.ndarray:
    """Each feature's class: the class column (lower case), else ``default_class``."""
    cols = [c for c in gdf.columns if c != gdf.geometry.name and not c.startswith("_")]
    col = find_column(cols, class_field, CLASS_COLUMNS, "class")
    if col is None:
        if default_class is None:
            raise file_error(
                "道路文件没有道路等级字段（找过 " + ", ".join(CLASS_COLUMNS) + "）；请用 "
                "class_field 选项指定字段，或用 default_class 选项给所有线一个等级 (no class "
                "column: name one with the `class_field` option; its columns are: "
                + ", ".join(repr(c) for c in cols) + ")",
                "unknown_column", field="class")
        return np.full(len(gdf), default_class, dtype=object)
    vals = gdf[col].to_numpy(dtype=object)
    return np.array([None if v is None or (isinstance(v, float) and np.isnan(v))
                     else str(v).strip().lower().replace(" ", "_").replace("-", "_")
                     for v in vals], dtype=object)


def _ids(gdf: gpd.GeoDataFrame, id_field: str | None, notes: list[str]) -> np.ndarray:
    """Each feature's source id: the id column, else the feature number (noted)."""
    cols = [c for c in gdf.columns if c != gdf.geometry.name and not c.startswith("_")]
    col = find_column(cols, id_field, ID_COLUMNS, "id")
    if col is None:
        notes.append("没有编号字段，以要素序号作编号：重新加载同一文件即可更新 (no id column: "
                     "feature numbers are the source ids)")
        return np.arange(1, len(gdf) + 1).astype(str).astype(object)
    vals = gdf[col].to_numpy(dtype=object)
    return np.array([None if v is None or (isinstance(v, float) and np.isnan(v))
                     else (str(int(v)) if isinstance(v, float) and v.is_integer() else
                           str(v).strip()) or None for v in vals], dtype=object)


class _Check:
    """Features still in (``ok``) and the report their rejects go to."""

    def __init__(self, report: Report, ids: np.ndarray) -> None:
        self.report, self.ids = report, ids
        self.ok = np.ones(len(ids), dtype=bool)

    def reject(self, mask: np.ndarray, field: str, code: str, why) -> None:
        """Reject the features of ``mask`` still in; ``why``: text or a function of the index."""
        for i in np.nonzero(mask & self.ok)[0]:
            reason = why(int(i)) if callable(why) else why
            self.report.reject(int(i) + 1, self.ids[i], field, code, reason)
        self.ok &= ~mask


def _as_lines(geom: np.ndarray, c: _Check, notes: list[str]) -> np.ndarray:
    """Lines kept as they are, polygon outlines as lines (noted), anything else rejected."""
    present = ~pd.isna(geom)
    c.reject(~present, "geometry", "missing_geometry", "要素没有几何 (the feature has no geometry)")
    empty = np.zeros(len(geom), dtype=bool)
    empty[present] = shapely.is_empty(geom[present])
    c.reject(empty, "geometry", "empty_geometry", "几何为空 (the geometry is empty)")
    types = np.full(len(geom), -1)
    types[c.ok] = shapely.get_type_id(geom[c.ok])
    poly = np.isin(types, [3, 6])
    if poly.any():
        geom = geom.copy()
        geom[poly] = shapely.boundary(geom[poly])
        notes.append(f"{int(poly.sum())} 个面要素取其边界线作障碍（如水面）({int(poly.sum())} "
                     "polygon(s) taken as their outlines, e.g. water areas)")
    names = {0: "点 Point", 4: "多点 MultiPoint", 7: "几何集合 GeometryCollection"}
    c.reject(c.ok & ~np.isin(types, [1, 2, 5, 3, 6]), "geometry", "not_a_line",
             lambda i: "需要线（LineString / MultiLineString），实为 "
             f"{names.get(types[i], types[i])} (expected a line)")
    return geom


def _to_wgs84(gdf: gpd.GeoDataFrame, geom: np.ndarray, c: _Check, crs: str | None,
              name: str) -> np.ndarray:
    """Lines in WGS84 (declared CRS or ``crs``; GCJ-02 / BD-09 shifted back)."""
    source = bld.resolve_crs(gdf.crs, crs, c.report.notes)
    c.report.crs = bld._crs_name(source.crs) + (f" ({source.shift.value})" if source.shift
                                                 else "")
    b = np.full((len(geom), 4), np.nan)
    b[c.ok] = shapely.bounds(geom[c.ok])
    c.reject(~np.isfinite(b).all(axis=1), "geometry", "bad_coordinates",
             "坐标为 NaN 或无穷大 (coordinates are NaN or infinite)")
    bld.check_crs_matches(source.crs, b[c.ok], name)
    if source.crs.is_geographic:
        c.reject((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90),
                 "geometry", "out_of_range", lambda i: "坐标超出经纬度范围 (coordinates out of "
                 f"range): x {b[i, 0]:.6g}..{b[i, 2]:.6g}, y {b[i, 1]:.6g}..{b[i, 3]:.6g}")
    if not source.is_wgs84 and c.ok.any():
        geom = geom.copy()
        geom[c.ok] = shapely.transform(geom[c.ok], source.transform_xy)
    return geom


def _check_attributes(classes: np.ndarray, ids: np.ndarray, geom: np.ndarray,
                      c: _Check) -> None:
    """Reject features without an id or class, with a malformed class, of zero length, or
    repeating an id seen before."""
    c.reject(pd.isna(ids), "id", "missing_id", "编号为空 (the id is empty)")
    c.reject(pd.isna(classes), "class", "missing_class", "道路等级为空 (the class is empty)")
    bad = np.array([isinstance(v, str) and not _CLASS_OK.match(v) for v in classes], dtype=bool)
    c.reject(bad, "class", "bad_class", lambda i: f"道路等级 {classes[i]!r} 不合规：只能用小写"
             "字母、数字和下划线，至多 40 个字符 (class must be [a-z0-9_], at most 40 chars)")
    zero = np.zeros(len(geom), dtype=bool)
    zero[c.ok] = shapely.length(geom[c.ok]) == 0
    c.reject(zero, "geometry", "zero_length", "线长度为零 (the line has zero length)")
    seen: dict[str, int] = {}
    dup = np.zeros(len(ids), dtype=bool)
    for i in np.nonzero(c.ok)[0]:
        if ids[i] in seen:
            dup[i] = True
        else:
            seen[ids[i]] = int(i) + 1
    c.reject(dup, "id", "duplicate_id", lambda i: f"编号 {ids[i]!r} 重复（首次出现在第 "
             f"{seen[ids[i]]} 行），只加载第一个 (duplicate id; only the first is loaded)")


def prepare(gdf: gpd.GeoDataFrame, report: Report, *, crs: str | None = None,
            id_field: str | None = None, class_field: str | None = None,
            default_class: str | None = None, name: str = "input") -> gpd.GeoDataFrame:
    """Check and convert features to WGS84 lines; the rows to load, rejects in ``report``."""
    report.rows_read = len(gdf)
    if len(gdf) == 0:
        raise file_error(f"道路文件 {name} 中没有可用的道路、河道或铁路线 (the file has no "
                         "street, waterway or railway features)", "empty_file")
    if "source_id" in gdf.columns and "class" in gdf.columns and "_geom_error" in gdf.columns:
        ids, classes = gdf["source_id"].to_numpy(dtype=object), gdf["class"].to_numpy(object)
    else:
        ids = _ids(gdf, id_field, report.notes)
        classes = _classes(gdf, class_field, default_class)
    c = _Check(report, ids)
    gerr = _col(gdf, "_geom_error")
    c.reject(pd.notna(gerr), "geometry", "broken_geometry", lambda i: "线无法构建，多为提取范围"
             f"边缘被截断的路段或残缺的水面关系 (the line cannot be built: {gerr[i]}; a way cut "
             "at the extract's edge)")
    geom = _as_lines(gdf.geometry.to_numpy().copy(), c, report.notes)
    geom = _to_wgs84(gdf, geom, c, crs, name)
    _check_attributes(classes, ids, geom, c)
    keep = np.nonzero(c.ok)[0]
    cols = [x for x in gdf.columns if x != gdf.geometry.name and not x.startswith("_")]
    ncol = "name" if "name" in gdf.columns else find_column(cols, None, NAME_COLUMNS, "name")
    names = _col(gdf, ncol) if ncol else np.full(len(gdf), None, dtype=object)
    return gpd.GeoDataFrame(
        {"row": keep + 1, "source_id": ids[keep], "class": classes[keep],
         "name": [None if pd.isna(v) else str(v).strip() or None for v in names[keep]]},
        geometry=shapely.force_2d(geom[keep]) if len(keep) else [], crs="EPSG:4326")


def load_streets(engine: Engine, prepared: gpd.GeoDataFrame, source: str, report: Report,
                 commit: bool = False) -> Report:
    """Replace the source's lines with ``prepared`` (rolled back unless ``commit``)."""
    ids = [str(s) for s in prepared["source_id"]]
    params = {"source": source, "ids": ids, "names": list(prepared["name"]),
              "classes": [str(x) for x in prepared["class"]],
              "wkbs": [bytes(w) for w in shapely.to_wkb(prepared.geometry.to_numpy())]}
    with engine.connect() as conn:
        with conn.begin() as tx:
            before = conn.execute(q(SQL, "street_count", PKG), {"source": source}).scalar_one()
            written = conn.execute(q(SQL, "street_upsert", PKG), params).scalars().all()
            removed = conn.execute(q(SQL, "street_remove_missing", PKG),
                                   {"source": source, "ids": ids}).rowcount
            if not commit:
                tx.rollback()
    report.inserted = sum(1 for w in written if w)
    report.updated = len(written) - report.inserted
    report.unchanged = len(prepared) - len(written)
    report.committed = commit
    if removed:
        report.notes.append(f"{removed} 条该来源的旧线不在新文件中，已删除 ({removed} line(s) of "
                            f"source {source!r} not in the file removed; {before} stored before)")
    return report


def summarise(prepared: gpd.GeoDataFrame, report: Report) -> None:
    """Lines and kilometres per class, and which classes close blocks, in the report."""
    km = shapely.length(_metric(prepared.geometry.to_numpy())) / 1000.0
    by = pd.DataFrame({"class": prepared["class"], "km": km}).groupby("class")["km"]
    per = {k: {"lines": int(n), "km": round(float(s), 2)}
           for k, n, s in zip(by.size().index, by.size(), by.sum(), strict=True)}
    blocking = sorted(k for k in per if k in BLOCKING)
    report.placement = {"per_class": per, "closes_blocks": blocking,
                        "not_closing_blocks": sorted(k for k in per if k not in BLOCKING)}


def _metric(g: np.ndarray) -> np.ndarray:
    """WGS84 geometries in a local metric plane (for lengths)."""
    from etl.units import Plane

    if not len(g):
        return g
    b = shapely.total_bounds(g)
    return Plane((b[0] + b[2]) / 2, (b[1] + b[3]) / 2).fwd(g)


def load_file(engine: Engine, path: str | Path, *, source: str | None = None,
              crs: str | None = None, layer: str | None = None, id_field: str | None = None,
              class_field: str | None = None, default_class: str | None = None,
              commit: bool = False) -> Report:
    """Read, check and load a street file (preview unless ``commit``)."""
    p = Path(path)
    src = source or re.sub(r"(\.osm)?\.[^.]+$", "", p.name)
    report = Report(kind="streets", file=str(p), source=src)
    gdf = read_streets(p, layer)
    prepared = prepare(gdf, report, crs=crs, id_field=id_field, class_field=class_field,
                       default_class=default_class, name=p.name)
    if len(prepared) == 0:
        raise file_error(f"道路文件 {p.name} 的 {report.rows_read} 个要素全部被拒绝，见拒绝清单 "
                         f"(all {report.rows_read} features rejected)", "nothing_to_load")
    summarise(prepared, report)
    return load_streets(engine, prepared, src, report, commit)


def load_lines(engine: Engine, bounds: tuple[float, float, float, float],
               classes: frozenset[str] | None = None, margin_deg: float = 0.002) -> Lines:
    """Stored lines of ``classes`` (default: those closing blocks) near WGS84 ``bounds``."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "streets_in_box", PKG), {
            "xmin": xmin - margin_deg, "ymin": ymin - margin_deg, "xmax": xmax + margin_deg,
            "ymax": ymax + margin_deg, "classes": sorted(classes or BLOCKING)}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([])
    return Lines(np.asarray(geoms, dtype=object), [r.cls for r in rows])


def has_streets(engine: Engine) -> bool:
    """Whether any street line is stored."""
    with engine.connect() as conn:
        return bool(conn.execute(q(SQL, "street_sources", PKG)).first())


def streets_from_gaps(geoms: np.ndarray, min_gap_m: float = 18.0,
                      simplify_m: float = 2.0) -> np.ndarray:
    """Street centre lines guessed from building footprints alone (WGS84 in, WGS84 out).

    Footprints closer than ``min_gap_m`` are merged into clusters (each grown by half the gap);
    the streets are the midlines of the gaps between neighbouring clusters: the edges between
    their Voronoi regions (of points sampled along the cluster outlines), inside the district
    outline drawing uses, simplified by ``simplify_m``. Lanes narrower than ``min_gap_m``
    are not streets. For a district without a street layer (the Suzhou demo's buildings).
    """
    from etl.units import Plane, _district_hull, building_cells, dissolve

    pts = shapely.point_on_surface(geoms)
    plane = Plane.around(shapely.get_x(pts), shapely.get_y(pts))
    gm = plane.fwd(np.asarray(geoms, dtype=object))
    clusters = shapely.get_parts(shapely.union_all(shapely.buffer(gm, min_gap_m / 2,
                                                                  quad_segs=2)))
    hull = _district_hull(gm, 30.0)
    cells, owner = building_cells(clusters, hull, sample_m=4.0)
    regions = [r for r in dissolve(cells, owner, len(clusters)) if r is not None]
    edges = shapely.union_all(shapely.boundary(np.array(regions, dtype=object)),
                              grid_size=0.01)
    edges = shapely.difference(shapely.intersection(edges, hull),
                               shapely.buffer(shapely.boundary(hull), 0.5))
    lines = shapely.get_parts(shapely.line_merge(edges))
    lines = shapely.simplify(lines[shapely.get_type_id(lines) == 1], simplify_m)
    return plane.inv(lines[shapely.length(lines) > 0])
