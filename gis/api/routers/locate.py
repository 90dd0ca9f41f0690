"""/api/v1/locate: where a point is and who answers for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from gis.api import deps
from gis.api.answers import LocationAnswer
from gis.territory.locate import Place, locate_place
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1", tags=["locate"])


@router.get("/locate", response_model=LocationAnswer,
            summary="Locate a point (or a building / address)")
def locate(
    lon: Annotated[float | None, Query(description="Longitude in the datum named by crs")] = None,
    lat: Annotated[float | None, Query(description="Latitude in the datum named by crs")] = None,
    crs: Annotated[str, Query(description="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
    building_id: str | None = None,
    address: str | None = None,
    locator: Locator = Depends(deps.locator),
) -> dict[str, Any]:
    """Same object as ``wangge locate``: lon, lat (WGS84), status, grid, unit, ... worker."""
    place = Place(lon, lat, crs, building_id, address)
    return locate_place(locator, place).to_dict()
