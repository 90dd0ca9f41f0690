"""The one CRS resolver: what coordinates are in, and how they reach WGS84.

Every input names its coordinates somehow: a point's ``crs`` field (the locator, reports,
patrol tracks, cameras), a file's ``--crs`` option or the CRS the file declares (boundaries,
buildings, cameras). All of them are resolved here, so every place accepts the same spellings:

* a datum name (``wgs84``, ``EPSG:4326``, ``gcj02``, ``bd09``, ``cgcs2000``, ``EPSG:4490`` and
  the other spellings of ``gis.geo.datum``): longitude/latitude. GCJ-02 and BD-09 are a datum
  shift (the offset formulas of ``gis.geo.datum``); WGS84 and CGCS2000 need nothing (they
  agree to centimetres).
* anything else pyproj knows (``EPSG:4547``, ``EPSG:3857``, ``OGC:CRS84``, WKT, a file's
  declared CRS): a geographic CRS on the WGS 84, GRS 1980 or CGCS2000 ellipsoid is taken as
  WGS84 too; any other CRS is transformed by pyproj.

Points (``points=True``) accept datum names only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from gis.geo.datum import Datum, UnknownDatumError, parse_datum, to_wgs84

__all__ = ["Method", "Resolved", "UnknownCrsError", "resolve"]

WGS84_ELLIPSOIDS = ("WGS 84", "GRS 1980", "CGCS2000")
_EPSG = {Datum.WGS84: 4326, Datum.GCJ02: 4326, Datum.BD09: 4326, Datum.CGCS2000: 4490}


class UnknownCrsError(UnknownDatumError):
    """Neither a datum name nor a CRS pyproj knows (the message names the value)."""


class Method(StrEnum):
    """How coordinates in a resolved CRS reach WGS84."""

    NONE = "none"  # already WGS84 longitude/latitude (or CGCS2000, centimetres apart)
    DATUM_SHIFT = "datum_shift"  # GCJ-02 / BD-09: the offset formulas
    PROJ = "proj"  # any other CRS: a pyproj transformation


@dataclass(frozen=True)
class Resolved:
    """A resolved CRS: its label, pyproj CRS, the datum named (if any) and the way to WGS84."""

    label: str  # 'wgs84', 'gcj02', 'EPSG:4326', 'EPSG:4547', 'OGC:CRS84', ...
    crs: CRS = field(repr=False)  # of the coordinates (EPSG:4326 for wgs84 / gcj02 / bd09)
    method: Method
    datum: Datum | None = None  # set when a datum name was given
    _proj: Transformer | None = field(default=None, repr=False, compare=False)

    @property
    def shift(self) -> Datum | None:
        """The datum shift to undo (GCJ-02 / BD-09), else None."""
        return self.datum if self.method is Method.DATUM_SHIFT else None

    @property
    def is_wgs84(self) -> bool:
        """True when coordinates need no change to be WGS84 longitude/latitude."""
        return self.method is Method.NONE

    def to_wgs84(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Coordinates (floats or arrays) in this CRS → WGS84 lon/lat."""
        if self.method is Method.DATUM_SHIFT:
            assert self.datum is not None
            return to_wgs84(x, y, self.datum)
        if self._proj is not None:
            return self._proj.transform(x, y)
        return x, y

    def transform_xy(self, xy: np.ndarray) -> np.ndarray:
        """An (n, 2) coordinate array → WGS84 (the form ``shapely.transform`` calls)."""
        x, y = self.to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def geometries(self, geoms: Sequence[BaseGeometry | None]) -> list[BaseGeometry | None]:
        """Geometries in this CRS → WGS84 (None stays None)."""
        if self.is_wgs84 or not len(geoms):
            return list(geoms)
        return list(shapely.transform(np.asarray(geoms, dtype=object), self.transform_xy))


@cache
def _from_datum(datum: Datum) -> Resolved:
    """A datum name: lon/lat, shifted for GCJ-02 / BD-09 (cached: every point passes here)."""
    shifted = datum in (Datum.GCJ02, Datum.BD09)
    return Resolved(datum.value, CRS.from_epsg(_EPSG[datum]),
                    Method.DATUM_SHIFT if shifted else Method.NONE, datum)


def _from_pyproj(value: str | CRS) -> Resolved:
    """Anything pyproj knows; UnknownCrsError naming the value otherwise (not cached: a
    pyproj Transformer is not shared between threads)."""
    try:
        src = value if isinstance(value, CRS) else CRS.from_user_input(value)
    except Exception as e:
        raise UnknownCrsError(f"unknown CRS {value!r}: {e}") from None
    epsg = src.to_epsg()
    if epsg in (4326, 4490):
        return Resolved(f"EPSG:{epsg}", src, Method.NONE)
    if src.is_geographic and src.ellipsoid and src.ellipsoid.name in WGS84_ELLIPSOIDS:
        return Resolved(src.to_string(), src, Method.NONE)
    tr = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    return Resolved(src.to_string(), src, Method.PROJ, None, tr)


def resolve(value: str | Datum | CRS, *, points: bool = False) -> Resolved:
    """Resolve a datum name, a CRS text or a pyproj CRS (``points``: datum names only).

    Raises UnknownDatumError (points) or UnknownCrsError, both ValueErrors naming the value.
    """
    if not isinstance(value, CRS):
        try:
            return _from_datum(parse_datum(value))
        except UnknownDatumError:
            if points:
                raise
    return _from_pyproj(value)
