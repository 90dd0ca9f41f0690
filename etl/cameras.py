"""Cameras (雪亮工程 video points) from CSV or GeoJSON, and the cameras near a point."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pandas as pd
from sqlalchemy import Engine

from etl.common import EtlError, Report, copy_frame, file_error, find_column, read_csv_text
from gis.db.queries import q
from gis.geo.crs import resolve
from gis.geo.datum import Datum, UnknownDatumError, to_wgs84
from gis.territory.locator import M_PER_DEG, check_coordinates, datum_or_error

KINDS = ("fixed", "ptz", "dome", "ai", "other")
KIND_ALIASES = {"bullet": "fixed", "枪机": "fixed", "球机": "ptz", "半球": "dome",
                "智能": "ai", "ai": "ai", "camera": "fixed", "": "fixed"}
STATUSES = ("online", "offline", "fault", "unknown")
STATUS_ALIASES = {"在线": "online", "离线": "offline", "故障": "fault", "": "online",
                  "ok": "online"}
REQUIRED = ("code", "lon", "lat")


def read_cameras(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Rows of a camera CSV or GeoJSON (Point features) as strings, with lon and lat columns
    (a CSV's encoding in ``attrs["encoding"]``)."""
    p = Path(path)
    if not p.exists():
        raise file_error(f"{p}: no such file", "no_such_file")
    if p.stat().st_size == 0:
        raise file_error(f"{p.name}: the file is empty (0 bytes)", "empty_file")
    if p.suffix.lower() in (".geojson", ".json", ".gpkg"):
        import pyogrio

        from etl.buildings import pick_layer

        try:
            gdf = pyogrio.read_dataframe(p, layer=pick_layer(p, None))
        except EtlError:
            raise  # several layers: refused, listing them
        except Exception as e:
            raise file_error(f"{p.name}: cannot read the file ({str(e).splitlines()[0][:200]});"
                             " it may be truncated or not GeoJSON", "unreadable_file") from None
        declared = resolve(gdf.crs) if gdf.crs is not None else None
        if declared is not None and not declared.is_wgs84:  # e.g. a projected CRS
            gdf = gdf.set_geometry(declared.geometries(gdf.geometry.to_numpy()), crs=4326)
        geom = gdf.geometry
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
        kinds = geom.geom_type.to_numpy()
        df["lon"] = [g.x if k == "Point" else None for g, k in zip(geom, kinds, strict=True)]
        df["lat"] = [g.y if k == "Point" else None for g, k in zip(geom, kinds, strict=True)]
        df["_geom_type"] = kinds
        return df
    df, used = read_csv_text(p, encoding)
    df.attrs["encoding"] = used
    return df


def _float(v: Any) -> float | None:
    """A float from a cell, None when blank; ValueError when not a number."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return None if s == "" else float(s)


# Each field's column: its own name, else one of these (tried in this order).
FIELDS = ("code", "name", "lon", "lat", "type", "direction", "status", "datum")
FIELD_ALIASES = {"type": ("kind",), "lon": ("lng", "longitude", "x"), "lat": ("latitude", "y"),
                 "code": ("id", "camera_code")}
COLUMNS = ["row", "code", "name", "kind", "direction_deg", "status", "lon", "lat", "datum",
           "properties"]
Columns = dict[str, str | None]  # field -> the file's column (None: absent)


class _Rejected(Exception):
    """One camera row refused: the field, the reject code and why."""

    def __init__(self, field: str, code: str, why: str) -> None:
        """Keep the three parts of the reject."""
        super().__init__(why)
        self.field, self.code, self.why = field, code, why


def _columns(df: pd.DataFrame) -> Columns:
    """The column of each field (by name, then alias); a file error when a required one lacks."""
    cols = [c for c in df.columns if not c.startswith("_")]
    found = {k: find_column(cols, None, (k,), k) for k in FIELDS}
    for k, names in FIELD_ALIASES.items():
        found[k] = found[k] or find_column(cols, None, names, k)
    missing = [k for k in REQUIRED if found[k] is None]
    if missing:
        raise file_error(f"missing column(s) {', '.join(missing)}; the file's columns are: "
                         + ", ".join(repr(c) for c in cols), "unknown_column", missing[0])
    return found


def _check_code(code: str, seen: dict[str, int]) -> None:
    """A camera code must be given and not repeat an accepted row's."""
    if not code:
        raise _Rejected("code", "missing_id", "the camera code is empty")
    if code in seen:
        raise _Rejected("code", "duplicate_id",
                        f"duplicate code {code!r} (first at row {seen[code]})")


def _coordinates(rec: dict[str, Any], found: Columns) -> tuple[float, float]:
    """The row's point as given (a Point geometry or lon/lat numbers in range)."""
    if rec.get("_geom_type") not in (None, "Point"):
        raise _Rejected("geometry", "not_a_point", f"expected a Point, got {rec.get('_geom_type')}")
    try:
        lon, lat = _float(rec.get(found["lon"])), _float(rec.get(found["lat"]))
    except ValueError:
        raise _Rejected("lon/lat", "not_a_number", f"lon/lat must be numbers, got "
                        f"{rec.get(found['lon'])!r}, {rec.get(found['lat'])!r}") from None
    if lon is None or lat is None:
        raise _Rejected("lon" if lon is None else "lat", "missing_geometry", "no coordinates")
    try:
        check_coordinates(lon, lat)
    except Exception as e:  # InvalidInput with the field
        raise _Rejected(e.details[0]["field"] if getattr(e, "details", None) else "lon",
                        "out_of_range", str(getattr(e, "message", e))) from None
    return lon, lat


def _datum(rec: dict[str, Any], column: str | None, default: Datum) -> Datum:
    """The row's own datum when its datum column names one, else the file's."""
    if not (column and str(rec.get(column) or "").strip()):
        return default
    try:
        return resolve(str(rec[column]), points=True).datum
    except UnknownDatumError as e:
        raise _Rejected("datum", "unknown_datum", str(e).split(";")[0]) from None


def _choice(rec: dict[str, Any], column: str | None, field: str, allowed: tuple[str, ...],
            aliases: dict[str, str], code: str) -> str:
    """A type or status cell as one of ``allowed`` (blank and known aliases mapped)."""
    raw = str(rec.get(column) or "").strip().lower() if column else ""
    value = raw if raw in allowed else aliases.get(raw)
    if value is None:
        raise _Rejected(field, code, f"{field} {raw!r} is not one of {', '.join(allowed)}")
    return value


def _direction(rec: dict[str, Any], column: str | None) -> float | None:
    """The viewing direction in degrees, 0..360 (360 is 0); None when not given."""
    try:
        direction = _float(rec.get(column)) if column else None
    except ValueError:
        raise _Rejected("direction", "not_a_number", f"direction must be degrees, got "
                        f"{rec.get(column)!r}") from None
    if direction is None:
        return None
    if not 0 <= direction <= 360:
        raise _Rejected("direction", "out_of_range", f"direction must be 0..360 degrees, got "
                        f"{direction:g}")
    return direction % 360.0


def _camera(rec: dict[str, Any], found: Columns, default: Datum) -> dict[str, Any]:
    """One valid row's fields in WGS84 (without row, code and properties); _Rejected if not."""
    lon, lat = _coordinates(rec, found)
    datum = _datum(rec, found["datum"], default)
    kind = _choice(rec, found["type"], "type", KINDS, KIND_ALIASES, "bad_type")
    status = _choice(rec, found["status"], "status", STATUSES, STATUS_ALIASES, "bad_status")
    direction = _direction(rec, found["direction"])
    wlon, wlat = to_wgs84(lon, lat, datum)
    name = (str(rec.get(found["name"]) or "").strip() or None) if found["name"] else None
    return {"name": name, "kind": kind, "direction_deg": direction, "status": status,
            "lon": wlon, "lat": wlat, "datum": datum.value}


def _properties(rec: dict[str, Any], used: set[str]) -> str:
    """The row's other non-blank cells as a JSON object."""
    extra = {k: v for k, v in rec.items() if k not in used and not str(k).startswith("_")
             and k not in ("lon", "lat") and v not in (None, "")}
    return pd.Series([extra]).to_json(orient="values")[1:-1]


def prepare(df: pd.DataFrame, report: Report, crs: str | None = None) -> pd.DataFrame:
    """Validate camera rows; returns rows in WGS84 ready to load, rejects in ``report``."""
    report.rows_read = len(df)
    if len(df) == 0:
        raise file_error("the file has no cameras", "empty_file")
    found = _columns(df)
    default = datum_or_error(crs)
    rows = []
    seen: dict[str, int] = {}
    used = {v for v in found.values() if v}
    for i, rec in enumerate(df.to_dict("records"), start=1):
        code = str(rec.get(found["code"]) or "").strip()
        try:
            _check_code(code, seen)
            camera = _camera(rec, found, default)
        except _Rejected as r:
            report.reject(i, code or None, r.field, r.code, r.why)
            continue
        seen[code] = i
        rows.append({"row": i, "code": code, **camera, "properties": _properties(rec, used)})
    return pd.DataFrame(rows, columns=COLUMNS)


def load_file(engine: Engine, path: str | Path, crs: str | None = None,
              commit: bool = False, encoding: str | None = None) -> Report:
    """Validate and upsert cameras by code (preview unless ``commit``); each gets its grid."""
    from etl.buildings import place

    t0 = time.perf_counter()
    report = Report(kind="cameras", file=str(path))
    df = read_cameras(path, encoding)
    report.encoding = df.attrs.get("encoding")
    ok = prepare(df, report, crs)
    report.crs = datum_or_error(crs).value
    if len(ok):
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(q("etl.sql", "camera_stage", "etl.sql").text)
            copy_frame(cur, "etl_camera_stage", ok[["code", "name", "kind", "direction_deg",
                                                    "status", "lon", "lat", "properties"]])
            cur.execute(q("etl.sql", "camera_upsert", "etl.sql").text)
            ins, upd = cur.fetchone()
            report.inserted, report.updated = ins, upd
            report.unchanged = len(ok) - ins - upd
            (raw.commit if commit else raw.rollback)()
        except Exception:
            raw.rollback()
            raise
        finally:
            raw.close()
        grids, _units = place(engine, ok["lon"].to_numpy(), ok["lat"].to_numpy())
        per: dict[str, int] = {}
        for g in grids:
            per[g or "(outside every grid)"] = per.get(g or "(outside every grid)", 0) + 1
        report.placement = {"in_grid": sum(g is not None for g in grids),
                            "outside_every_grid": sum(g is None for g in grids),
                            "per_grid": dict(sorted(per.items())),
                            "cameras": [{"code": c, "grid": g} for c, g in
                                        zip(ok["code"].tolist()[:50], grids[:50], strict=True)]}
    report.committed = commit
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    return report


NEAR_LIMIT = 50
NEAR_MAX_LIMIT = 500


def cameras_near(engine: Engine, lon: float, lat: float, radius_m: float = 300.0,
                 crs: str | None = "wgs84", limit: int = NEAR_LIMIT) -> list[NearCamera]:
    """Cameras within ``radius_m`` of a point, nearest first, with their distance in metres."""
    return cameras_in_range(engine, lon, lat, radius_m, crs, limit)["cameras"]


class NearCamera(TypedDict):
    """A camera in range with its distance (m)."""

    code: str
    name: str | None
    kind: str | None
    status: str | None
    direction_deg: float | None
    lon: float
    lat: float
    distance_m: float
    grid: NotRequired[str | None]  # the grid it is in (set by the API)


class CamerasInRange(TypedDict):
    """The nearest cameras in range, how many are in range and whether the list was cut."""

    count: int
    total: int
    truncated: bool
    limit: int
    cameras: list[NearCamera]


def cameras_in_range(engine: Engine, lon: float, lat: float, radius_m: float = 300.0,
                     crs: str | None = "wgs84", limit: int = NEAR_LIMIT) -> CamerasInRange:
    """The nearest ``limit`` cameras within ``radius_m`` (``cameras``), how many are in range
    in all (``total``) and whether the list was cut (``truncated``)."""
    if not (isinstance(limit, int) and 1 <= limit <= NEAR_MAX_LIMIT):
        from gis.errors import InvalidInput

        raise InvalidInput.field("limit", f"must be 1 to {NEAR_MAX_LIMIT}, got {limit}",
                                 "out_of_range")
    datum = datum_or_error(crs)
    check_coordinates(lon, lat)
    if not (isinstance(radius_m, int | float) and 0 < radius_m <= 50_000):
        from gis.errors import InvalidInput

        raise InvalidInput.field("radius", f"must be between 0 and 50000 metres, got {radius_m}",
                                 "out_of_range")
    wlon, wlat = to_wgs84(float(lon), float(lat), datum)
    deg = radius_m / (M_PER_DEG * max(math.cos(math.radians(wlat)), 1e-6)) * 1.01 + 1e-6
    with engine.connect() as conn:
        rows = conn.execute(q("etl.sql", "cameras_near", "etl.sql"),
                            {"lon": wlon, "lat": wlat, "radius": float(radius_m), "deg": deg,
                             "limit": int(limit)}).all()
    cams = [NearCamera(code=r.code, name=r.name, kind=r.kind, status=r.status,
                       direction_deg=r.direction_deg, lon=r.lon, lat=r.lat,
                       distance_m=round(float(r.distance_m), 2)) for r in rows]
    total = int(rows[0].total_in_range) if rows else 0
    return {"count": len(cams), "total": total, "truncated": total > len(cams),
            "limit": limit, "cameras": cams}


