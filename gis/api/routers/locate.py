"""/api/v1/locate: where a point is and who answers for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from gis.api import deps
from gis.errors import InvalidInput
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1", tags=["locate"])


@router.get("/locate", summary="Locate a point (or a building / address)")
def locate(
    lon: Annotated[float | None, Query(description="Longitude in the datum named by crs")] = None,
    lat: Annotated[float | None, Query(description="Latitude in the datum named by crs")] = None,
    crs: Annotated[str, Query(description="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
    building_id: str | None = None,
    address: str | None = None,
    locator: Locator = Depends(deps.locator),
) -> dict[str, Any]:
    """Same object as ``wangge locate``: lon, lat (WGS84), status, grid, unit, ... worker."""
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            missing = "lat" if lat is None else "lon"
            raise InvalidInput.field(missing, "lon and lat must be given together",
                                     "missing_coordinate")
        return locator.locate(lon, lat, crs).to_dict()
    if building_id:
        return locator.locate_building(building_id).to_dict()
    if address:
        loc = locator.locate_address(address)
        if loc is None:
            raise InvalidInput.field("address", "no single building has this address",
                                     "unknown_address")
        return loc.to_dict()
    raise InvalidInput.field("lon", "give lon and lat, or building_id, or address",
                             "missing_coordinate")
