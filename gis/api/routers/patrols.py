"""/api/v1/patrols: a worker's GPS track."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from gis import patrols
from gis.api import deps
from gis.api.schemas import PatrolIn
from gis.locator import Locator

router = APIRouter(prefix="/api/v1/patrols", tags=["patrols"])


@router.post("", status_code=201, summary="Store a patrol track")
def post_patrol(body: PatrolIn, engine: Engine = Depends(deps.engine),
                locator: Locator = Depends(deps.locator)) -> dict[str, Any]:
    """Validate and store the track; answers with its length and main grid."""
    fixes = [patrols.Fix(p.lon, p.lat, p.t) for p in body.points]
    return patrols.ingest_track(engine, locator, body.worker, fixes, body.crs)
