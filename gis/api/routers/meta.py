"""Health and catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine, text

from gis.api import deps
from gis.api.answers import Catalogue, Health
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1", tags=["meta"])


@router.get("/health", response_model=Health, summary="Database and locator status")
def health(engine: Engine = Depends(deps.engine),
           locator: Locator = Depends(deps.locator)) -> dict[str, Any]:
    """503 when the database is unreachable (via the error handlers)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    snap = locator.snapshot
    return {"status": "ok", "generation": snap.generation, "revision": snap.revision,
            "grids": len(snap.grid_codes), "units": len(snap.unit_codes)}


@router.get("/catalogue", response_model=Catalogue, summary="Event classes and items")
def get_catalogue(engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """Active catalogue."""
    with engine.connect() as conn:
        classes = conn.execute(text(
            "SELECT code, name, name_zh FROM event_class c WHERE EXISTS (SELECT 1 FROM "
            "event_item i WHERE i.class_code = c.code AND i.active) ORDER BY position"
        )).mappings().all()
        items = conn.execute(text(
            "SELECT code, class_code, name, name_zh, default_level, time_limit_h FROM event_item "
            "WHERE active ORDER BY class_code, position")).mappings().all()
    return {"classes": [
        dict(c) | {"items": [dict(i) for i in items if i["class_code"] == c["code"]]}
        for c in classes
    ]}
