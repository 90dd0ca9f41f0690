"""Grid queries: the active grids as GeoJSON, and one grid with its people and open events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import NotFound

SQL = "grids.sql"
PKG = "gis.territory.sql"


def feature_collection(engine: Engine) -> dict[str, Any]:
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
                event_limit: int = 100, who: Principal | None = None) -> dict[str, Any]:
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
