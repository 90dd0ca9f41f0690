"""The caller's own grids as map data (``GET /api/v1/me/grid``) and who the caller is.

A grid worker gets the grids they hold a role in (or their token's grid) with the minimal
units and buildings; a community dispatcher the grids of the community with units and
buildings; a street dispatcher and the district centre the grids alone (``truncated``).
Geometries are WGS84 GeoJSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import Forbidden

SQL = "mygrid.sql"
PKG = "gis.territory.sql"
MAX_BUILDINGS = 5000
# Roles whose area is small enough (a community or less) for units and buildings.
DETAILED = ("grid_worker", "community_dispatcher")
GRID_ROLES = DETAILED + ("street_dispatcher", "district_centre")


class Feature(TypedDict):
    """One GeoJSON Feature: the code (or building id) as ``id``."""

    type: Literal["Feature"]
    id: str | int
    geometry: dict[str, Any]
    properties: dict[str, Any]


class Collection(TypedDict):
    """A GeoJSON FeatureCollection (WGS84)."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class MyGrid(TypedDict):
    """The caller's grids, their minimal units and buildings (empty when ``truncated``)."""

    grids: Annotated[Collection, Field(
        description="properties: code, name, kind, community_code")]
    units: Annotated[Collection, Field(
        description="properties: code, name, grid_code, buildings (count)")]
    buildings: Annotated[Collection, Field(description="properties: id, name, address, floors")]
    truncated: Annotated[bool, Field(description=(
        "true: units and buildings left out (an area larger than a community, or more "
        "buildings than one answer holds)"))]


class WhoAmI(TypedDict):
    """The caller's worker name and grid codes (grid workers; None otherwise)."""

    worker_name: str | None
    grids: list[str] | None


def _collection(rows: list[Any], key: str) -> Collection:
    """Rows with a ``geometry`` as a FeatureCollection, ``key`` as each feature's id."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r[key], "geometry": r["geometry"],
         "properties": {k: v for k, v in r.items() if k != "geometry"}} for r in rows]}


def my_grid(engine: Engine, who: Principal) -> MyGrid:
    """The grids ``who`` answers for, with units and buildings when the area is small."""
    if who.role not in GRID_ROLES:
        raise Forbidden(f"角色 {who.role} 没有网格 (role {who.role} has no grids)",
                        code="wrong_role")
    held = list(who.areas) if who.role == "grid_worker" else None
    with engine.connect() as conn:
        grids = conn.execute(q(SQL, "grids", PKG), {
            "held": held, "prefixes": who.scope_prefixes}).mappings().all()
        codes = [g["code"] for g in grids]
        units: list[Any] = []
        buildings: list[Any] = []
        detailed = who.role in DETAILED
        if detailed and codes:
            units = conn.execute(q(SQL, "units", PKG), {"grids": codes}).mappings().all()
            buildings = conn.execute(q(SQL, "buildings", PKG), {
                "grids": codes, "limit": MAX_BUILDINGS + 1}).mappings().all()
    truncated = not detailed or len(buildings) > MAX_BUILDINGS
    return {"grids": _collection(list(grids), "code"), "units": _collection(list(units), "code"),
            "buildings": _collection(list(buildings[:MAX_BUILDINGS]), "id"),
            "truncated": truncated}


def who_am_i(engine: Engine, who: Principal) -> WhoAmI:
    """A grid worker's name and grid codes; None for other roles."""
    if who.role != "grid_worker":
        return {"worker_name": None, "grids": None}
    name = None
    with engine.connect() as conn:
        if who.worker_code:
            name = conn.execute(q(SQL, "worker_name", PKG), {"w": who.worker_code}).scalar()
        grids = conn.execute(q(SQL, "grids", PKG), {
            "held": list(who.areas), "prefixes": None}).scalars().all()
    return {"worker_name": name, "grids": list(grids)}
