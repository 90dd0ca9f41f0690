"""Events as GeoJSON (RFC 7946): a page of ``GET /api/v1/events`` as a FeatureCollection.

Asked for with ``Accept: application/geo+json`` or ``f=geojson``; the same filters, area
scope and keyset paging as the JSON listing (``next_cursor`` and a ``rel=next`` link).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import Field

from gis.api.answers import Answer
from gis.intake import events

MEDIA_TYPE = "application/geo+json"
FORMATS = ("json", "geojson")


class EventFeature(Answer):
    """One event as a GeoJSON Feature: WGS84 point (null when unlocated), the listing's
    fields (lon and lat too) as properties."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: events.EventRow


class Link(Answer):
    """A link of a page (``self``, ``next``)."""

    href: str
    rel: str
    type: str = MEDIA_TYPE


class EventCollection(Answer):
    """A page of events as a GeoJSON FeatureCollection, newest first."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[EventFeature]
    numberReturned: int = Field(description="Features on this page.")
    next_cursor: int | None = Field(description="Pass back as ``cursor`` for the next page.")
    links: list[Link]


def wants_geojson(f: str | None, accept: str | None) -> bool:
    """True when the caller asked for GeoJSON: ``f=geojson``, else an Accept naming
    application/geo+json (an explicit ``f=json`` wins over the header)."""
    if f is not None:
        return f == "geojson"
    return MEDIA_TYPE in (accept or "").lower()


def feature(row: events.EventRow) -> dict[str, Any]:
    """One listed event → a Feature (coordinates are WGS84 longitude, latitude)."""
    lon, lat = row["lon"], row["lat"]
    geom = {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None
    return {"type": "Feature", "id": row["id"], "geometry": geom,
            "properties": jsonable_encoder(row)}


def collection(rows: Sequence[events.EventRow], next_cursor: int | None, self_href: str,
               next_href: str | None) -> dict[str, Any]:
    """A page of listed events → a FeatureCollection with its links."""
    links = [{"href": self_href, "rel": "self", "type": MEDIA_TYPE}]
    if next_href is not None:
        links.append({"href": next_href, "rel": "next", "type": MEDIA_TYPE})
    return {"type": "FeatureCollection", "features": [feature(r) for r in rows],
            "numberReturned": len(rows), "next_cursor": next_cursor, "links": links}
