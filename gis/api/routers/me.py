"""/api/v1/me/...: the worker's own endpoints (password, tasks, grid map) and requests to
escalate. Each endpoint takes its caller through ``deps.current`` (where a session that must
still change its password is held to ``GET /me``, ``POST /me/password`` and log-out).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.access import accounts
from gis.access.auth import Principal
from gis.api import deps
from gis.api.me_models import (
    EscalationRequestIn,
    OpenEscalationRequests,
    PasswordChanged,
    PasswordIn,
)
from gis.api.params import Id
from gis.territory import mygrid
from gis.workflow import requests, tasks

router = APIRouter(prefix="/api/v1", tags=["me"])
Who = Annotated[Principal, Depends(deps.current)]
Eng = Annotated[Engine, Depends(deps.engine)]


@router.post("/me/password", response_model=PasswordChanged,
             summary="Change my password (修改密码)")
async def post_password(body: PasswordIn, who: Who, engine: Eng) -> dict[str, Any]:
    """Change the session's password: 401 ``bad_credentials`` for a wrong old password (it
    counts toward the lockout), 422 ``weak_password`` (under 8 characters, the user name, or
    the old password), 403 ``not_a_session`` for a script token. Other sessions end."""
    changed = await run_in_threadpool(accounts.change_password, engine, who,
                                      body.old_password, body.new_password)
    return {"changed": changed}


@router.get("/me/tasks", response_model=tasks.Tasks, response_model_by_alias=True,
            summary="My tasks (待办 / 已办)")
def get_tasks(who: Who, engine: Eng,
              list_: Annotated[Literal["todo", "done"], Query(alias="list")] = "todo",
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    """Grid worker: events it answers for; dispatchers: open events of their area at their
    level (todo) and finished ones they acted on (done). Newest change first."""
    return tasks.my_tasks(engine, who, list_, limit, offset)


@router.get("/me/grid", response_model=mygrid.MyGrid, summary="My grids as map data (我的网格)")
def get_grid(who: Who, engine: Eng) -> dict[str, Any]:
    """The caller's grids, units (with building counts) and buildings, WGS84 GeoJSON."""
    return mygrid.my_grid(engine, who)


@router.post("/events/{event_id}/escalation-request", response_model=requests.EscalationRequest,
             status_code=201, summary="Ask to escalate (请求上报)")
def post_escalation_request(event_id: Id, body: EscalationRequestIn, who: Who,
                            engine: Eng) -> dict[str, Any]:
    """A grid worker asks the dispatchers to escalate an open event of its grid: a history
    row ``ask_escalate`` (status and level unchanged). 404 outside the area, 409
    ``illegal_transition`` when the event is not open."""
    return requests.ask_escalate(engine, event_id, who, body.note)


@router.get("/escalation-requests", response_model=OpenEscalationRequests,
            summary="Open requests to escalate (dispatchers)")
def get_escalation_requests(who: Who, engine: Eng,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 200
                            ) -> dict[str, Any]:
    """Open requests in the caller's area, newest first (dispatchers and the centre)."""
    return {"requests": requests.open_requests(engine, who, limit)}
