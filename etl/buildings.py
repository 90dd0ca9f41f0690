"""Building footprints from GeoJSON, GeoPackage, zipped Shapefile, OSM (.pbf/.osm), CSV+WKT.

``read_buildings`` turns a file into a GeoDataFrame in its declared CRS; ``prepare`` validates
and normalises it (WGS84, one row per building, every reject with row, field and reason);
``load_frame`` bulk-loads through ``COPY`` into a staging table and upserts into ``building``
by (source, source_id), changing nothing on a reload; ``load_file`` does all of it and places
every building in its grid and unit.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from psycopg2 import sql as psql
from pyproj import CRS
from sqlalchemy import Engine

from etl import copybin, swapload
from etl.common import (
    EtlError,
    Progress,
    Report,
    file_error,
    find_column,
    progress_on,
    read_csv_text,
)
from gis.db.queries import q
from gis.geo.crs import Resolved, UnknownCrsError, resolve

log = logging.getLogger(__name__)
SQL = "etl.sql"
PKG = "etl.sql"
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "wkb_geometry")
ID_COLUMNS = ("source_id", "osm_id", "building_id", "bldg_id", "id")
NAME_COLUMNS = ("name", "name:zh", "building_name", "mc", "jzwmc")
ADDRESS_COLUMNS = ("address", "addr", "addr:full", "dz", "location")
FLOOR_COLUMNS = ("floors", "floor", "building:levels", "levels", "storeys", "cs")
HEIGHT_COLUMNS = ("height_m", "height", "building:height", "gd")
PROGRESS_MIN_ROWS = 50_000


def _osm_tags(s: str | None) -> dict[str, str]:
    """Parse GDAL's hstore-like ``other_tags`` ("k"=>"v",...)."""
    if not s or not isinstance(s, str):
        return {}
    return dict(re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', s))


OSM_ORDER_ERROR = "non increasing node id"


def _osm_layer(path: Path) -> tuple[dict, np.ndarray, list[np.ndarray], list[str]]:
    """The raw multipolygons layer (WKB per feature); a file whose node ids do not increase
    (GDAL: "Non increasing node id") is read again without GDAL's custom indexing."""
    import pyogrio

    notes: list[str] = []
    try:
        meta, _fids, wkb, fields = pyogrio.raw.read(path, layer="multipolygons",
                                                    return_fids=True)
    except Exception as e:
        if OSM_ORDER_ERROR not in str(e).lower():
            raise
        meta, _fids, wkb, fields = pyogrio.raw.read(path, layer="multipolygons",
                                                    return_fids=True, USE_CUSTOM_INDEXING="NO")
        notes.append("node ids are not in increasing order: read with "
                     "OSM_USE_CUSTOM_INDEXING=NO (slower, same result)")
    return meta, wkb, fields, notes


class BuiltGeoms(NamedTuple):
    """Shapely geometries (object array) and, per feature, why it could not be built."""

    geoms: np.ndarray
    errors: list[str | None]


def geoms_from_wkb(wkb: np.ndarray) -> BuiltGeoms:
    """Shapely geometries built feature by feature; the reason for each that cannot be built."""
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    errors: list[str | None] = [None] * len(wkb)
    for i in np.nonzero(pd.isna(geoms))[0]:
        if wkb[i] is None:
            continue
        try:
            geoms[i] = shapely.from_wkb(wkb[i])
        except Exception as e:  # GEOS: a 2-point ring (a way cut at the extract's edge) ...
            msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            errors[i] = msg
    return BuiltGeoms(geoms, errors)


def _read_osm(path: Path) -> gpd.GeoDataFrame:
    """Ways and multipolygon relations tagged building, with levels, name and address tags.

    Read feature by feature: a feature whose outline cannot be built (a way cut at the
    extract's edge) comes back without geometry and with the reason in ``_geom_error``.
    """
    meta, wkb, fields, notes = _osm_layer(path)
    df = pd.DataFrame({name: col for name, col in zip(meta["fields"], fields, strict=True)})
    if "building" not in df.columns:
        return gpd.GeoDataFrame({"source_id": []}, geometry=[], crs="EPSG:4326")
    keep = (df["building"].notna() & (df["building"] != "no")).to_numpy()
    df = df[keep].reset_index(drop=True)
    geoms, errors = geoms_from_wkb(np.asarray(wkb, dtype=object)[keep])
    tags = [_osm_tags(t) for t in df.get("other_tags", pd.Series([None] * len(df)))]
    ids = []
    for oid, wid in zip(df.get("osm_id"), df.get("osm_way_id"), strict=True):
        ids.append(f"r{oid}" if isinstance(oid, str) and oid else f"w{wid}")
    out = gpd.GeoDataFrame(
        {
            "source_id": ids,
            "name": df.get("name"),
            "building": df["building"].to_numpy(),
            "building:levels": [t.get("building:levels") for t in tags],
            "height": [t.get("height") for t in tags],
            "address": [
                " ".join(x for x in (t.get("addr:city"), t.get("addr:street"),
                                      t.get("addr:housenumber")) if x) or t.get("addr:full")
                for t in tags
            ],
            "_geom_error": errors,
        },
        geometry=geoms, crs=meta.get("crs") or "EPSG:4326",
    )
    out.attrs["notes"] = notes
    return out


def _read_csv(path: Path, geometry_field: str | None,
              encoding: str | None = None) -> gpd.GeoDataFrame:
    """CSV with a WKT column; unparseable WKT becomes a missing geometry flagged for the report."""
    df, used = read_csv_text(path, encoding, on_bad_lines="error")
    col = find_column(list(df.columns), geometry_field, WKT_COLUMNS, "geometry")
    if col is None:
        raise file_error(
            f"{path.name}: no WKT geometry column (looked for {', '.join(WKT_COLUMNS)}); its "
            f"columns are: {', '.join(repr(c) for c in df.columns)}; name one with "
            "the `geometry_field` option", "unknown_column", field="geometry")
    raw = df.pop(col).fillna("").astype(str).str.strip()
    arr = raw.to_numpy(dtype=object)
    arr[arr == ""] = None
    geoms = shapely.from_wkt(arr, on_invalid="ignore")
    bad = raw.ne("").to_numpy() & pd.isna(geoms)
    df["_wkt_error"] = bad
    df = df.replace("", None)
    out = gpd.GeoDataFrame(df, geometry=geoms, crs=None)
    out.attrs["encoding"] = used
    return out


def pick_layer(p: Path, layer: str | None) -> str | None:
    """The layer to read: the one named, else the file's only layer with geometry; a file with
    several such layers and no ``layer`` is refused, listing them."""
    import pyogrio

    listed = pyogrio.list_layers(p)
    layers = [str(x[0]) for x in listed]
    if layer is not None:
        if layer not in layers:
            raise file_error(f"{p.name}: no layer {layer!r}; its layers are: "
                             + ", ".join(repr(x) for x in layers), "unknown_layer", "layer")
        return layer
    spatial = [str(x[0]) for x in listed if x[1] is not None]
    if len(spatial) > 1:
        raise file_error(f"{p.name} has {len(spatial)} layers: "
                         + ", ".join(repr(x) for x in spatial)
                         + "; name the one to load with the `layer` option", "several_layers",
                         "layer")
    return spatial[0] if spatial else None


def read_buildings(path: str | Path, layer: str | None = None,
                   geometry_field: str | None = None,
                   encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read any supported building file into a GeoDataFrame (its own CRS, no checks yet)."""
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise file_error(f"{p}: no such file", "no_such_file")
    if p.stat().st_size == 0:
        raise file_error(f"{p.name}: the file is empty (0 bytes)", "empty_file")
    name = p.name.lower()
    try:
        if name.endswith((".osm.pbf", ".pbf", ".osm")):
            return _read_osm(p)
        if name.endswith((".csv", ".txt")):
            return _read_csv(p, geometry_field, encoding)
        return pyogrio.read_dataframe(p, layer=pick_layer(p, layer))
    except EtlError:
        raise
    except Exception as e:  # GDAL errors: truncated, corrupt or not the format its name says
        msg = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise file_error(f"{p.name}: cannot read the file ({msg}); it may be truncated, "
                         "corrupt, or not the format its name says", "unreadable_file") from None


def resolve_crs(declared: CRS | None, crs_opt: str | None, notes: list[str]) -> Resolved:
    """The CRS the coordinates are in (``--crs`` over the declared one; none: EPSG:4326)."""
    if crs_opt:
        try:
            c = resolve(crs_opt)
        except UnknownCrsError:
            raise file_error(f"crs {crs_opt!r} is neither a datum (wgs84, gcj02, bd09, "
                             "cgcs2000) nor a CRS pyproj knows (e.g. EPSG:4547)",
                             "unknown_crs", "crs") from None
        if c.shift is not None:
            notes.append(f"coordinates taken as {c.shift.value} lon/lat and converted to WGS84")
        elif c.datum is None and declared is not None and not declared.equals(c.crs):
            notes.append(f"crs {crs_opt} overrides the file's declared {declared.to_string()}")
        return c
    if declared is None:
        notes.append("the file declares no CRS; taken as EPSG:4326 (WGS84 lon/lat)")
        return resolve(CRS.from_epsg(4326))
    return resolve(CRS.from_user_input(declared))


def _crs_name(c: CRS) -> str:
    """Short CRS name such as EPSG:3857."""
    auth = c.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else c.name


def check_crs_matches(crs: CRS, bounds: np.ndarray, path_name: str) -> None:
    """Refuse a file whose coordinates cannot be in its declared CRS (degrees vs metres)."""
    if not len(bounds):
        return
    xmin, ymin = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
    xmax, ymax = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
    span = f"x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to {ymax:.6g}"
    in_deg = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(bounds[:, [1, 3]]) <= 90
                                                               ).all(axis=1)
    if crs.is_geographic and in_deg.mean() < 0.5:
        raise file_error(
            f"{path_name}: declared CRS {_crs_name(crs)} is in degrees but the coordinates look "
            f"like metres ({span}); name the right projected CRS with the `crs` option "
            "(e.g. EPSG:3857, "
            "EPSG:4547)", "crs_mismatch", "crs")
    if crs.is_projected and in_deg.all() and max(abs(xmax), abs(ymax), abs(xmin), abs(ymin)) > 1:
        raise file_error(
            f"{path_name}: declared CRS {_crs_name(crs)} is in metres but the coordinates look "
            f"like degrees ({span}); set the `crs` option to EPSG:4326 (or gcj02 / bd09)",
            "crs_mismatch", "crs")


def _num(s: pd.Series) -> pd.Series:
    """Numbers from a column of strings or numbers (unparseable → NaN)."""
    if s.dtype.kind in "if":
        return s.astype(float)
    return pd.to_numeric(s.astype(str).str.extract(r"^\s*(-?\d+(?:\.\d+)?)", expand=False),
                         errors="coerce")


@dataclass
class _Rows:
    """The features of one file under check: geometries, source ids, which rows are still in."""

    report: Report
    geom: np.ndarray
    ids: np.ndarray
    ok: np.ndarray

    @property
    def rowno(self) -> np.ndarray:
        """1-based feature numbers."""
        return np.arange(1, len(self.ok) + 1)

    def mask(self, idx: Any = None) -> np.ndarray:
        """A row mask, set at ``idx``."""
        m = np.zeros(len(self.ok), bool)
        if idx is not None:
            m[idx] = True
        return m

    def reject(self, mask: np.ndarray, field: str, code: str, why: Any) -> None:
        """Reject the rows of ``mask`` still in (``why``: a reason or a function of the row)."""
        for i in np.nonzero(mask & self.ok)[0]:
            self.report.reject(int(i) + 1, self.ids[i], field, code,
                               why(i) if callable(why) else why)
        self.ok[mask] = False


@dataclass
class _Attributes:
    """Building attributes found in the file: their columns and the numbers read."""

    floors_col: str | None
    height_col: str | None
    name_col: str | None
    address_col: str | None
    floors: np.ndarray
    height: np.ndarray
    floors_given: np.ndarray | None


def prepare(gdf: gpd.GeoDataFrame, report: Report, *, crs: str | None = None,
            id_field: str | None = None, repair: bool = False,
            name: str = "input") -> gpd.GeoDataFrame:
    """Validate and normalise features; returns WGS84 rows ready to load, rejects in ``report``."""
    n = len(gdf)
    report.rows_read = n
    if n == 0:
        raise file_error(f"{name}: the file has no features", "empty_file")
    cols = [c for c in gdf.columns if c != gdf.geometry.name and not c.startswith("_")]
    source = resolve_crs(gdf.crs, crs, report.notes)
    report.crs = _crs_name(source.crs) + (f" ({source.shift.value})" if source.shift else "")
    idcol, ids = _source_ids(gdf, cols, id_field, report.notes)
    rows = _Rows(report, gdf.geometry.to_numpy().copy(), ids, np.ones(n, dtype=bool))
    bounds = _check_geometry(gdf, rows)
    check_crs_matches(source.crs, bounds[rows.ok], name)
    _convert(rows, bounds, source)
    _check_validity(rows, repair)
    if idcol is not None:
        _check_ids(rows, idcol)
    attrs = _attributes(gdf, cols, rows)
    return _frame(gdf, cols, rows, idcol, attrs)


def _source_ids(gdf: gpd.GeoDataFrame, cols: list[str], id_field: str | None,
                notes: list[str]) -> tuple[str | None, np.ndarray]:
    """The id column (None: feature numbers) and each feature's source id (None: empty)."""
    explicit = id_field is not None
    idcol = find_column(cols, id_field, ID_COLUMNS, "id")
    if idcol is not None and not explicit:
        vals = gdf[idcol]
        if vals.isna().any() or vals.astype(str).duplicated().any():
            notes.append(f"column {idcol!r} is not a unique id (missing or repeated values); "
                         "using the feature number as source id (name an id with the `id_field` "
                         "option)")
            idcol = None
    if idcol is None:
        if not explicit:
            notes.append("source ids are feature numbers: reload the same file to update it")
        return None, np.arange(1, len(gdf) + 1).astype(str).astype(object)
    raw = gdf[idcol].reset_index(drop=True)
    null = raw.isna().to_numpy()
    if raw.dtype.kind in "iu":
        vals = raw.astype(str).to_numpy(dtype=object)
    elif raw.dtype.kind == "f":
        vals = np.array([str(int(v)) if float(v).is_integer() else str(v)
                         for v in raw.fillna(0).to_numpy()], dtype=object)
    else:
        vals = raw.astype(str).str.strip().to_numpy(dtype=object)
    vals[null | (vals == "")] = None
    return idcol, vals


_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint",
               5: "MultiLineString", 7: "GeometryCollection"}


def _check_geometry(gdf: gpd.GeoDataFrame, rows: _Rows) -> np.ndarray:
    """Reject unreadable, missing, empty, non-polygon and non-finite geometries; the bounds."""
    n, geom = len(rows.ok), rows.geom
    wkt_err = gdf["_wkt_error"].to_numpy() if "_wkt_error" in gdf.columns else np.zeros(n, bool)
    rows.reject(wkt_err, "geometry", "bad_wkt",
                "the WKT text cannot be parsed (truncated or malformed)")
    gerr = gdf["_geom_error"].to_numpy(dtype=object) if "_geom_error" in gdf.columns else \
        np.full(n, None, dtype=object)
    rows.reject(pd.notna(gerr), "geometry", "broken_geometry",
                lambda i: f"the outline cannot be built ({gerr[i]}); a way cut at the extract's "
                "edge or a broken multipolygon")
    rows.reject(pd.isna(geom), "geometry", "missing_geometry", "the feature has no geometry")
    present = ~pd.isna(geom)
    empty = np.zeros(n, bool)
    empty[present] = shapely.is_empty(geom[present])
    rows.reject(empty, "geometry", "empty_geometry", "the geometry is empty")
    live = rows.ok.copy()
    types = np.full(n, None, dtype=object)
    types[live] = shapely.get_type_id(geom[live])
    rows.reject(live & ~np.isin(types, [3, 6]), "geometry", "not_a_polygon",
                lambda i: "expected a Polygon or MultiPolygon, got "
                f"{_TYPE_NAMES.get(types[i], types[i])}")
    nonfinite = np.zeros(n, bool)
    bounds = np.full((n, 4), np.nan)
    ok = rows.ok
    if ok.any():
        bounds[ok] = shapely.bounds(geom[ok])
        nonfinite[ok] = ~np.isfinite(bounds[ok]).all(axis=1)
    rows.reject(nonfinite, "geometry", "bad_coordinates", "coordinates are NaN or infinite")
    return bounds


def _convert(rows: _Rows, b: np.ndarray, source: Resolved) -> None:
    """Range-check lon/lat input, reproject or convert the datum to WGS84, range-check again."""
    ok = rows.ok
    if source.crs.is_geographic:
        out = ok & ((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90))
        rows.reject(out, "geometry", "out_of_range",
                    lambda i: "coordinates out of range (lon must be in [-180, 180], lat in "
                    f"[-90, 90]): x {b[i, 0]:.6g}..{b[i, 2]:.6g}, y {b[i, 1]:.6g}..{b[i, 3]:.6g}")
    idx = np.nonzero(ok)[0]
    if not len(idx):
        return
    g = rows.geom[idx]
    if not source.is_wgs84:
        g = shapely.transform(g, source.transform_xy)
    rows.geom[idx] = g
    b2 = shapely.bounds(g)
    bad = ~np.isfinite(b2).all(axis=1) | (b2[:, 0] < -180) | (b2[:, 2] > 180) | (
        b2[:, 1] < -90) | (b2[:, 3] > 90)
    rows.reject(rows.mask(idx[bad]), "geometry", "out_of_range",
                f"coordinates fall outside the world once converted from {_crs_name(source.crs)}")


def _check_validity(rows: _Rows, repair: bool) -> None:
    """Reject invalid polygons, or with ``repair`` make them valid (noted)."""
    idx = np.nonzero(rows.ok)[0]
    if not len(idx):
        return
    geom = rows.geom
    valid = _is_valid(geom[idx])
    for k in np.nonzero(~valid)[0]:
        i = idx[k]
        why = shapely.is_valid_reason(geom[i])
        if repair:
            fixed = shapely.make_valid(geom[i])
            polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon",
                                                                          "MultiPolygon")]
            if polys and shapely.area(shapely.union_all(polys)) > 0:
                geom[i] = shapely.union_all(polys)
                rows.report.notes.append(f"row {i + 1}: invalid polygon ({why}) repaired")
                continue
        rows.reject(rows.mask(i), "geometry", "invalid_polygon",
                    f"invalid polygon: {why}"
                    + ("" if repair else " (the `repair` option fixes it)"))


def _check_ids(rows: _Rows, idcol: str) -> None:
    """Reject rows without a source id, and repeats of an id (the first one is kept)."""
    id_arr = rows.ids
    rows.reject(pd.isna(id_arr), idcol, "missing_id", f"the id field {idcol!r} is empty")
    live = np.nonzero(rows.ok)[0]
    dmask = pd.Series(id_arr[live], dtype=object).duplicated(keep="first").to_numpy()
    dup_first: dict[int, int] = {}
    if dmask.any():
        keys = set(id_arr[live[dmask]])
        firsts: dict[str, int] = {}
        for i in live:
            k = id_arr[i]
            if k in keys:
                if k in firsts:
                    dup_first[int(i)] = firsts[k]
                else:
                    firsts[k] = int(i) + 1
    rows.reject(rows.mask(live[dmask]), idcol, "duplicate_id",
                lambda i: f"duplicate id {id_arr[i]!r} (first seen at row {dup_first[i]}); "
                "only the first is loaded")


def _attributes(gdf: gpd.GeoDataFrame, cols: list[str], rows: _Rows) -> _Attributes:
    """Find the floors, height, name and address columns; reject impossible numbers."""
    n = len(rows.ok)
    fcol = find_column(cols, None, FLOOR_COLUMNS, "floors")
    hcol = find_column(cols, None, HEIGHT_COLUMNS, "height")
    ncol = find_column(cols, None, NAME_COLUMNS, "name")
    acol = find_column(cols, None, ADDRESS_COLUMNS, "address")
    floors = _num(gdf[fcol]).reset_index(drop=True) if fcol else pd.Series(np.nan, index=range(n))
    height = _num(gdf[hcol]).reset_index(drop=True) if hcol else pd.Series(np.nan, index=range(n))
    fv = floors.to_numpy().copy()
    rows.reject(~np.isnan(fv) & ((fv < 0) | (fv > 299)), fcol or "floors",
                "bad_floors", lambda i: f"floors must be from 0 to 299, got {fv[i]:g}")
    given = _fractional_floors(fv, rows.ok, rows.report.notes)
    hv = height.to_numpy()
    rows.reject(~np.isnan(hv) & ((hv < 0) | (hv > 1000)), hcol or "height", "bad_height",
                lambda i: f"height must be 0 to 1000 metres, got {hv[i]:g}")
    return _Attributes(fcol, hcol, ncol, acol, fv, hv, given)


def _frame(gdf: gpd.GeoDataFrame, cols: list[str], rows: _Rows, idcol: str | None,
           a: _Attributes) -> gpd.GeoDataFrame:
    """The rows still in as a WGS84 frame; other columns in ``attrs["properties"]``."""
    keep = np.nonzero(rows.ok)[0]
    used = {c for c in (idcol, a.floors_col, a.height_col, a.name_col, a.address_col) if c}
    props = gdf.iloc[keep][[c for c in cols if c not in used]].reset_index(drop=True)
    if a.floors_given is not None:
        props["floors_as_given"] = a.floors_given[keep]

    def text(c: str | None) -> Any:
        """Stripped text of a column (None where missing), or None without the column."""
        if c is None:
            return None
        # pandas 3 string columns turn None back into NaN: test each value, never str(NaN)
        vals = gdf[c].iloc[keep].to_numpy(dtype=object)
        return pd.Series([None if _missing(v) else str(v).strip() for v in vals], dtype=object)

    out = gpd.GeoDataFrame(
        {
            "row": rows.rowno[keep],
            "source_id": rows.ids[keep],
            "name": text(a.name_col),
            "address": text(a.address_col),
            "floors": pd.array(a.floors[keep], dtype="Int64") if a.floors_col else pd.array(
                [None] * len(keep), dtype="Int64"),
            "height_m": a.height[keep],
        },
        geometry=rows.geom[keep], crs="EPSG:4326",
    )
    out.attrs["properties"] = props
    return out


def _fractional_floors(fv: np.ndarray, ok: np.ndarray, notes: list[str]) -> np.ndarray | None:
    """Round fractional floor counts (OSM ``building:levels=2.5``: an attic or half storey)
    up in place; the values as given (None elsewhere), or None when there are none."""
    frac = ok & ~np.isnan(fv) & (fv != np.round(fv))
    if not frac.any():
        return None
    given = np.full(len(fv), None, dtype=object)
    given[frac] = fv[frac]
    fv[frac] = np.ceil(fv[frac])
    notes.append(f"{int(frac.sum())} building(s) with a fractional number of floors (e.g. "
                 f"{given[frac][0]:g}) stored rounded up; the value as given is kept in their "
                 "properties as floors_as_given")
    return given


def _missing(v: Any) -> bool:
    """None, NaN or pd.NA."""
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid``, split over two threads for large arrays (GEOS releases the GIL)."""
    if len(geoms) < 50_000:
        return shapely.is_valid(geoms)
    from concurrent.futures import ThreadPoolExecutor

    half = len(geoms) // 2
    with ThreadPoolExecutor(2) as ex:
        parts = list(ex.map(shapely.is_valid, (geoms[:half], geoms[half:])))
    return np.concatenate(parts)


COPY_COLUMNS = ("source", "source_id", "name", "address", "floors", "height_m", "geom",
                "properties")
COPY_CHUNK_ROWS = 50_000
BULK_REBUILD_MIN_ROWS = 10_000  # new rows from which dropping + rebuilding indexes can pay
BULK_REBUILD_SHARE = 0.2  # ... when they are at least this share of the rows already stored


class CopyColumns:
    """The columns of a prepared frame, converted once, for binary COPY chunks of any rows."""

    def __init__(self, prepared: gpd.GeoDataFrame, source: str) -> None:
        p = prepared
        self.source = source
        self.text = [copybin.arrow_text(p[c]) for c in ("source_id", "name", "address")]
        floors = p["floors"].array
        self.floors_null = np.asarray(floors.isna())
        self.floors = floors.fillna(0).to_numpy(dtype=np.int64)
        self.height = p["height_m"].to_numpy(dtype=float)
        self.geoms = p.geometry.to_numpy()
        self.props = p.attrs.get("properties")

    def chunk(self, idx: np.ndarray) -> bytes:
        """Binary COPY rows (``COPY_COLUMNS``) of these rows."""
        take = pa.array(idx)
        return copybin.rows([
            copybin.constant_text(self.source, len(idx)),
            *(copybin.text(t.take(take)) for t in self.text),
            copybin.int4(self.floors[idx], self.floors_null[idx]),
            copybin.float8(self.height[idx]),
            copybin.multipolygon_4326(self.geoms[idx]),
            copybin.jsonb(copybin.json_objects(
                None if self.props is None else self.props.iloc[idx], len(idx))),
        ])


class CopyRows:
    """Rows of a prepared frame as binary COPY chunks, made on demand (a file-like object for
    ``copy_expert``); a background thread builds the next chunks while the server parses."""

    def __init__(self, prepared: gpd.GeoDataFrame, source: str, rows: np.ndarray,
                 progress: Any = None, chunk_rows: int = COPY_CHUNK_ROWS):
        import queue
        import threading

        self.columns, self.rows = CopyColumns(prepared, source), rows
        self.progress, self.chunk_rows = progress, chunk_rows
        self._q: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            self._q.put((copybin.HEADER, 0))
            for start in range(0, len(self.rows), self.chunk_rows):
                if self._done:
                    return
                idx = self.rows[start:start + self.chunk_rows]
                self._q.put((self.columns.chunk(idx), len(idx)))
            self._q.put((copybin.TRAILER, 0))
        except BaseException as e:  # handed to the reader, which raises it in COPY's thread
            self._error = e
        finally:
            self._q.put((b"", 0))

    def read(self, _size: int = -1) -> bytes:
        """The next chunk (b"" at the end)."""
        data, n = self._q.get()
        if self._error is not None:
            raise self._error
        if self.progress is not None and n:
            self.progress.update(n)
        return data

    readline = read

    def close(self) -> None:
        """Stop the producer (after an error) and wait for it."""
        self._done = True
        while self._thread.is_alive():
            try:
                self._q.get(timeout=0.05)
            except Exception:
                pass
        self._thread.join()


def _copy(cur: Any, table: str, prepared: gpd.GeoDataFrame, source: str, rows: np.ndarray,
          progress: Any) -> None:
    """COPY the given rows of a prepared frame into ``table``."""
    if not len(rows):
        return
    stmt = psql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        psql.Identifier(table), psql.SQL(", ").join(map(psql.Identifier, COPY_COLUMNS)))
    reader = CopyRows(prepared, source, rows, progress)
    try:
        cur.copy_expert(stmt, reader, size=1 << 20)
    finally:
        reader.close()


def _split_stored(cur: Any, prepared: gpd.GeoDataFrame,
                  source: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows whose (source, id) is new, and of those already stored."""
    n = len(prepared)
    cur.execute(q(SQL, "building_keys", PKG).text, {"source": source})
    stored = {r[0] for r in cur.fetchall()}
    ids = prepared["source_id"].to_numpy(dtype=object)
    old = np.fromiter((i in stored for i in ids), dtype=bool, count=n) if stored else \
        np.zeros(n, bool)
    return np.nonzero(~old)[0], np.nonzero(old)[0]


def _update_changed(cur: Any, prepared: gpd.GeoDataFrame, source: str, rows: np.ndarray,
                    bar: Progress) -> int:
    """Stage the stored rows and rewrite only those that changed; how many."""
    bar.stage(f"{len(rows)} rows already stored: comparing")
    cur.execute(q(SQL, "building_stage", PKG).text)
    _copy(cur, "etl_building_stage", prepared, source, rows, bar)
    cur.execute(q(SQL, "building_stage_analyze", PKG).text)
    cur.execute(q(SQL, "building_update_changed", PKG).text)
    updated = cur.rowcount
    cur.execute(q(SQL, "building_stage_drop", PKG).text)
    bar.stage(f"{updated} changed row(s) updated")
    return updated


def _insert_new(cur: Any, prepared: gpd.GeoDataFrame, source: str, rows: np.ndarray,
                commit: bool, bar: Progress) -> None:
    """COPY new rows into ``building``; when they are many compared with the table (and not
    in a preview), its non-unique indexes are dropped first and built again after."""
    cur.execute(q(SQL, "building_rows_estimate", PKG).text)
    have = max(0, int(cur.fetchone()[0] or 0))
    rebuild = (commit and len(rows) >= BULK_REBUILD_MIN_ROWS
               and len(rows) >= BULK_REBUILD_SHARE * have)
    defs: list[tuple[str, str]] = []
    if rebuild:
        cur.execute(q(SQL, "building_rebuildable_indexes", PKG).text)
        defs = cur.fetchall()
        cur.execute(q(SQL, "building_lock_exclusive", PKG).text)
        for name, _ in defs:
            cur.execute(psql.SQL("DROP INDEX {}").format(psql.Identifier(name)))
    _copy(cur, "building", prepared, source, rows, bar)
    bar.stage(f"{len(rows)} new rows copied")
    for name, ddl in defs:
        cur.execute(ddl)
        bar.stage(f"index {name} rebuilt")


def load_frame(engine: Engine, prepared: gpd.GeoDataFrame, source: str, report: Report,
               commit: bool = True, progress: bool | None = None,
               progress_min_rows: int | None = None) -> Report:
    """Upsert prepared rows into ``building`` by (source, source_id) through ``COPY``.

    One bulk writer of ``building`` at a time (SHARE ROW EXCLUSIVE: readers go on). The keys
    already stored for the source split the rows: new ones are COPYed straight into
    ``building``; the others go through a staging table and only the changed ones are updated
    (an unchanged row is not rewritten, its ``loaded_at`` stays). When the new rows are many
    compared with the table, its non-unique indexes (the two GiST) are dropped and built again
    in bulk inside the same transaction, which is much cheaper than inserting row by row
    (not in a preview, which must not lock readers out). A large first load into an empty
    table goes over several connections and is switched in atomically (``etl.swapload``).

    Progress (rows sent, then each later stage) goes to stderr for loads of at least
    ``progress_min_rows`` rows: when ``progress`` is True, or when it is None and stderr is a
    terminal.
    """
    if progress_min_rows is None:
        progress_min_rows = PROGRESS_MIN_ROWS
    bar = Progress(len(prepared), "COPY buildings", progress, progress_min_rows)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(q(SQL, "building_load_settings", PKG).text)
        cur.execute(q(SQL, "building_lock", PKG).text)
        new_rows, old_rows = _split_stored(cur, prepared, source)
        updated = _update_changed(cur, prepared, source, old_rows, bar) if len(old_rows) else 0
        if len(new_rows) and commit and not len(old_rows) and swapload.usable(cur, len(new_rows)):
            swapload.load(engine, cur, prepared, source, new_rows,
                          lambda c, table, rows: _copy(c, table, prepared, source, rows, bar),
                          bar)
        elif len(new_rows):
            _insert_new(cur, prepared, source, new_rows, commit, bar)
        if commit:
            bar.stage("committing")
        report.inserted += len(new_rows)
        report.updated += updated
        report.unchanged += len(old_rows) - updated
        if commit:
            raw.commit()
        else:
            raw.rollback()
        report.committed = commit
    except Exception:
        raw.rollback()
        raise
    finally:
        bar.close()
        raw.close()
    return report


OVERLAP_MIN_SHARE = 0.001  # of the smaller footprint: less is a shared wall drawn twice


class OverlapPair(TypedDict):
    """Two footprints: ``a`` contains or overlaps ``b`` by ``share_of_smaller``."""

    a: str
    b: str
    kind: str
    share_of_smaller: float


class FootprintOverlaps(TypedDict):
    """How many footprint pairs nest or overlap, and the first pairs."""

    contained_pairs: int
    overlapping_pairs: int
    pairs: list[OverlapPair]


class Placed(NamedTuple):
    """Grid and unit code of each point (None when outside)."""

    grids: list[str | None]
    units: list[str | None]


def footprint_overlaps(prepared: gpd.GeoDataFrame, max_pairs: int = 100) -> FootprintOverlaps:
    """Pairs of footprints of the file that lie one inside the other or overlap (by more than
    ``OVERLAP_MIN_SHARE`` of the smaller one), with their ids: counts and the first pairs."""
    geoms = prepared.geometry.to_numpy()
    ids = prepared["source_id"].to_numpy(dtype=object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    m = a < b
    a, b = a[m], b[m]
    area = shapely.area(geoms)
    share = shapely.area(shapely.intersection(geoms[a], geoms[b])) / np.maximum(
        np.minimum(area[a], area[b]), 1e-18)
    sig = share > OVERLAP_MIN_SHARE
    a, b, share = a[sig], b[sig], share[sig]
    inside_b = shapely.covers(geoms[a], geoms[b])
    inside = inside_b | shapely.covers(geoms[b], geoms[a])
    pairs: list[OverlapPair] = []
    for k in np.lexsort((b, a))[:max_pairs]:
        outer, inner = (a[k], b[k]) if inside_b[k] or not inside[k] else (b[k], a[k])
        pairs.append({"a": str(ids[outer]), "b": str(ids[inner]),
                      "kind": "contains" if inside[k] else "overlaps",
                      "share_of_smaller": round(float(min(share[k], 1.0)), 4)})
    return {"contained_pairs": int(inside.sum()), "overlapping_pairs": int((~inside).sum()),
            "pairs": pairs}


def place(engine: Engine, lon: np.ndarray, lat: np.ndarray) -> Placed:
    """Grid and unit code of each WGS84 point in the active generation (None when outside)."""
    from gis.territory.locator import Locator

    snap = Locator(engine).refresh(force=True)
    if not snap.grid_codes:
        return Placed([None] * len(lon), [None] * len(lon))
    g, u, _d = snap.locate_many(np.asarray(lon), np.asarray(lat), with_outside=False)
    grids = [snap.grid_codes[i] if i >= 0 else None for i in g.tolist()]
    units = [snap.unit_codes[i] if i >= 0 else None for i in u.tolist()]
    return Placed(grids, units)


def load_file(engine: Engine, path: str | Path, *, source: str | None = None,
              crs: str | None = None, id_field: str | None = None, layer: str | None = None,
              geometry_field: str | None = None, repair: bool = False, commit: bool = False,
              placement_file: str | Path | None = None, progress: bool | None = None,
              progress_min_rows: int | None = None, encoding: str | None = None) -> Report:
    """Read, validate, bulk-load (preview unless ``commit``) and place a building file."""
    t0 = time.perf_counter()
    p = Path(path)
    src = source or re.sub(r"(\.osm)?\.[^.]+$", "", p.name)
    report = Report(kind="buildings", file=str(p), source=src)
    gdf = read_buildings(p, layer=layer, geometry_field=geometry_field, encoding=encoding)
    report.notes += gdf.attrs.get("notes", [])
    report.encoding = gdf.attrs.get("encoding")
    prepared = prepare(gdf, report, crs=crs, id_field=id_field, repair=repair, name=p.name)
    if len(prepared):
        report.footprints = footprint_overlaps(prepared)
        if report.footprints["contained_pairs"] or report.footprints["overlapping_pairs"]:
            report.notes.append(
                f"{report.footprints['contained_pairs']} pair(s) of footprints lie one inside "
                f"the other and {report.footprints['overlapping_pairs']} overlap (listed under "
                "footprints); they are loaded, and unit drawing still keeps 1-3 per unit")
        load_frame(engine, prepared, src, report, commit=commit, progress=progress,
                   progress_min_rows=progress_min_rows)
        if progress_on(len(prepared), progress, PROGRESS_MIN_ROWS if progress_min_rows is None
                       else progress_min_rows):
            print(f"buildings: placing {len(prepared)} buildings in grids and units",
                  file=sys.stderr, flush=True)
        pts = shapely.point_on_surface(prepared.geometry.to_numpy())
        grids, units = place(engine, shapely.get_x(pts), shapely.get_y(pts))
        summarise_placement(report, prepared, grids, units, placement_file)
    report.committed = commit
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    log.info("buildings %s: read %d, inserted %d, updated %d, unchanged %d, rejected %d",
             p.name, report.rows_read, report.inserted, report.updated, report.unchanged,
             report.rejected)
    return report


def summarise_placement(report: Report, prepared: gpd.GeoDataFrame, grids: list, units: list,
                        placement_file: str | Path | None) -> None:
    """Per-grid counts, buildings outside every grid, optional per-building CSV."""
    per_grid: dict[str, int] = {}
    outside = []
    no_unit = 0
    for i, (g, u) in enumerate(zip(grids, units, strict=True)):
        if g is None:
            outside.append(str(prepared["source_id"].iloc[i]))
        else:
            per_grid[g] = per_grid.get(g, 0) + 1
            no_unit += u is None
    report.placement = {
        "in_grid": len(grids) - len(outside),
        "outside_every_grid": len(outside),
        "outside_ids": outside[:20],
        "in_grid_without_unit": no_unit,
        "grids": len(per_grid),
        "per_grid": dict(sorted(per_grid.items())[:50]),
    }
    if placement_file:
        pd.DataFrame({"row": prepared["row"].to_numpy(),
                      "source_id": prepared["source_id"].to_numpy(),
                      "grid": grids, "unit": units,
                      "status": ["outside" if g is None else "inside" for g in grids]}
                     ).to_csv(placement_file, index=False)
        report.placement["file"] = str(placement_file)
