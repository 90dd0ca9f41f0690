"""/api/v1/workbench/...: the dispatcher workbench's queues (调度工作台). Each endpoint takes
its caller through ``deps.current``; every queue holds only the caller's area."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from gis.access.auth import Principal
from gis.api import deps
from gis.workflow import queues

router = APIRouter(prefix="/api/v1", tags=["workbench"])
Who = Annotated[Principal, Depends(deps.current)]
Eng = Annotated[Engine, Depends(deps.engine)]


@router.get("/workbench/queues", response_model=queues.Workbench,
            summary="The dispatcher's queues (调度工作台队列)")
def get_queues(who: Who, engine: Eng,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Counts and first ``limit`` rows of each queue in the caller's area: new, unassigned
    (outside / no grid), duplicates (undecided), overdue, escalated (open at the caller's
    level), requests (open requests to escalate). 403 ``wrong_role`` for other roles."""
    return queues.workbench(engine, who, limit)
