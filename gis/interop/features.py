"""Reading a collection's features: one composed query for items, counts and single items."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import Engine, Select, Text, and_, cast, column, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from gis.db.queries import q
from gis.errors import NotFound
from gis.interop import cql
from gis.interop.collections import Collection
from gis.interop.crs import DEFAULT, ServedCrs

PKG = "gis.interop.sql"
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class ItemsQuery:
    """What an items request asks for (parsed and checked by the API's parameters)."""

    limit: int = 100
    offset: int = 0
    crs: ServedCrs = DEFAULT
    bbox: BBox | None = None
    bbox_crs: ServedCrs = DEFAULT
    interval: tuple[datetime | None, datetime | None] | None = None
    filter: str | None = None  # CQL2 text
    equals: dict[str, str] = field(default_factory=dict)  # queryables as query parameters
    generation: int | None = None


@dataclass(frozen=True)
class Scope:
    """The caller's read scope (gis.access.auth.read_scope): area prefixes and department."""

    prefixes: Sequence[str] | None
    department: str | None


@dataclass(frozen=True)
class FeaturePage:
    """One page of features and how many match in all."""

    features: list[dict[str, Any]]
    number_matched: int


def _base(coll: Collection):
    """The collection's named SELECT as a subquery with typed columns."""
    cols = [column("fid"), column("geom", Geometry(srid=4326)), column("dt")]
    cols += [column(p) for p in coll.properties]
    return q("features.sql", coll.id, PKG).columns(*cols).subquery("f")


def _binds(coll: Collection, query: ItemsQuery, scope: Scope) -> dict[str, Any]:
    """The bound parameters the collection's SELECT takes."""
    if coll.scoped:
        return {"scope_prefixes": None if scope.prefixes is None else list(scope.prefixes),
                "scope_department": scope.department}
    return {"generation": query.generation} if coll.generational else {}


def _bbox_clause(f, bbox: BBox, crs: ServedCrs) -> ColumnElement:
    """Features intersecting ``bbox`` given in ``crs`` (latitude first for EPSG:4326/4490)."""
    x1, y1, x2, y2 = (bbox[1], bbox[0], bbox[3], bbox[2]) if crs.lat_first else bbox
    env = func.ST_MakeEnvelope(x1, y1, x2, y2, crs.srid)
    if crs.srid != 4326:
        env = func.ST_Transform(env, 4326)
    return func.ST_Intersects(f.c.geom, env)


def _where(coll: Collection, f, query: ItemsQuery) -> ColumnElement:
    """Every filter of the request, AND-ed (bound parameters only)."""
    parts: list[ColumnElement] = [true()]
    if query.bbox is not None:
        parts.append(_bbox_clause(f, query.bbox, query.bbox_crs))
    if query.interval is not None and coll.temporal:
        start, end = query.interval
        if start is not None:
            parts.append(f.c.dt >= start)
        if end is not None:
            parts.append(f.c.dt <= end)
    for name, value in query.equals.items():
        parts.append(cast(f.c[name], Text) == value)
    if query.filter:
        parts.append(cql.to_clause(query.filter, coll, f))
    return and_(*parts)


def _geojson(f, crs: ServedCrs) -> ColumnElement:
    """The feature's geometry as GeoJSON text in ``crs`` (axis order of the CRS)."""
    g = func.ST_Force2D(f.c.geom)
    if crs.srid != 4326:
        g = func.ST_Transform(g, crs.srid)
    if crs.lat_first:
        g = func.ST_FlipCoordinates(g)
    return func.ST_AsGeoJSON(g, 2 if crs.srid == 3857 else 8)


def _select(coll: Collection, query: ItemsQuery) -> tuple[Select, Any]:
    """The feature SELECT (without paging) and its subquery."""
    f = _base(coll)
    cols = [f.c.fid, _geojson(f, query.crs).label("geojson"),
            *(f.c[p] for p in coll.properties)]
    return select(*cols).where(_where(coll, f, query)), f


def _value(v: Any) -> Any:
    """A property value as JSON (times in ISO 8601 with their zone)."""
    return v.isoformat() if isinstance(v, datetime | date) else v


def _feature(coll: Collection, row: Any) -> dict[str, Any]:
    """One GeoJSON feature from a result row."""
    m = row._mapping
    return {"type": "Feature", "id": m["fid"],
            "geometry": json.loads(m["geojson"]) if m["geojson"] else None,
            "properties": {p: _value(m[p]) for p in coll.properties}}


def items(engine: Engine, coll: Collection, query: ItemsQuery, scope: Scope) -> FeaturePage:
    """A page of the collection's features matching ``query`` and the number matched."""
    stmt, f = _select(coll, query)
    binds = _binds(coll, query, scope)
    page = stmt.order_by(f.c.fid).limit(query.limit).offset(query.offset)
    count = select(func.count()).select_from(stmt.subquery())
    with engine.connect() as conn:
        rows = conn.execute(page, binds).all()
        matched = conn.execute(count, binds).scalar_one()
    return FeaturePage([_feature(coll, r) for r in rows], matched)


def item(engine: Engine, coll: Collection, fid: str, query: ItemsQuery,
         scope: Scope) -> dict[str, Any]:
    """One feature by id; absent or outside the caller's area → NotFound."""
    stmt, f = _select(coll, query)
    with engine.connect() as conn:
        row = conn.execute(stmt.where(f.c.fid == fid), _binds(coll, query, scope)).first()
    if row is None:
        raise NotFound(f"{coll.id} 中没有要素 {fid!r} (no such feature)", code="not_found")
    return _feature(coll, row)


def district_extent(engine: Engine) -> list[float] | None:
    """The active district's bounding box in CRS84 (the spatial extent of every collection)."""
    with engine.connect() as conn:
        row = conn.execute(q("features_meta.sql", "district_extent", PKG)).first()
    return None if row is None or row[0] is None else [float(v) for v in row]
