"""Export a generation as GeoJSON with the properties the importer reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import shapely
from sqlalchemy import Connection

from gis.db.queries import q
from gis.errors import NotFound
from gis.territory import activation, generations

SQL = "boundaries.sql"
PKG = "boundaries.sql"


class BoundaryProps(TypedDict):
    """Properties of an exported boundary (``kind`` only for grids that have one)."""

    code: str
    name: str | None
    parent_code: str | None
    level: str
    kind: NotRequired[str]


class BoundaryFeature(TypedDict):
    """One exported boundary as a GeoJSON Feature."""

    type: str
    properties: BoundaryProps
    geometry: dict[str, Any]


class BoundaryGeoJSON(TypedDict):
    """A generation's boundaries as a GeoJSON FeatureCollection."""

    type: str
    name: str
    generation: int
    status: str
    features: list[BoundaryFeature]


def feature_collection(conn: Connection, generation: int | None = None) -> BoundaryGeoJSON:
    """All boundaries of a generation (default: the active one) as a FeatureCollection."""
    if generation is None:
        generation = generations.active_generation(conn)
        if generation is None:
            raise NotFound("no generation is active", code="no_generation")
    status = activation.generation_status(conn, generation)
    if status is None:
        raise NotFound(f"no generation {generation}", code="generation_not_found")
    rows = conn.execute(q(SQL, "export", PKG), {"g": generation}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    feats: list[BoundaryFeature] = []
    for r, g in zip(rows, geoms, strict=True):
        props = BoundaryProps(code=r.code, name=r.name, parent_code=r.parent_code, level=r.level)
        if r.kind is not None:
            props["kind"] = r.kind
        feats.append({"type": "Feature", "properties": props,
                      "geometry": shapely.geometry.mapping(g)})
    return {"type": "FeatureCollection", "name": f"wangge generation {generation}",
            "generation": generation, "status": status, "features": feats}


def write(conn: Connection, out: str | Path, generation: int | None = None) -> int:
    """Write a generation to ``out``; returns the number of features."""
    fc = feature_collection(conn, generation)
    Path(out).write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")),
                         encoding="utf-8")
    return len(fc["features"])
