"""ASGI app factories the benchmarks serve with ``uvicorn --factory`` (settings from the env).

* ``real_app``: the Wangge API exactly as shipped (``wangge.app.create_app``).
* ``naive_app``: the baseline of issue 2 — per request, one ``ST_Contains`` query against the
  ``unit`` table and one ``INSERT`` into ``event``, in one committed transaction; no in-memory
  index, no history row, no idempotency.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text


def real_app() -> FastAPI:
    """The real API on ``DATABASE_URL``."""
    from gis.settings import Settings
    from wangge.app import create_app

    return create_app(Settings())


NAIVE_LOCATE = text("""
WITH hit AS MATERIALIZED (
    SELECT u.id, u.code, u.grid_code, u.generation_id FROM unit u
    WHERE ST_Contains(u.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
      AND u.generation_id = (SELECT id FROM generation WHERE status = 'active')
)
SELECT h.id AS unit_id, h.code AS unit_code, h.generation_id, g.id AS grid_id,
       g.code AS grid_code
FROM hit h JOIN grid g ON g.generation_id = h.generation_id AND g.code = h.grid_code
ORDER BY h.code
LIMIT 1
""")

NAIVE_INSERT = text("""
INSERT INTO event (item_code, source, reporter, description, geom, input_lon, input_lat,
                   input_crs, location_status, location_method, generation_id, grid_id, unit_id,
                   grid_code, unit_code)
VALUES (:item, :source, :reporter, :description,
        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :lon, :lat, 'wgs84', :status, 'point',
        :generation_id, :grid_id, :unit_id, :grid_code, :unit_code)
RETURNING id
""")


class NaiveReport(BaseModel):
    """The few fields the naive endpoint understands."""

    item: str
    source: str = "resident"
    lon: float
    lat: float
    description: str = ""
    reporter: str | None = None


def naive_app() -> FastAPI:
    """One ``ST_Contains`` query and one ``INSERT`` per request (same engine settings)."""
    from gis.db.engine import make_engine
    from gis.settings import Settings

    engine = make_engine(Settings())
    app = FastAPI(title="naive intake (benchmark baseline)")

    @app.post("/api/v1/events", status_code=201)
    def post_event(r: NaiveReport) -> dict[str, Any]:
        if not (-180 <= r.lon <= 180 and -90 <= r.lat <= 90):
            raise HTTPException(422, "coordinates out of range")
        with engine.begin() as conn:
            row = conn.execute(NAIVE_LOCATE, {"lon": r.lon, "lat": r.lat}).first()
            params = {
                "item": r.item, "source": r.source, "reporter": r.reporter,
                "description": r.description, "lon": r.lon, "lat": r.lat,
                "status": "inside" if row else "unassigned",
                "generation_id": row.generation_id if row else None,
                "grid_id": row.grid_id if row else None,
                "unit_id": row.unit_id if row else None,
                "grid_code": row.grid_code if row else None,
                "unit_code": row.unit_code if row else None,
            }
            eid = conn.execute(NAIVE_INSERT, params).scalar_one()
        return {"id": eid, "grid": params["grid_code"], "unit": params["unit_code"],
                "status": params["status"]}

    return app
