"""The dispatcher workbench's queues (调度工作台): new reports, unassigned / outside, possible
duplicates, overdue, escalated to the caller's level and open requests to escalate.

Every queue reads through the one scope rule (``visible_events``, migration 0007): a caller
sees only the events of its area. Each queue gives its full size and its first rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import Field
from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import Forbidden, InvalidInput
from gis.workflow.state import ESCALATABLE

SQL = "queues.sql"
PKG = "gis.workflow.sql"
QueueName = Literal["new", "unassigned", "duplicates", "overdue", "escalated", "requests"]
QUEUES: tuple[str, ...] = get_args(QueueName)
READERS = ("community_dispatcher", "street_dispatcher", "district_centre")
ROLE_LEVEL = {"community_dispatcher": "community", "street_dispatcher": "street",
              "district_centre": "district"}


class QueueRow(TypedDict):
    """One event in a queue."""

    id: int
    item: Annotated[str, Field(description="catalogue item code")]
    item_name: Annotated[str, Field(description="the item's Chinese name")]
    status: str
    level: Literal["grid", "community", "street", "district"]
    grid: Annotated[str | None, Field(description="grid code; null when unassigned")]
    reported_at: datetime
    due_at: datetime | None
    overdue: bool


class Queue(TypedDict):
    """One queue: its full size in the caller's area and its first rows."""

    name: QueueName
    count: Annotated[int, Field(ge=0)]
    rows: list[QueueRow]


class Workbench(TypedDict):
    """The caller's queues, in the order of ``QUEUES``: new reports (待受理), unassigned /
    outside (未落格), possible duplicates (疑似重复), overdue (超期), escalated to my level
    (上报至本级) and requests to escalate (请求上报); and the caller's level."""

    level: Literal["community", "street", "district"]
    queues: list[Queue]


def level_of(who: Principal) -> str:
    """The level a dispatcher works at (street for a street dispatcher, ...)."""
    return ROLE_LEVEL[who.role]


def queue(engine: Engine, who: Principal, name: str, limit: int = 50,
          now: datetime | None = None) -> Queue:
    """One queue of the caller's area: its size and first ``limit`` rows."""
    if who.role not in READERS:
        raise Forbidden("只有调度员和指挥中心可使用工作台 (only dispatchers and the district "
                        "centre use the workbench)", code="wrong_role")
    if name not in QUEUES:
        raise InvalidInput.field("queue", f"未知队列 (unknown queue {name!r}; one of "
                                 f"{', '.join(QUEUES)})", "unknown_queue")
    if not 1 <= limit <= 500:
        raise InvalidInput.field("limit", "须在 1 到 500 之间 (must be 1..500)", "out_of_range")
    params = auth.read_scope(who) | {"now": now or datetime.now(UTC), "limit": limit,
                                     "open": list(ESCALATABLE), "level": level_of(who)}
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q(SQL, f"queue_{name}", PKG), params).mappings()]
    total = int(rows[0]["total"]) if rows else 0
    out = [QueueRow(**{k: v for k, v in r.items() if k != "total"}) for r in rows]
    return Queue(name=name, count=total, rows=out)


def workbench(engine: Engine, who: Principal, limit: int = 50,
              now: datetime | None = None) -> Workbench:
    """Every queue of the caller's area (the district centre alone sees unassigned events)."""
    now = now or datetime.now(UTC)
    queues = [queue(engine, who, n, limit, now) for n in QUEUES]
    return Workbench(level=level_of(who), queues=queues)


PHONE_ROLES = ("community_dispatcher", "street_dispatcher", "district_centre")


class HistoryRow(TypedDict):
    """One step of an event's history."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor: str | None
    note: str | None
    level: str | None  # the level sent or moved to (dispatch, escalation, whistle)
    departments: list[str]  # the departments notified by this step


class EventDetail(TypedDict):
    """An event as the workbench shows it: state, place, responsible worker, history."""

    id: int
    item: str
    item_name: str
    status: str
    level: str
    grid: str | None
    reported_at: datetime
    due_at: datetime | None
    description: str
    address: str | None
    location_status: str
    lon: float | None
    lat: float | None
    worker_code: str | None
    worker_name: str | None
    worker_phone: str | None
    history: list[HistoryRow]


def event_detail(engine: Engine, who: Principal, event_id: int) -> EventDetail:
    """One event of the caller's area with its history; Hidden (as if missing) outside it.

    The worker's phone is given only to dispatchers and the district centre.
    """
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "event_detail", PKG),
                           auth.read_scope(who) | {"id": event_id}).mappings().first()
        if row is None:
            raise auth.Hidden(f"no event {event_id}", code="event_not_found")
        hist = conn.execute(q(SQL, "event_history", PKG), {"id": event_id}).mappings().all()
    out = dict(row)
    if who.role not in PHONE_ROLES:
        out["worker_phone"] = None
    return EventDetail(**out, history=[HistoryRow(**h) for h in hist])
