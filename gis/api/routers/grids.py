"""/api/v1/grids: the active grids as GeoJSON, one grid with its people and open events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from gis.api import deps
from gis.api.answers import GridCollection, GridDetail
from gis.api.params import GenerationId
from gis.territory import grids

router = APIRouter(prefix="/api/v1/grids", tags=["grids"])


@router.get("", response_model=GridCollection,
            summary="Active grids as a GeoJSON FeatureCollection")
def list_grids(engine: Engine = Depends(deps.read_engine)) -> dict[str, Any]:
    """Every grid of the active generation."""
    return grids.feature_collection(engine)


@router.get("/{code}", response_model=GridDetail,
            summary="One grid: geometry, people, open events")
def get_grid(code: str, request: Request, generation: GenerationId | None = None,
             engine: Engine = Depends(deps.read_engine)) -> dict[str, Any]:
    """GeoJSON Feature of the grid with its responsible people and the open events the
    caller may see (none outside their area; ``open_events.filtered`` when limited)."""
    return grids.grid_detail(engine, code, generation,
                             who=getattr(request.state, "principal", None))
