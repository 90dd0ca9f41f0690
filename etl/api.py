"""/api/v1/cameras: cameras near a point, for dispatchers checking a report on video."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Engine

from etl.cameras import NEAR_LIMIT, NEAR_MAX_LIMIT, NearCamera, cameras_in_range
from gis.api import deps
from gis.api.answers import Answer
from gis.errors import InvalidInput
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1", tags=["cameras"])


class NearPoint(Answer):
    """The point asked about, as given."""

    lon: float
    lat: float
    crs: str


class Camera(Answer):
    """A camera in range, with its distance and the grid it is in."""

    code: str
    name: str | None
    kind: str | None
    status: str | None
    direction_deg: float | None
    lon: float
    lat: float
    distance_m: float
    grid: str | None


class Cameras(Answer):
    """Cameras within the radius, nearest first (``truncated``: cut at ``limit``)."""

    near: NearPoint
    radius_m: float
    count: int
    total: int = Field(description="cameras in range in all")
    truncated: bool
    limit: int
    cameras: list[Camera]


class NearPointDict(TypedDict):
    """The point asked about, as given."""

    lon: float
    lat: float
    crs: str


class CamerasNear(TypedDict):
    """The body of GET /cameras (the ``Cameras`` shape)."""

    near: NearPointDict
    radius_m: float
    count: int
    total: int
    truncated: bool
    limit: int
    cameras: list[NearCamera]


def _point(near: str) -> tuple[float, float]:
    """Parse 'lon,lat'."""
    parts = near.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidInput.field("near", f"expected 'lon,lat', got {near!r}",
                                 "bad_point") from None


@router.get("/cameras", response_model=Cameras, summary="Cameras near a point, nearest first")
def list_cameras(
    near: Annotated[str, Query(description="lon,lat of the point")],
    radius: Annotated[float, Query(description="metres", gt=0, le=50_000)] = 300.0,
    crs: Annotated[str, Query(description="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
    limit: Annotated[int, Query(ge=1, le=NEAR_MAX_LIMIT, description="most cameras listed, "
                                "nearest first; `total` says how many are in range")
                     ] = NEAR_LIMIT,
    engine: Engine = Depends(deps.engine),
    locator: Locator = Depends(deps.locator),
) -> CamerasNear:
    """Cameras within ``radius`` metres with distance_m and the grid each camera is in.

    ``count`` cameras are listed (at most ``limit``), ``total`` are in range; ``truncated``
    says the list was cut at ``limit``."""
    lon, lat = _point(near)
    found = cameras_in_range(engine, lon, lat, radius, crs, limit)
    snap = locator.snapshot
    for r in found["cameras"]:
        loc = snap.locate_wgs84(r["lon"], r["lat"], max_m=0)
        r["grid"] = loc.grid
    return CamerasNear(near={"lon": lon, "lat": lat, "crs": crs}, radius_m=radius, **found)
