"""Response model of the vector tiles' TileJSON 3.0.0 documents."""

from __future__ import annotations

from gis.api.answers import Answer


class VectorLayer(Answer):
    """One layer inside the tiles: its id, fields (name → type) and zooms."""

    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]


class TileJSON(Answer):
    """A TileJSON 3.0.0 document: where the tiles are, their zooms, bounds and layers."""

    tilejson: str
    name: str
    description: str
    version: str
    scheme: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    center: list[float]
    vector_layers: list[VectorLayer]
