"""Dispatch records: the level or department an event was sent to (上报 + 通报), and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.calendar import TimeLimit
from gis.db.queries import q
from gis.errors import InvalidInput
from gis.rulebook import LEVELS, rules

SQL = "workflow.sql"
PKG = "gis.workflow.sql"

# What dispatching an event of an item would do (``preview``); ``class`` is a keyword, hence
# the functional form. ``time_limit_h``: the limit by level, in ``time_limit_unit`` of that
# level ('h' clock hours, 'wh' working hours, 'wd' working days: each rule's own unit).
# Amounts are kept as the rules give them (int or float: 24 stays 24).
DispatchPreview = TypedDict("DispatchPreview", {
    "item": str, "class": str, "level": str, "departments": list[str],
    "time_limit_h": dict[str, int | float],
    "time_limit_unit": Annotated[dict[str, str], Field(description=(
        "unit of each level's limit: h clock hours, wh working hours, wd working days"))]})
DispatchPreview.__doc__ = "What dispatching an item would do: level, departments, time limits."


def area_for(conn: Connection, ev: Any, level: str) -> str | None:
    """The area code that handles ``ev`` at ``level`` (its grid, community, street, district)."""
    if level == "grid":
        return ev["grid_code"]
    if level == "community":
        return ev["community_code"]
    if level == "street":
        return ev["street_code"]
    if ev["street_code"] is None:
        return None
    return conn.execute(q(SQL, "district_of_street", PKG), {"s": ev["street_code"]}).scalar()



def record(conn: Connection, event_id: int, at: datetime, kind: str, level: str,
           area: str | None, departments: list[str], actor: str, note: str | None) -> None:
    """Write the handling record and one notification per department (上报 + 通报 at once)."""
    sql = q(SQL, "insert_dispatch", PKG)
    conn.execute(sql, {"e": event_id, "at": at, "k": kind, "lv": level, "a": area, "d": None,
                       "actor": actor, "note": note})
    for d in departments:
        conn.execute(sql, {"e": event_id, "at": at, "k": "notify", "lv": level, "a": area,
                           "d": d, "actor": actor, "note": note})



def preview(conn: Connection, item: str, level: str | None = None) -> DispatchPreview:
    """What dispatching an event of ``item`` would do (level, departments, time limit)."""
    row = conn.execute(q(SQL, "item_rule", PKG), {"c": item}).first()
    if row is None:
        raise InvalidInput.field("item", f"unknown event item {item!r}", "unknown_item")
    r = rules()
    lv = level or r.handling_level(item, row.class_code, row.default_level)
    if lv not in LEVELS:
        raise InvalidInput.field("level", f"must be one of {', '.join(LEVELS)}", "unknown_level")
    own = TimeLimit(row.time_limit_h, row.time_limit_unit)
    limits = {x: r.limit(item, row.class_code, x, row.default_level, own) for x in LEVELS}
    return {"item": item, "class": row.class_code, "level": lv,
            "departments": r.departments_for(item, row.class_code, lv),
            "time_limit_h": {x: v.amount for x, v in limits.items()},
            "time_limit_unit": {x: v.unit for x, v in limits.items()}}
