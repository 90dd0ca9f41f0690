"""Export a generation as GeoJSON with the properties the importer reads back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from gis.db.queries import q
from gis.errors import NotFound
from gis.territory import activation, generations
from gis.territory.generations import AreaRecord

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
    generation: int | None  # None: a draft not stored as a generation
    status: str
    features: list[BoundaryFeature]


def feature(level: str, code: str, name: str | None, parent_code: str | None,
            kind: str | None, geom: BaseGeometry) -> BoundaryFeature:
    """One boundary as the importer reads it back (``kind`` kept for grids only)."""
    props = BoundaryProps(code=code, name=name, parent_code=parent_code, level=level)
    if kind is not None and level == "grid":
        props["kind"] = kind
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def areas_collection(areas: Iterable[AreaRecord], name: str,
                     status: str = "draft") -> BoundaryGeoJSON:
    """Drawn areas (parents first, not stored) as a boundary file the import takes."""
    return {"type": "FeatureCollection", "name": name, "generation": None, "status": status,
            "features": [feature(a.level, a.code, a.name, a.parent_code, a.kind, a.geom)
                         for a in areas]}


def encode(fc: BoundaryGeoJSON) -> bytes:
    """A boundary file's bytes (UTF-8 GeoJSON, compact)."""
    return json.dumps(fc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
    feats = [feature(r.level, r.code, r.name, r.parent_code, r.kind, g)
             for r, g in zip(rows, geoms, strict=True)]
    return {"type": "FeatureCollection", "name": f"wangge generation {generation}",
            "generation": generation, "status": status, "features": feats}


def write(conn: Connection, out: str | Path, generation: int | None = None) -> int:
    """Write a generation to ``out``; returns the number of features."""
    fc = feature_collection(conn, generation)
    Path(out).write_bytes(encode(fc))
    return len(fc["features"])
