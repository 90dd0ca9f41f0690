"""/api/v1/patrols: a worker's GPS track."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection, Engine

from gis.access import auth
from gis.api import deps
from gis.api.answers import StoredTrack
from gis.api.schemas import PatrolIn
from gis.intake import patrols
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1/patrols", tags=["patrols"])


@router.post("", status_code=201, response_model=StoredTrack, summary="Store a patrol track")
def post_patrol(body: PatrolIn, request: Request, engine: Engine = Depends(deps.engine),
                locator: Locator = Depends(deps.locator)) -> dict[str, Any]:
    """Validate and store the track; answers with its length and main grid.

    A grid worker posts only their own tracks; dispatchers those of workers in their area
    (403 otherwise, nothing stored)."""
    fixes = [patrols.Fix(p.lon, p.lat, p.t) for p in body.points]
    who = getattr(request.state, "principal", None)
    if who is not None:
        auth.check_track_worker(engine, who, body.worker)

    def audit_track(conn: Connection, track_id: int) -> None:
        """The audit row, in the same transaction."""
        if who is not None:
            auth.audit(conn, who, "patrol.report", f"patrol:{track_id}", "ok",
                       {"worker": body.worker, "points": len(fixes)})

    return patrols.ingest_track(engine, locator, body.worker, fixes, body.crs, audit_track)
