"""Locate by anything: a point in its datum, a building, or an address — one answer for all.

The API (``GET /api/v1/locate``), the command line (``wangge locate``) and intake
(``POST /api/v1/events``) all ask :func:`locate_place`. It answers a :class:`Location`, or
raises :class:`~gis.territory.locator.PlaceNotFound` (``unknown_building`` /
``unknown_address``) when the building or address names no single building, or
:class:`NothingToLocate` when nothing to locate by was given. What a caller does with those
errors is its own policy: intake stores a report with an unknown address, or with nothing
to locate by, as ``unassigned`` (a report is never lost); the others answer the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gis.errors import InvalidInput
from gis.territory.locator import Location, Locator, PlaceNotFound

__all__ = ["NothingToLocate", "Place", "PlaceNotFound", "locate_place"]


class NothingToLocate(InvalidInput):
    """Neither lon and lat, nor a building id, nor an address was given."""

    def __init__(self, prefix: str = "") -> None:
        reason = "give lon and lat, or building_id, or address"
        super().__init__(f"{prefix}lon: {reason}", code="missing_coordinate",
                         details=[{"field": prefix + "lon", "reason": reason}])


def _given(value: object) -> bool:
    """A value counts as given unless it is None or the empty string."""
    return value is not None and str(value) != ""


@dataclass(frozen=True)
class Place:
    """What to locate by: lon and lat in the datum ``crs``, else a building id, else an address."""

    lon: float | None = None
    lat: float | None = None
    crs: str | None = "wgs84"
    building_id: int | str | None = None
    address: str | None = None

    @property
    def method(self) -> str:
        """How this place is located: point, building, address, or none."""
        if self.lon is not None or self.lat is not None:
            return "point"
        if _given(self.building_id):
            return "building"
        if _given(self.address):
            return "address"
        return "none"


def locate_place(locator: Locator, place: Place, at: datetime | None = None,
                 prefix: str = "") -> Location:
    """Locate a point, a building or an address; errors name ``prefix`` + the field."""
    method = place.method
    if method == "point":
        if place.lon is None or place.lat is None:
            missing = "lat" if place.lat is None else "lon"
            raise InvalidInput.field(prefix + missing, "lon and lat must be given together",
                                     "missing_coordinate")
        return locator.locate(place.lon, place.lat, place.crs, at=at, prefix=prefix)
    if method == "building":
        assert place.building_id is not None
        return locator.locate_building(place.building_id, at=at, prefix=prefix)
    if method == "address":
        assert place.address is not None
        loc = locator.locate_address(place.address, at=at, prefix=prefix)
        if loc is None:
            raise PlaceNotFound.address(prefix)
        return loc
    raise NothingToLocate(prefix)
