"""Response models of OGC API – Features (landing page, conformance, collections, features)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gis.api.answers import Answer, Geometry


class Link(Answer):
    """A link with its relation and media type."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(Answer):
    """The landing page: what the service is and where its parts are."""

    title: str
    description: str
    links: list[Link]


class Conformance(Answer):
    """The conformance classes the service implements."""

    conformsTo: list[str]


class Extent(Answer):
    """Spatial (CRS84 bbox) and temporal extent of a collection."""

    spatial: dict[str, Any]
    temporal: dict[str, Any] | None = None


class CollectionInfo(Answer):
    """One collection's description."""

    id: str
    title: str
    description: str
    itemType: str = "feature"
    crs: list[str]
    storageCrs: str
    extent: Extent | None = None
    links: list[Link]


class Collections(Answer):
    """Every collection."""

    links: list[Link]
    collections: list[CollectionInfo]


class Feature(Answer):
    """A GeoJSON feature."""

    type: str = "Feature"
    id: str | int
    geometry: Geometry | None
    properties: dict[str, Any]
    links: list[Link] | None = None


class FeatureCollection(Answer):
    """A page of GeoJSON features with paging links and counts."""

    type: str = "FeatureCollection"
    features: list[Feature]
    links: list[Link]
    numberMatched: int
    numberReturned: int
    timeStamp: str


class Queryables(Answer):
    """The queryable properties as a JSON Schema."""

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: str = "object"
    title: str
    properties: dict[str, Any]
    additionalProperties: bool = False
