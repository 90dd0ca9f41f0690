"""Escalation (提级办理): overdue events climb one level; a grid leader can blow the whistle."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth, scope
from gis.access.auth import Principal
from gis.calendar import Calendar
from gis.db.queries import q
from gis.errors import Conflict, Forbidden, InvalidInput
from gis.workflow import levels
from gis.workflow.state import ESCALATABLE, LEVELS, Position, illegal, write_history

SQL = "workflow.sql"
PKG = "gis.workflow.sql"
SCHEDULER = Principal("district_centre", name="scheduler")


class EscalationStep(TypedDict):
    """An escalation or whistle (吹哨): the event climbs a level; departments are notified
    (one climb as recorded in the event's history)."""

    id: int
    action: str
    actor: str
    at: Annotated[str, Field(description="ISO 8601 time of the move")]
    from_level: str
    to_level: str
    reason: str
    area: str | None
    departments: list[str]
    due_at: str
    was_due_at: str | None


class OverdueEvent(TypedDict):
    """An open event past its due time (``overdue``)."""

    id: int
    item_code: str
    status: str
    level: str
    grid_code: str | None
    due_at: datetime
    hours_over: Annotated[Decimal, Field(
        description="hours past due_at (a decimal string)")]


def next_level(level: str) -> str | None:
    """The level above ``level`` (None at the district)."""
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def climb(conn: Connection, ev: dict[str, Any], now: datetime, actor: str, note: str | None,
          kind: str, reason: str, pos: Position | None = None, to_level: str | None = None,
          departments: list[str] | None = None,
          cal: Calendar | None = None) -> EscalationStep | None:
    """Move a locked event up a level, reset its due time (calendar ``cal``), notify; None if
    it moved meanwhile."""
    new = to_level or next_level(ev["level"])
    if new is None:
        raise Conflict(f"event {ev['id']} is already at the district level",
                       code="top_level")
    if LEVELS.index(new) <= LEVELS.index(ev["level"]):
        raise InvalidInput.field("level", f"must be above {ev['level']}", "not_higher")
    move = levels.plan(conn, ev, new, now, departments, cal)
    if not levels.move_to_level(conn, ev, move, now, kind, actor, note):
        return None
    data = {"from_level": ev["level"], "to_level": new, "reason": reason, "area": move.area,
            "departments": move.departments, "due_at": move.due_at.isoformat(),
            "was_due_at": ev["due_at"].isoformat() if ev["due_at"] else None}
    write_history(conn, ev["id"], now, "escalated" if kind == "escalate" else "whistle",
                  ev["status"], ev["status"], actor, note, pos, data)
    return {"id": ev["id"], "action": kind, "actor": actor, "at": now.isoformat()} | data


def is_grid_leader(conn: Connection, worker: str | None, grid: str | None, at: datetime) -> bool:
    """True when ``worker`` holds the grid-leader role for ``grid`` at ``at``."""
    if not worker or not grid:
        return False
    return conn.execute(q(SQL, "is_grid_leader", PKG),
                        {"w": worker, "g": grid, "at": at}).scalar()


def climb_manual(conn: Connection, ev: dict[str, Any], action: str, who: Principal,
                 now: datetime, note: str | None, pos: Position | None, level: str | None,
                 departments: list[str] | None,
                 cal: Calendar | None = None) -> EscalationStep:
    """Dispatcher escalation or a grid leader's whistle (吹哨) on a locked event."""
    if ev["status"] not in ESCALATABLE:
        raise illegal(ev, action)
    if action == "whistle":
        if who.role == "grid_worker" and not is_grid_leader(conn, who.worker_code,
                                                             ev["grid_code"], now):
            raise Forbidden("only the grid leader (网格长) of this grid can blow the whistle",
                            code="not_grid_leader")
    elif who.role == "grid_worker":
        raise Forbidden("grid workers report upward with a whistle through their grid leader; "
                        "escalation is for dispatchers", code="wrong_role")
    res = climb(conn, ev, now, who.actor, note, action, "whistle" if action == "whistle"
                else "manual", pos, level, departments, cal)
    if res is None:
        raise Conflict(f"event {ev['id']} changed meanwhile; retry", code="concurrent_change")
    return res


def escalate_overdue(engine: Engine, now: datetime | None = None, batch: int = 500,
                     cal: Calendar | None = None) -> list[EscalationStep]:
    """Climb every overdue open event one level (new due times by the district calendar
    ``cal``); safe to run twice or concurrently."""
    now = now or datetime.now(UTC)
    done: list[EscalationStep] = []
    while True:
        with engine.begin() as conn:
            rows = conn.execute(q(SQL, "lock_overdue", PKG),
                                {"now": now, "limit": batch}).mappings().all()
            step = []
            for row in rows:
                res = climb(conn, dict(row), now, SCHEDULER.actor,
                            f"overdue since {row['due_at'].isoformat()}", "escalate", "overdue",
                            cal=cal)
                if res is not None:
                    step.append(res)
            if step:
                auth.audit(conn, SCHEDULER, "escalate_overdue", None, "ok",
                           {"now": now, "events": [s["id"] for s in step]})
        done.extend(step)
        if len(rows) < batch:
            return done


def overdue(engine: Engine, now: datetime | None = None,
            area: str | None = None) -> list[OverdueEvent]:
    """Open events past their due time (including those already at the district)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "overdue", PKG), {
            "now": now, "st": list(ESCALATABLE), "a": scope.area_prefixes(area)}).mappings()
        return [OverdueEvent(**r) for r in rows]
