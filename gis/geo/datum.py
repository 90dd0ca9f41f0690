"""Datum conversion between WGS84, CGCS2000, GCJ-02 and BD-09 for Chinese coordinates.

Conventions follow the reference implementation gcoord 1.0.7 (npm, MIT):

* GCJ-02 ("Mars coordinates") is WGS84 plus a deliberately obfuscating offset of a few
  hundred metres, computed with the widely published formulas (Krasovsky ellipsoid
  a = 6378245.0, ee = 0.00669342162296594323).  The offset is only applied inside China's
  rough bounding box (lon 72.004..137.8347, lat 0.8293..55.8271); outside it GCJ-02 == WGS84.
* BD-09 (Baidu) is a further rotation/scale of GCJ-02 with x_pi = pi * 3000 / 180, applied
  everywhere (no bounding-box test).
* CGCS2000 (EPSG:4490) is treated as identical to WGS84 (EPSG:4326): the two realisations
  agree to within a few centimetres, far below the accuracy of any GCJ-02/BD-09 data.

The inverses GCJ-02 -> WGS84 and BD-09 -> GCJ-02 have no closed form; they are solved by
fixed-point iteration to better than 1e-10 degrees (well under 1 cm).  Note gcoord's own
BD-09 -> GCJ-02 is the one-step closed form, off by up to ~15 cm; here it only seeds the
iteration, so bd09_to_gcj02 exactly inverts gcj02_to_bd09.  Every conversion
accepts floats or numpy arrays: float input gives a tuple of floats, array input a tuple of
arrays of the same shape.
"""

from __future__ import annotations

from enum import StrEnum
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Datum",
    "UnknownDatumError",
    "parse_datum",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "haversine_m",
    "in_china_bbox",
]

FloatArray = NDArray[np.float64]

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's rotation constant.
_X_PI = np.pi * 3000.0 / 180.0
# China's rough bounding box (gcoord's isInChinaBbox).
_MIN_LON, _MAX_LON = 72.004, 137.8347
_MIN_LAT, _MAX_LAT = 0.8293, 55.8271
# Iteration controls for the inverses.
_TOL_DEG = 1e-10
_MAX_ITER = 30
# Mean Earth radius (IUGG) for great-circle distances.
EARTH_RADIUS_M = 6371008.8


class Datum(StrEnum):
    """Geodetic datum / coordinate convention of a lon/lat pair."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"
    CGCS2000 = "cgcs2000"


class UnknownDatumError(ValueError):
    """Raised when a datum name is not recognised."""


_ALIASES: dict[str, Datum] = {
    "wgs84": Datum.WGS84,
    "wgs-84": Datum.WGS84,
    "wgs_84": Datum.WGS84,
    "epsg:4326": Datum.WGS84,
    "4326": Datum.WGS84,
    "gcj02": Datum.GCJ02,
    "gcj-02": Datum.GCJ02,
    "gcj_02": Datum.GCJ02,
    "bd09": Datum.BD09,
    "bd-09": Datum.BD09,
    "bd_09": Datum.BD09,
    "cgcs2000": Datum.CGCS2000,
    "cgcs-2000": Datum.CGCS2000,
    "epsg:4490": Datum.CGCS2000,
    "4490": Datum.CGCS2000,
}


def parse_datum(name: str | Datum) -> Datum:
    """Return the Datum for a case-insensitive name or alias, else raise UnknownDatumError."""
    if isinstance(name, Datum):
        return name
    key = str(name).strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        accepted = ", ".join(sorted(_ALIASES))
        raise UnknownDatumError(
            f"unknown datum {name!r}; accepted names (case-insensitive): {accepted}"
        ) from None


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray, bool]:
    """Convert inputs to (at least 1-d) float64 arrays of a common shape; flag scalar input."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.array(x, dtype=np.float64, ndmin=1), np.array(y, dtype=np.float64, ndmin=1), scalar


def _finish(x: FloatArray, y: FloatArray, scalar: bool) -> tuple:
    """Return plain floats for scalar input, arrays otherwise."""
    if scalar:
        return float(x[0]), float(y[0])
    return x, y


def in_china_bbox(lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]:
    """Return whether points lie in gcoord's rough China bounding box (where GCJ-02 applies)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    inside = (x >= _MIN_LON) & (x <= _MAX_LON) & (y >= _MIN_LAT) & (y <= _MAX_LAT)
    return bool(inside) if inside.ndim == 0 else inside


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the unmasked GCJ-02 offset (dlon, dlat) in degrees at WGS84 points."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0

    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    t_lat += common
    t_lat += (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0

    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    t_lon += common
    t_lon += (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0

    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlon = t_lon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    dlat = t_lat * 180.0 / (_A * (1.0 - _EE) / (magic * sqrt_magic) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply the GCJ-02 offset inside the China bounding box, identity outside."""
    inside = in_china_bbox(lon, lat)
    dlon, dlat = _gcj_offset(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj_to_wgs(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert the GCJ-02 offset by fixed-point iteration (identity outside the bounding box)."""
    wlon = np.array(lon, dtype=np.float64)
    wlat = np.array(lat, dtype=np.float64)
    active = np.array(in_china_bbox(lon, lat), dtype=bool)
    for _ in range(_MAX_ITER):
        if not active.any():
            break
        dlon, dlat = _gcj_offset(wlon[active], wlat[active])
        new_lon = lon[active] - dlon
        new_lat = lat[active] - dlat
        change = np.maximum(np.abs(new_lon - wlon[active]), np.abs(new_lat - wlat[active]))
        wlon[active] = new_lon
        wlat[active] = new_lat
        active[active] = change >= _TOL_DEG
    return wlon, wlat


def _gcj_to_bd(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply Baidu's BD-09 rotation/scale to GCJ-02 coordinates."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert BD-09 to GCJ-02: the usual closed-form guess refined by fixed-point iteration."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon = np.array(z * np.cos(theta), dtype=np.float64)
    glat = np.array(z * np.sin(theta), dtype=np.float64)
    active = np.ones(glon.shape, dtype=bool)
    for _ in range(_MAX_ITER):
        if not active.any():
            break
        blon, blat = _gcj_to_bd(glon[active], glat[active])
        dlon = blon - lon[active]
        dlat = blat - lat[active]
        glon[active] -= dlon
        glat[active] -= dlat
        active[active] = np.maximum(np.abs(dlon), np.abs(dlat)) >= _TOL_DEG
    return glon, glat


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 lon/lat to GCJ-02 (unchanged outside China's bounding box)."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_wgs_to_gcj(x, y), scalar)


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(lon, lat):
    """Convert GCJ-02 lon/lat to WGS84 by iterative inversion (sub-centimetre)."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_wgs(x, y), scalar)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 lon/lat to BD-09."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_bd(x, y), scalar)


@overload
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(lon, lat):
    """Convert BD-09 lon/lat to GCJ-02 (exact inverse of gcj02_to_bd09)."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_bd_to_gcj(x, y), scalar)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon, lat):
    """Convert WGS84 lon/lat to BD-09 via GCJ-02."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_bd(*_wgs_to_gcj(x, y)), scalar)


@overload
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(lon, lat):
    """Convert BD-09 lon/lat to WGS84 via GCJ-02 (both steps inverted iteratively)."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_wgs(*_bd_to_gcj(x, y)), scalar)


def _identity(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the coordinates unchanged (WGS84 and CGCS2000)."""
    return lon, lat


def _bd_to_wgs(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 arrays to WGS84 arrays."""
    return _gcj_to_wgs(*_bd_to_gcj(lon, lat))


def _wgs_to_bd(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 arrays to BD-09 arrays."""
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


_TO_WGS = {
    Datum.WGS84: _identity,
    Datum.CGCS2000: _identity,
    Datum.GCJ02: _gcj_to_wgs,
    Datum.BD09: _bd_to_wgs,
}
_FROM_WGS = {
    Datum.WGS84: _identity,
    Datum.CGCS2000: _identity,
    Datum.GCJ02: _wgs_to_gcj,
    Datum.BD09: _wgs_to_bd,
}


@overload
def to_wgs84(lon: float, lat: float, datum: str | Datum) -> tuple[float, float]: ...
@overload
def to_wgs84(
    lon: ArrayLike, lat: ArrayLike, datum: str | Datum
) -> tuple[FloatArray, FloatArray]: ...
def to_wgs84(lon, lat, datum):
    """Convert lon/lat given in ``datum`` to WGS84 (CGCS2000 is taken as WGS84)."""
    func = _TO_WGS[parse_datum(datum)]
    x, y, scalar = _prepare(lon, lat)
    return _finish(*func(x, y), scalar)


@overload
def from_wgs84(lon: float, lat: float, datum: str | Datum) -> tuple[float, float]: ...
@overload
def from_wgs84(
    lon: ArrayLike, lat: ArrayLike, datum: str | Datum
) -> tuple[FloatArray, FloatArray]: ...
def from_wgs84(lon, lat, datum):
    """Convert WGS84 lon/lat to ``datum`` (CGCS2000 is taken as WGS84)."""
    func = _FROM_WGS[parse_datum(datum)]
    x, y, scalar = _prepare(lon, lat)
    return _finish(*func(x, y), scalar)


@overload
def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float: ...
@overload
def haversine_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> FloatArray: ...
def haversine_m(lon1, lat1, lon2, lat2):
    """Return the great-circle distance in metres between lon/lat points (spherical Earth)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d
