"""/api/v1 workflow: transitions, dispatch, escalation, duplicates, patrols, assessment, tokens."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis import rulebook
from gis.access import auth, scope
from gis.access.auth import Principal
from gis.api import deps
from gis.api.answers import (
    Acknowledgement,
    Assessment,
    AuditLog,
    Coverage,
    DispatchPreview,
    DispatchRules,
    DuplicateConfig,
    DuplicateDismissed,
    DuplicateLinks,
    DutySet,
    EscalationRun,
    LevelMove,
    Me,
    NewToken,
    Notifications,
    Overdue,
    PatrolsDue,
    Revoked,
    Tokens,
    TransitionAnswer,
    Unvisited,
    WorkflowView,
)
from gis.api.params import Day, Days, Id, Instant, Month
from gis.calendar import Calendar
from gis.clock import aware
from gis.errors import InvalidInput
from gis.oversight import assessment, coverage
from gis.territory import mygrid
from gis.workflow import dispatch, duplicates, escalation
from gis.workflow import transitions as workflow

router = APIRouter(prefix="/api/v1", tags=["workflow"])
Who = Annotated[Principal, Depends(deps.current)]
Eng = Annotated[Engine, Depends(deps.engine)]
Cal = Annotated[Calendar, Depends(deps.district_calendar)]  # the app's district calendar
Heavy = Annotated[Engine, Depends(deps.heavy_engine)]  # own small pool: never starves intake


class TransitionIn(BaseModel):
    """One action on an event, with where the actor was and a note."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "dispatch", "note": "to the community mediation room", "lon": 120.6,
         "lat": 31.3, "level": "community", "departments": ["justice"]}]})

    action: Literal["accept", "reject", "mark_duplicate", "dispatch", "start", "resolve",
                    "close", "reopen", "escalate", "whistle"]
    note: str | None = Field(None, max_length=4000)
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    level: Literal["grid", "community", "street", "district"] | None = Field(
        None, description="dispatch: handling level; escalate/whistle: target level.")
    departments: list[str] | None = Field(
        None, description="Departments notified (default: the dispatch rules).")
    original_id: Id | None = Field(None, description="mark_duplicate: the original event.")


class WhistleIn(BaseModel):
    """A grid leader's whistle (吹哨): climb a level and call the departments in."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(..., min_length=1, max_length=4000)
    level: Literal["community", "street", "district"] | None = None
    departments: list[str] | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"


class DuplicateDecisionIn(BaseModel):
    """A dispatcher's decision on a possible duplicate link."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "dismiss"]
    note: str | None = Field(None, max_length=4000)


class DuplicateConfigIn(BaseModel):
    """Distance and time window of duplicate detection."""

    model_config = ConfigDict(extra="forbid")

    distance_m: float | None = Field(None, ge=0, le=100_000)
    window_h: float | None = Field(None, ge=0, le=100_000)
    enabled: bool | None = None


class TokenIn(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["grid_worker", "community_dispatcher", "street_dispatcher", "district_centre",
                  "planner", "department"]
    area: str | None = None
    worker: str | None = None
    department: str | None = Field(None, description="role department: its code in the "
                                   "dispatch rules (police, fire, ...).")
    name: str = ""
    expires_at: Instant | None = None


class AcknowledgeIn(BaseModel):
    """A department's acknowledgement of a notification (通报签收)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=4000)


class DutyIn(BaseModel):
    """Daily patrol duty of one grid."""

    model_config = ConfigDict(extra="forbid")

    patrols_per_day: int = Field(..., ge=0, le=48)


class EscalateIn(BaseModel):
    """Scheduler run; ``now`` only to replay a missed run (see ``ESCALATION_NOW_WINDOW``)."""

    model_config = ConfigDict(extra="forbid")

    now: Instant | None = Field(None, description=(
        "Replay a missed run as of this time (naive = UTC+8): at most 7 days before and 5 "
        "minutes after the server clock, else 422 now_out_of_range. Default: the server "
        "clock."))


# How far POST /escalation/run's ``now`` may be from the server clock: a missed run of the
# last week may be replayed; the future only by clock skew between scheduler and server.
ESCALATION_NOW_WINDOW = (timedelta(days=7), timedelta(minutes=5))


def _escalation_now(now: datetime | None) -> datetime | None:
    """``now`` of an escalation run, refused (422) outside ``ESCALATION_NOW_WINDOW``."""
    if now is None:
        return None
    now = aware(now)  # already checked by ``Instant``; naive = UTC+8
    clock = datetime.now(UTC)
    back, ahead = ESCALATION_NOW_WINDOW
    if not clock - back <= now <= clock + ahead:
        raise InvalidInput.field("now", "must be within 7 days before and 5 minutes after the "
                                 "server clock (omit it to use the server clock)",
                                 "now_out_of_range")
    return now


def _centre(who: Principal) -> None:
    """403 unless the district centre."""
    auth.require_role(who, "district_centre")


def _area_ok(who: Principal, area: str | None) -> str | None:
    """The area a query is limited to: the caller's (403 when asking outside it)."""
    return scope.report_area(who.role, who.areas, area)


@router.get("/me", response_model=Me, summary="Who the token belongs to")
def me(who: Who, engine: Eng) -> dict[str, Any]:
    """Role, areas and worker of the caller; must it change its password; a grid worker's
    name and grids."""
    return {"role": who.role, "areas": list(who.areas), "worker": who.worker_code,
            "department": who.department, "actor": who.actor, "token_id": who.token_id,
            "must_change_password": who.must_change_password} | mygrid.who_am_i(engine, who)


@router.post("/events/{event_id}/transitions", response_model=TransitionAnswer | LevelMove,
             response_model_exclude_unset=True, summary="Act on an event (state machine)")
def post_transition(event_id: Id, body: TransitionIn, who: Who, engine: Eng,
                    cal: Cal) -> dict[str, Any]:
    """accept, reject, mark_duplicate, dispatch (上报 + 通报), start, resolve, close, reopen,
    escalate, whistle. Illegal actions get 409 ``illegal_transition`` and change nothing."""
    return workflow.transition(engine, event_id, body.action, who, note=body.note, lon=body.lon,
                               lat=body.lat, crs=body.crs, level=body.level,
                               departments=body.departments, original_id=body.original_id,
                               cal=cal)


@router.post("/events/{event_id}/whistle", response_model=LevelMove,
             summary="Blow the whistle (吹哨): grid leader")
def post_whistle(event_id: Id, body: WhistleIn, who: Who, engine: Eng,
                 cal: Cal) -> dict[str, Any]:
    """Climb one level (or to ``level``) and notify the departments, who must report in."""
    return workflow.transition(engine, event_id, "whistle", who, note=body.note, lon=body.lon,
                               lat=body.lat, crs=body.crs, level=body.level,
                               departments=body.departments, cal=cal)


@router.get("/events/{event_id}/workflow", response_model=WorkflowView,
            summary="Allowed actions, dispatch records and duplicate links of an event")
def get_workflow(event_id: Id, who: Who, engine: Eng) -> dict[str, Any]:
    """The event's workflow state (404, as if missing, outside the caller's area)."""
    try:
        return workflow.workflow_view(engine, event_id, who)
    except auth.Hidden:
        auth.audit_now(engine, who, "event.workflow", f"event:{event_id}", "denied",
                       {"code": "outside_area"})
        raise


@router.get("/dispatches", response_model=Notifications,
            summary="Department notifications (通报) the caller may see")
def get_dispatches(who: Who, engine: Eng, department: str | None = None,
                   pending: bool = False,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    """A department token: its own; dispatchers: their area's; the centre: all.
    ``pending=true``: only those not acknowledged yet."""
    rows = workflow.notifications(engine, who, department, pending, limit)
    return {"count": len(rows), "dispatches": rows}


@router.post("/dispatches/{dispatch_id}/acknowledge", response_model=Acknowledgement,
             summary="A department acknowledges a notification (通报签收)")
def post_acknowledge(dispatch_id: Id, who: Who, engine: Eng,
                     body: AcknowledgeIn | None = None) -> dict[str, Any]:
    """Sets ``acknowledged_at`` once (409 ``already_acknowledged`` after); a ``department``
    token for its own department, or the district centre on its behalf."""
    return workflow.acknowledge(engine, dispatch_id, who, note=body.note if body else None)


@router.get("/dispatch/rules", response_model=DispatchRules,
            summary="The dispatch rules in force")
def get_rules(who: Who) -> dict[str, Any]:
    """Departments, per-level limits and rules (never the server's file path)."""
    out = rulebook.rules().to_dict()
    out.pop("path", None)
    return out


@router.get("/dispatch/preview", response_model=DispatchPreview,
            summary="What dispatching an item would do")
def get_preview(item: str, who: Who, engine: Eng, level: str | None = None) -> dict[str, Any]:
    """Level, departments and time limits for ``item``."""
    with engine.connect() as conn:
        return dispatch.preview(conn, item, level)


@router.post("/escalation/run", response_model=EscalationRun,
             summary="Escalate overdue events one level (scheduler)")
async def post_escalate(who: Who, engine: Eng, cal: Cal,
                        body: EscalateIn | None = None) -> dict[str, Any]:
    """District centre only; safe to run twice or concurrently. ``now`` (replays) at most
    7 days before and 5 minutes after the server clock."""
    _centre(who)
    now = _escalation_now(body.now if body else None)
    done = await run_in_threadpool(escalation.escalate_overdue, engine, now, cal=cal)
    return {"escalated": len(done), "events": done}


@router.get("/escalation/overdue", response_model=Overdue,
            summary="Open events past their due time")
def get_overdue(who: Who, engine: Eng, area: str | None = None,
                now: Instant | None = None) -> dict[str, Any]:
    """Overdue events in the caller's area."""
    rows = escalation.overdue(engine, now, _area_ok(who, area))
    return {"count": len(rows), "events": rows}


@router.get("/duplicates", response_model=DuplicateLinks,
            summary="Possible duplicate links for dispatchers to decide")
def get_duplicates(who: Who, engine: Eng,
                   status: Annotated[str | None, Query(pattern="^(possible|confirmed|dismissed)$")]
                   = "possible") -> dict[str, Any]:
    """Links in the caller's area."""
    rows = duplicates.links(engine, status, who=who)
    return {"count": len(rows), "links": rows}


@router.post("/events/{event_id}/duplicate-of/{original_id}",
             response_model=TransitionAnswer | DuplicateDismissed,
             response_model_exclude_unset=True,
             summary="Confirm or dismiss a possible duplicate")
def post_duplicate(event_id: Id, original_id: Id, body: DuplicateDecisionIn, who: Who,
                   engine: Eng) -> dict[str, Any]:
    """confirm: the event becomes ``duplicate``; dismiss: the link is closed."""
    if body.decision == "confirm":
        return duplicates.confirm(engine, event_id, original_id, who, body.note)
    return duplicates.dismiss(engine, event_id, original_id, who, body.note)


@router.get("/duplicates/config", response_model=DuplicateConfig,
            summary="Duplicate detection window")
def get_dup_config(who: Who, engine: Eng) -> dict[str, Any]:
    """Distance (m) and window (h)."""
    return duplicates.get_config(engine)


@router.put("/duplicates/config", response_model=DuplicateConfig,
            summary="Change the duplicate detection window")
def put_dup_config(body: DuplicateConfigIn, who: Who, engine: Eng) -> dict[str, Any]:
    """District centre only."""
    return duplicates.set_config(engine, who, body.distance_m, body.window_h, body.enabled)


@router.get("/patrols/coverage", response_model=Coverage,
            summary="Units passed by tracks in a period")
def get_coverage(since: Instant, until: Instant, who: Who, engine: Heavy,
                 area: str | None = None, worker: str | None = None,
                 distance_m: Annotated[float | None, Query(ge=0, le=1000)] = None
                 ) -> dict[str, Any]:
    """Coverage per grid (optionally of one worker's tracks)."""
    return coverage.coverage(engine, since, until, _area_ok(who, area), distance_m, worker)


@router.get("/patrols/unvisited", response_model=Unvisited,
            summary="Units not visited for N days")
def get_unvisited(who: Who, engine: Heavy, days: Days | None = None,
                  area: str | None = None) -> dict[str, Any]:
    """Units whose last visit is older than ``days`` (or that were never visited)."""
    rows = coverage.unvisited(engine, days, None, _area_ok(who, area))
    return {"count": len(rows), "units": rows}


@router.get("/patrols/due", response_model=PatrolsDue,
            summary="Patrols due today, per worker (reminders)")
def get_due(who: Who, engine: Heavy, day: Day | None = None, worker: str | None = None,
            area: str | None = None) -> dict[str, Any]:
    """Duty, done and due per responsible worker and grid, plus unvisited units.

    A grid worker holding several grids (a grid leader) without ``area``: their own
    reminders over all their grids."""
    if who.role == "grid_worker" and area is None and len(who.areas) > 1 and who.worker_code:
        a, worker = os.path.commonprefix(list(who.areas)) or None, who.worker_code
    else:
        a = _area_ok(who, area)
    if who.role == "grid_worker" and worker is None:
        worker = who.worker_code
    rows = coverage.reminders(engine, day, worker, a)
    return {"count": len(rows), "reminders": rows,
            "duties": coverage.patrols_due(engine, day, worker, a)}


@router.put("/patrols/duty/{grid}", response_model=DutySet,
            summary="Set a grid's daily patrol duty")
def put_duty(grid: str, body: DutyIn, who: Who, engine: Eng) -> dict[str, Any]:
    """Dispatchers of the grid's area or the centre."""
    return coverage.set_duty(engine, who, grid, body.patrols_per_day)


@router.get("/reports/assessment", response_model=Assessment,
            summary="Monthly assessment (考核)",
            responses={200: {"content": {"text/csv": {}}}})
def get_assessment(month: Annotated[Month, Query(description="YYYY-MM")], who: Who,
                   engine: Heavy, area: str | None = None,
                   format: Literal["json", "csv"] = "json") -> Any:
    """Per worker and grid: found, handled within limit, overdue, coverage; resident points."""
    result = assessment.assess(engine, month, _area_ok(who, area))
    if format == "csv":
        return Response(assessment.to_csv(result), media_type="text/csv")
    return result


@router.post("/tokens", status_code=201, response_model=NewToken,
             summary="Create an API token (district centre)")
def post_token(body: TokenIn, who: Who, engine: Eng) -> dict[str, Any]:
    """The secret is shown once."""
    _centre(who)
    return auth.create_token(engine, body.role, body.area, body.worker, body.name,
                             body.expires_at, body.department)


@router.get("/tokens", response_model=Tokens, summary="API tokens (without secrets)")
def get_tokens(who: Who, engine: Eng) -> dict[str, Any]:
    """District centre only."""
    _centre(who)
    return {"tokens": auth.list_tokens(engine)}


@router.delete("/tokens/{token_id}", response_model=Revoked, summary="Revoke a token")
def delete_token(token_id: Id, who: Who, engine: Eng) -> dict[str, Any]:
    """District centre only."""
    _centre(who)
    return {"revoked": auth.revoke_token(engine, token_id)}


@router.get("/audit", response_model=AuditLog, summary="The audit log, newest first")
def get_audit(who: Who, engine: Eng, target: str | None = None, since: Instant | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """District centre only."""
    _centre(who)
    rows = auth.audit_entries(engine, limit, target, since)
    return {"count": len(rows), "entries": rows}
