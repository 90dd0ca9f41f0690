"""A caller's own task list (我的待办 / 已办): ``GET /api/v1/me/tasks``.

- A grid worker: the events whose responsible worker (``event.worker_id``) is the caller's
  worker (a grid worker token without a worker: every event of its grid). ``todo``: open
  statuses; ``done``: resolved, closed, rejected, duplicate.
- A dispatcher (community, street) or the district centre: ``todo`` the open events of its
  area at its own level (community / street / district); ``done`` the finished events of
  its area it acted on (a history row written by the caller).

Always within the read scope (``visible_events``, the area rule); newest change first. Each
item says what the caller may do now (``allowed_actions``): the state machine's actions
under the role rules (a grid worker does not ``escalate``, it may ``ask_escalate``; it blows
the whistle only as the grid's leader).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field
from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import Forbidden
from gis.workflow.state import ESCALATABLE, allowed_actions

SQL = "tasks.sql"
PKG = "gis.workflow.sql"
OPEN = ESCALATABLE  # reported, accepted, dispatched, in_progress, reopened
DONE = ("resolved", "closed", "rejected", "duplicate")
LEVEL_OF = {"community_dispatcher": "community", "street_dispatcher": "street",
            "district_centre": "district"}
TaskList = Literal["todo", "done"]


# One event of a task list, with what the caller may do to it now (``class`` is a keyword:
# hence the functional form).
Task = TypedDict("Task", {
    "id": int, "uid": UUID,
    "item": Annotated[str, Field(description="catalogue item code")],
    "item_name": Annotated[str, Field(description="the item's Chinese name")],
    "class": Annotated[str, Field(description="catalogue class code")], "status": str,
    "level": str, "reported_at": datetime, "due_at": datetime | None, "overdue": bool,
    "description": str, "address": str | None, "grid": str | None, "unit": str | None,
    "lon": Annotated[float | None, Field(description="WGS84")],
    "lat": Annotated[float | None, Field(description="WGS84")], "source": str,
    "allowed_actions": Annotated[list[str], Field(description=(
        "transition actions (POST /api/v1/events/{id}/transitions) and ask_escalate "
        "(POST /api/v1/events/{id}/escalation-request) the caller may take now"))]})
Task.__doc__ = "One event of a task list and what the caller may do to it now."


class Tasks(TypedDict):
    """A page of the caller's to-do (待办) or done (已办) list, and the list's total."""

    list: TaskList
    count: Annotated[int, Field(description="items of the whole list (not only this page)")]
    items: list[Task]


def caller_actions(who: Principal, status: str, leads_grid: bool) -> list[str]:
    """The actions ``who`` may take on an event of ``status`` now (role rules applied)."""
    actions = allowed_actions(status)
    if who.role != "grid_worker":
        return actions
    out = [a for a in actions if a != "escalate" and (a != "whistle" or leads_grid)]
    if status in ESCALATABLE:
        out.append("ask_escalate")
    return out


def _filters(who: Principal, which: TaskList) -> dict[str, Any]:
    """The bound filters of the task query for ``who`` and the list asked for."""
    statuses = list(OPEN if which == "todo" else DONE)
    if who.role == "grid_worker":
        return {"statuses": statuses, "worker": who.worker_code, "level": None, "actor": None}
    if who.role not in LEVEL_OF:
        raise Forbidden(f"角色 {who.role} 没有待办 (role {who.role} has no task list; "
                        "departments: GET /api/v1/dispatches)", code="wrong_role")
    if which == "todo":
        return {"statuses": statuses, "worker": None, "level": LEVEL_OF[who.role], "actor": None}
    return {"statuses": statuses, "worker": None, "level": None, "actor": who.actor}


def my_tasks(engine: Engine, who: Principal, which: TaskList = "todo", limit: int = 50,
             offset: int = 0) -> Tasks:
    """A page of the caller's ``todo`` or ``done`` list (see the module)."""
    params = _filters(who, which) | auth.read_scope(who) | {
        "open": list(OPEN), "me": who.worker_code, "limit": limit, "offset": offset}
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "tasks", PKG), params).mappings().all()
    total = rows[0]["total"] if rows else 0
    items: list[Task] = []
    for r in rows:
        if r["id"] is None:
            continue
        row = {k: v for k, v in r.items() if k not in ("total", "leads_grid", "updated_at")}
        row["allowed_actions"] = caller_actions(who, r["status"], r["leads_grid"])
        items.append(Task(**row))
    return {"list": which, "count": total, "items": items}
