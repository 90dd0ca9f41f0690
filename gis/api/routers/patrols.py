"""/api/v1/patrols: a worker's GPS track."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection, Engine

from gis.access import auth
from gis.access.auth import Principal
from gis.api import deps
from gis.api.params import Day
from gis.api.patrol_models import (
    ChunkIn,
    ChunkStored,
    StoredTrack,
    TrackCollection,
    TrackFeature,
)
from gis.api.schemas import PatrolIn
from gis.errors import InvalidInput
from gis.intake import patrol_chunks, patrols
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


def _who(request: Request) -> Principal:
    """The caller, as the router's token dependency found them."""
    return getattr(request.state, "principal", None) or auth.ANONYMOUS


@router.post("/chunks", status_code=201, response_model=ChunkStored,
             summary="Store one chunk of a patrol track recorded on a phone")
def post_chunk(body: ChunkIn, request: Request, response: Response,
               engine: Engine = Depends(deps.engine),
               locator: Locator = Depends(deps.locator)) -> dict[str, Any]:
    """Store the chunk once and rebuild its track (201; a chunk sent again: 200, replayed).

    Same access rule as ``POST /patrols``; ``worker`` defaults to the caller's worker."""
    who = _who(request)
    worker = body.worker or who.worker_code
    if not worker:
        raise InvalidInput.field("worker", "required for a token without a worker "
                                 "(请指定网格员编号)", "missing")
    auth.check_track_worker(engine, who, worker)
    chunk = patrol_chunks.Chunk(
        str(body.track_uid), body.seq, worker, crs=body.crs, final=body.final,
        fixes=[patrol_chunks.ChunkFix(f.lon, f.lat, f.t, f.acc) for f in body.fixes])

    def audit_chunk(conn: Connection, uid: str) -> None:
        """The audit row, in the same transaction."""
        auth.audit(conn, who, "patrol.chunk", f"patrol:{uid}", "ok",
                   {"worker": worker, "seq": body.seq, "fixes": len(body.fixes),
                    "final": body.final})

    out = patrol_chunks.ingest_chunk(engine, locator, chunk, audit_chunk)
    if out["replayed"]:
        response.status_code = 200
    return dict(out)


@router.get("/tracks", response_model=TrackCollection,
            summary="A day's patrol tracks (GeoJSON)")
def get_tracks(request: Request, engine: Engine = Depends(deps.engine),
               worker: str | None = None, day: Day | None = None) -> dict[str, Any]:
    """Tracks overlapping ``day`` (CST, default today) the caller may see, of ``worker``.

    A grid worker sees their own tracks (``worker`` defaults to theirs)."""
    who = _who(request)
    if who.role == "grid_worker" and worker is None:
        worker = who.worker_code
    return dict(patrol_chunks.tracks_of_day(engine, who, day, worker))


@router.get("/tracks/{uid}", response_model=TrackFeature,
            summary="One patrol track (GeoJSON feature)")
def get_track(uid: UUID, request: Request,
              engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """404 for a track outside the caller's area, as for one that does not exist."""
    return dict(patrol_chunks.track_by_uid(engine, _who(request), str(uid)))
