"""The CRSs OGC API – Features serves: their URIs, SRIDs and axis order (OGC API Part 2)."""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import BadQueryParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class ServedCrs:
    """One CRS: its URI, PostGIS SRID, and whether its first axis is latitude (EPSG:4326)."""

    uri: str
    srid: int
    lat_first: bool


SERVED = (
    ServedCrs(CRS84, 4326, False),
    ServedCrs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True),
    ServedCrs("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, True),  # CGCS2000
    ServedCrs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False),
)
BY_URI = {c.uri: c for c in SERVED}
DEFAULT = BY_URI[CRS84]


def crs_param(value: str | None, field: str = "crs") -> ServedCrs:
    """The CRS a ``crs`` / ``bbox-crs`` parameter names (its URI, or a short ``EPSG:n``)."""
    if value is None or value == "":
        return DEFAULT
    v = value.strip().strip("[]")
    if v.upper() in ("CRS84", "OGC:CRS84"):
        v = CRS84
    elif v.upper().startswith("EPSG:"):
        v = "http://www.opengis.net/def/crs/EPSG/0/" + v[5:]
    found = BY_URI.get(v)
    if found is None:
        raise BadQueryParameter.field(
            field, f"不支持的坐标参照系 {value!r} (unsupported CRS); 可用 (supported): "
            + ", ".join(c.uri for c in SERVED), code="invalid_crs")
    return found
