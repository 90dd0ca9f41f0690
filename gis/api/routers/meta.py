"""Health and catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from gis.api import deps
from gis.api.answers import Catalogue, Health
from gis.db.engine import ping
from gis.intake import catalogue
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1", tags=["meta"])


@router.get("/health", response_model=Health, summary="Database and locator status")
def health(engine: Engine = Depends(deps.engine),
           locator: Locator = Depends(deps.locator)) -> dict[str, Any]:
    """503 when the database is unreachable (via the error handlers)."""
    ping(engine)
    snap = locator.snapshot
    return {"status": "ok", "generation": snap.generation, "revision": snap.revision,
            "grids": len(snap.grid_codes), "units": len(snap.unit_codes)}


@router.get("/catalogue", response_model=Catalogue, summary="Event classes and items")
def get_catalogue(engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """Active catalogue."""
    return {"classes": catalogue.listing(engine)}
