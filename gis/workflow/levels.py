"""The one rule for an event arriving at a level: departments notified, due time, record.

Dispatching (派遣), escalating (上报) and a grid leader's whistle (吹哨) all move an event to a
level; each goes through :func:`move_to_level`, so the departments told (通报) and the new due
time follow the rule book the same way whichever action moved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gis import calendar, rulebook
from gis.db.queries import q
from gis.workflow import dispatch

SQL = "workflow.sql"
PKG = "gis.workflow.sql"


@dataclass(frozen=True)
class LevelMove:
    """Where an event went: its level, that level's area, the departments told, the due time."""

    level: str
    area: str | None
    departments: list[str]
    due_at: datetime


def plan(conn: Connection, ev: dict[str, Any], level: str, now: datetime,
         departments: list[str] | None = None,
         cal: calendar.Calendar | None = None) -> LevelMove:
    """What moving ``ev`` to ``level`` means under the rule book and the district calendar
    ``cal`` (nothing written)."""
    r = rulebook.rules()
    rulebook.check_departments(r, departments)
    deps = departments if departments is not None else r.departments_for(
        ev["item_code"], ev["class_code"], level)
    limit = r.limit(ev["item_code"], ev["class_code"], level, ev["default_level"],
                    calendar.TimeLimit(ev["time_limit_h"], ev.get("time_limit_unit") or "h"))
    return LevelMove(level, dispatch.area_for(conn, ev, level), deps,
                     calendar.due_at(now, limit.amount, limit.unit, cal))


def move_to_level(conn: Connection, ev: dict[str, Any], move: LevelMove, now: datetime,
                  kind: str, actor: str, note: str | None) -> bool:
    """Set the event's level and due time (only if it is still at the level the caller saw),
    record the handler and notify the departments; False when it moved meanwhile."""
    n = conn.execute(q(SQL, "set_level", PKG), {
        "id": ev["id"], "to_level": move.level, "due": move.due_at, "now": now,
        "from_level": ev["level"]}).rowcount
    if n != 1:
        return False
    dispatch.record(conn, ev["id"], now, kind, move.level, move.area, move.departments, actor,
                    note)
    return True
