"""Grid queries: the active grids as GeoJSON, and one grid with its people and open events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import NotFound

SQL = "grids.sql"
PKG = "gis.territory.sql"


class GridProperties(TypedDict):
    """An active grid's GeoJSON properties (``feature_collection``)."""

    code: str
    name: str | None
    kind: str | None
    community_code: str
    street_code: str
    generation_id: int
    area_m2: float


class GridFeature(TypedDict):
    """One active grid as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: GridProperties


class GridCollection(TypedDict):
    """The active grids as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[GridFeature]


class GridPerson(TypedDict):
    """A worker responsible for a grid or one of its units (a current role)."""

    code: str
    name: str
    role: str
    area_code: str
    valid_from: datetime
    valid_to: datetime | None


class GridOpenEvent(TypedDict):
    """One of a grid's open events."""

    id: int
    item_code: str
    status: str
    level: str
    reported_at: datetime
    due_at: datetime | None
    unit_code: str | None
    lon: float
    lat: float
    description: str | None


class GridOpenEvents(TypedDict):
    """A grid's open events the caller may read: counts and the latest (``filtered`` when
    limited)."""

    total: int
    by_status: dict[str, int]
    latest: list[GridOpenEvent]
    filtered: bool


class GridDetailProperties(TypedDict):
    """One grid's properties with its people and open events (``grid_detail``)."""

    code: str
    name: str | None
    kind: str | None
    community_code: str
    community_name: str | None
    street_code: str
    street_name: str | None
    district_code: str
    generation_id: int
    area_m2: float
    units: int
    people: list[GridPerson]
    open_events: GridOpenEvents


class GridDetail(TypedDict):
    """One grid as a GeoJSON Feature with its people and open events."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: GridDetailProperties


def feature_collection(engine: Engine) -> GridCollection:
    """Active grids as a GeoJSON FeatureCollection (``code`` among the properties)."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "active_grids", PKG)).mappings().all()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": r["code"], "geometry": r["geometry"],
             "properties": {k: (float(v) if k == "area_m2" else v) for k, v in r.items()
                            if k != "geometry"}}
            for r in rows
        ],
    }


def grid_detail(engine: Engine, code: str, generation: int | None = None,
                event_limit: int = 100, who: Principal | None = None) -> GridDetail:
    """One grid as a GeoJSON Feature with its people and open events.

    Any token sees the geometry and the people; the open events are only those ``who`` may
    read (``gis.access.auth.read_scope``, in the query): none for a planner or a worker of another
    grid. ``open_events.filtered`` says whether such a limit applied. No principal = all.
    """
    scope = auth.read_scope(who)
    with engine.connect() as conn:
        params = {"code": code, "generation": generation}
        g = conn.execute(q(SQL, "grid", PKG), params).mappings().first()
        if g is None:
            raise NotFound(f"no grid {code!r} in the active generation", code="grid_not_found")
        people = [dict(r) for r in conn.execute(q(SQL, "people", PKG), {"code": code}).mappings()]
        open_events = [dict(r) for r in conn.execute(
            q(SQL, "open_events", PKG), {"code": code, "limit": event_limit} | scope).mappings()]
        counts = {r.status: r.n for r in conn.execute(q(SQL, "open_event_counts", PKG),
                                                      {"code": code} | scope)}
    props = {k: v for k, v in g.items() if k not in ("geometry", "id")}
    props["area_m2"] = float(props["area_m2"])
    props["people"] = people
    props["open_events"] = {"total": sum(counts.values()), "by_status": counts,
                            "latest": open_events,
                            "filtered": scope["scope_prefixes"] is not None}
    return {"type": "Feature", "id": code, "geometry": g["geometry"], "properties": props}
