"""A grid worker's request to escalate (请求上报): grid workers may not escalate themselves
(``gis.workflow.escalation.climb_manual``); they ask, and dispatchers see the open requests.

A request is a history row (action ``ask_escalate``, status and level unchanged) and an audit
row. It stays open while its event is open and no escalation or whistle followed it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import Conflict, Forbidden, InvalidInput, WanggeError
from gis.workflow.state import ESCALATABLE, lock_event, write_history

SQL = "requests.sql"
PKG = "gis.workflow.sql"
ACTION = "ask_escalate"
ASKERS = ("grid_worker",)
READERS = ("community_dispatcher", "street_dispatcher", "district_centre")


class EscalationRequest(TypedDict):
    """A recorded request to escalate."""

    event_id: int
    at: Annotated[str, Field(description="ISO 8601 time of the request")]
    actor: str
    note: str


class OpenRequest(TypedDict):
    """An open request to escalate with its event's state."""

    id: Annotated[int, Field(description="history row id of the request")]
    event_id: int
    at: datetime
    actor: str
    note: str
    item: str
    item_name: str
    status: str
    level: str
    grid: str | None
    due_at: datetime | None


def ask_escalate(engine: Engine, event_id: int, who: Principal, note: str,
                 now: datetime | None = None) -> EscalationRequest:
    """Record a grid worker's request to escalate an open event it may see; refusals audited.

    Hidden outside the caller's area (as if missing); ``illegal_transition`` when not open.
    """
    now = now or datetime.now(UTC)
    target = f"event:{event_id}"
    try:
        if who.role not in ASKERS:
            raise Forbidden("只有网格员请求上报；调度员可直接提级 (only grid workers ask to "
                            "escalate; dispatchers escalate)", code="wrong_role")
        if not (note and note.strip()):
            raise InvalidInput.field("note", "请说明理由 (a note is required)", "note_required")
        with engine.begin() as conn:
            ev = lock_event(conn, event_id)
            auth.check_area(who, ev)
            if ev["status"] not in ESCALATABLE:
                raise Conflict(f"事件已结束，不能请求上报 (cannot ask to escalate event "
                               f"{event_id}: it is {ev['status']})", code="illegal_transition",
                               details=[{"field": "action",
                                         "reason": f"not allowed from {ev['status']}"}])
            write_history(conn, event_id, now, ACTION, ev["status"], ev["status"], who.actor,
                          note, None, {"level": ev["level"]})
            auth.audit(conn, who, ACTION, target, "ok", {"level": ev["level"]})
        return {"event_id": event_id, "at": now.isoformat(), "actor": who.actor, "note": note}
    except WanggeError as e:
        outcome, code = auth.refusal(e)
        auth.audit_now(engine, who, ACTION, target, outcome, {"code": code})
        raise


def open_requests(engine: Engine, who: Principal, limit: int = 200) -> list[OpenRequest]:
    """Open requests to escalate in the caller's area, newest first (dispatchers, centre)."""
    if who.role not in READERS:
        raise Forbidden("只有调度员可查看上报请求 (only dispatchers and the centre list "
                        "requests to escalate)", code="wrong_role")
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "open_requests", PKG), auth.read_scope(who) | {
            "open": list(ESCALATABLE), "limit": limit}).mappings()
        return [OpenRequest(**r) for r in rows]
