"""The event state machine (闭环): every transition checked, recorded with who/when/where/note."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, NotRequired

from pydantic import Field
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis import rulebook
from gis.access import auth
from gis.access.auth import Principal
from gis.calendar import Calendar
from gis.db.queries import q
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound, WanggeError
from gis.intake import events
from gis.intake.resident import mask_phone
from gis.workflow import levels, state
from gis.workflow.escalation import EscalationStep
from gis.workflow.state import (
    ACTIONS,
    LEVELS,
    NOTE_REQUIRED,
    TRANSITIONS,
    DuplicateLink,
    Position,
    allowed_actions,
    illegal,
    lock_event,
    position,
    write_history,
)

SQL = "workflow.sql"
PKG = "gis.workflow.sql"

# A status transition as recorded (``transition``): ``from`` is a keyword, hence the
# functional form. The optional keys are the action's details: ``dispatch`` (level, area,
# departments, due_at as ISO text), ``accept`` (points, resident), ``mark_duplicate``
# (original_id), ``resolve`` (due_at as a time or None, within_limit).
TransitionResult = TypedDict("TransitionResult", {
    "id": int, "action": str, "from": str, "to": str,
    "at": Annotated[str, Field(description="ISO 8601 time of the transition")], "actor": str,
    "level": NotRequired[Annotated[str, Field(description="dispatch: the handling level")]],
    "area": NotRequired[Annotated[str, Field(description="dispatch: the handling area")]],
    "departments": NotRequired[Annotated[list[str], Field(
        description="dispatch: departments notified")]],
    "due_at": NotRequired[Annotated[str | datetime | None, Field(
        description="dispatch, resolve: due time")]],
    "points": NotRequired[Annotated[int, Field(
        description="accept: points given to the resident")]],
    "resident": NotRequired[Annotated[str, Field(description="accept: the resident rewarded")]],
    "original_id": NotRequired[Annotated[int, Field(
        description="mark_duplicate: the original event")]],
    "within_limit": NotRequired[Annotated[bool, Field(
        description="resolve: within the time limit")]]})


class WorkflowView(TypedDict):
    """An event's workflow state (``workflow_view``): allowed actions, dispatch records,
    duplicate links."""

    id: int
    status: str
    level: str
    due_at: datetime | None
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    item_code: str
    allowed_actions: list[str]
    dispatch: list[events.DispatchRecord]
    duplicates: list[DuplicateLink]


class Acknowledgement(TypedDict):
    """A notification acknowledged (通报签收, ``acknowledge``)."""

    id: int
    event_id: int
    department: str
    acknowledged_at: Annotated[str, Field(description="ISO 8601 time")]
    actor: str


class Notification(TypedDict):
    """A department notification (通报) with its event (``notifications``)."""

    id: int
    event_id: int
    at: datetime
    level: str | None
    area_code: str | None
    department: str
    actor: str | None
    note: str | None
    acknowledged_at: datetime | None
    item_code: str
    status: str
    grid_code: str | None

def _dispatch(conn: Connection, ev: dict[str, Any], who: Principal, now: datetime,
              note: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """Set the handling level and due time; record the handler and notify departments."""
    r = rulebook.rules()
    lv = params.get("level") or r.handling_level(ev["item_code"], ev["class_code"],
                                                 ev["default_level"])
    if lv not in LEVELS:
        raise InvalidInput.field("level", f"must be one of {', '.join(LEVELS)}", "unknown_level")
    move = levels.plan(conn, ev, lv, now, params.get("departments"), params.get("cal"))
    if move.area is None:
        raise Conflict(f"event {ev['id']} has no {lv} (it is unassigned); locate it first",
                       code="no_area_at_level")
    levels.move_to_level(conn, ev, move, now, "handle", who.actor, note)
    return {"level": lv, "area": move.area, "departments": move.departments,
            "due_at": move.due_at.isoformat()}


def _apply(conn: Connection, ev: dict[str, Any], action: str, who: Principal, now: datetime,
           note: str | None, pos: Position | None, params: dict[str, Any]) -> dict[str, Any]:
    """Apply one status transition on a locked event; returns the history details."""
    src, dst = TRANSITIONS[action]
    if ev["status"] not in src:
        raise illegal(ev, action)
    data: dict[str, Any] = {}
    if action == "dispatch":
        data = _dispatch(conn, ev, who, now, note, params)
    elif action == "accept":
        if ev["source"] == "resident" and ev["reporter"]:
            pts = rulebook.rules().points_accepted
            conn.execute(q(SQL, "award_points", PKG), {"reporter": ev["reporter"], "id": ev["id"],
                                                  "points": pts, "at": now})
            data = {"points": pts, "resident": mask_phone(ev["reporter"])}
    elif action in ("reject", "mark_duplicate"):
        conn.execute(q(SQL, "revoke_points", PKG), {"id": ev["id"]})
        if action == "mark_duplicate":
            data = _confirm_original(conn, ev, who, now, params.get("original_id"))
    elif action == "resolve":
        overdue = conn.execute(q(SQL, "was_overdue", PKG), {"id": ev["id"]}).scalar()
        due = ev["due_at"]
        data = {"due_at": due, "within_limit": bool(due is None or now <= due) and not overdue}
    n = conn.execute(q(SQL, "set_status", PKG), {"id": ev["id"], "to": dst, "from": ev["status"],
                                            "now": now}).rowcount
    if n != 1:  # cannot happen under the row lock; refuse rather than guess
        raise Conflict(f"event {ev['id']} changed meanwhile; retry", code="concurrent_change")
    write_history(conn, ev["id"], now, action, ev["status"], dst, who.actor, note, pos, data)
    return {"id": ev["id"], "action": action, "from": ev["status"], "to": dst,
            "at": now.isoformat(), "actor": who.actor} | data


def _confirm_original(conn: Connection, ev: dict[str, Any], who: Principal, now: datetime,
                      original_id: int | None) -> dict[str, Any]:
    """Check the original of a duplicate and mark the link confirmed."""
    if original_id is None:
        rows = conn.execute(q(SQL, "possible_originals", PKG), {"e": ev["id"]}).all()
        if len(rows) != 1:
            raise InvalidInput.field("original_id", "name the original event "
                                     f"({len(rows)} possible originals are linked)",
                                     "original_required")
        original_id = rows[0][0]
    if original_id == ev["id"]:
        raise InvalidInput.field("original_id", "an event cannot duplicate itself",
                                 "self_duplicate")
    original = conn.execute(q(SQL, "original_event", PKG), {"i": original_id}).mappings().first()
    if original is None:
        raise NotFound(f"no event {original_id}", code="event_not_found")
    # both events must lie in the caller's area: an original outside it does not exist for them
    auth.check_area(who, original)
    orig = original["status"]
    if orig in ("rejected", "duplicate"):
        raise Conflict(f"event {original_id} is {orig}; it cannot be an original",
                       code="bad_original")
    conn.execute(q(SQL, "link_duplicate", PKG), {"event_id": ev["id"], "original_id": original_id,
                                            "status": "confirmed", "at": now, "actor": who.actor})
    return {"original_id": original_id}


def transition(engine: Engine, event_id: int, action: str, who: Principal, *,
               note: str | None = None, lon: float | None = None, lat: float | None = None,
               crs: str | None = "wgs84", now: datetime | None = None,
               level: str | None = None, departments: list[str] | None = None,
               original_id: int | None = None,
               cal: Calendar | None = None) -> TransitionResult | EscalationStep:
    """Apply ``action`` to an event atomically; refusals change nothing and are audited.
    Due times follow the district calendar ``cal`` (``calendar.district(settings)``)."""
    now = now or datetime.now(UTC)
    target = f"event:{event_id}"
    try:
        if action not in ACTIONS:
            raise InvalidInput.field("action", f"unknown action {action!r}; one of "
                                     f"{', '.join(ACTIONS)}", "unknown_action")
        if action in NOTE_REQUIRED and not (note and note.strip()):
            raise InvalidInput.field("note", f"a note is required to {action}", "note_required")
        pos = position(lon, lat, crs)
        if who.role == "department":
            raise Forbidden("departments acknowledge their notifications "
                            "(POST /api/v1/dispatches/{id}/acknowledge); they do not move events",
                            code="wrong_role")
        with engine.begin() as conn:
            ev = lock_event(conn, event_id)
            auth.check_area(who, ev)
            result: TransitionResult | EscalationStep
            if action in state.LEVEL_ACTIONS:
                from gis.workflow import escalation

                result = escalation.climb_manual(conn, ev, action, who, now, note, pos,
                                                 level, departments, cal)
            else:
                result = _apply(conn, ev, action, who, now, note, pos,
                                {"level": level, "departments": departments,
                                 "original_id": original_id, "cal": cal})
            auth.audit(conn, who, action, target, "ok",
                       {k: v for k, v in result.items() if k not in ("id", "actor")})
        return result
    except WanggeError as e:
        outcome, code = auth.refusal(e)
        auth.audit_now(engine, who, action, target, outcome,
                       {"code": code, "message": e.message})
        raise


def workflow_view(engine: Engine, event_id: int,
                  who: Principal | None = None) -> WorkflowView:
    """Status, level, due time, allowed actions, dispatch records and duplicate links.

    With a principal: Hidden (as if missing) outside its area, and only the links whose both
    events lie in its area.
    """
    with engine.connect() as conn:
        ev = conn.execute(q(SQL, "event_summary", PKG), {"i": event_id}).mappings().first()
        if ev is None:
            raise NotFound(f"no event {event_id}", code="event_not_found")
        if who is not None:
            auth.check_area(who, ev)
        links = conn.execute(q(SQL, "duplicate_links", PKG), {
            "status": None, "event_id": event_id, "limit": 100,
            "scope_prefixes": auth.read_scope(who)["scope_prefixes"],
        }).mappings().all()
        return dict(ev) | {"allowed_actions": allowed_actions(ev["status"]),
                           "dispatch": events.dispatch_records(conn, event_id),
                           "duplicates": [dict(x) for x in links]}


ACK_ROLES = ("department", "district_centre")


def acknowledge(engine: Engine, dispatch_id: int, who: Principal, *, note: str | None = None,
                now: datetime | None = None) -> Acknowledgement:
    """A department acknowledges a notification (通报签收): sets ``acknowledged_at`` once.

    A ``department`` token acknowledges its own department's notifications; the district
    centre may acknowledge any on a department's behalf (e.g. confirmed by phone). Writes a
    history row (action ``acknowledge``, the status unchanged) and an audit row; refusals
    change nothing and are audited.
    """
    now = now or datetime.now(UTC)
    target = f"dispatch:{dispatch_id}"
    try:
        auth.require_role(who, *ACK_ROLES)
        with engine.begin() as conn:
            d = conn.execute(q(SQL, "dispatch_for_update", PKG),
                             {"id": dispatch_id}).mappings().first()
            if d is None:
                raise NotFound(f"no dispatch record {dispatch_id}", code="dispatch_not_found")
            if who.role == "department" and not conn.execute(
                    q("events.sql", "event_visible", "gis.intake.sql"),
                    {"id": d["event_id"]} | auth.read_scope(who)).scalar():
                # a record of an event the department was not notified of does not exist for it
                raise auth.Hidden(f"no dispatch record {dispatch_id}", code="dispatch_not_found",
                                  audit_code="other_department")
            target = f"event:{d['event_id']}"
            if d["department"] is None:
                raise Conflict(f"dispatch record {dispatch_id} is a {d['kind']} record of the "
                               f"{d['level']} level, not a department notification",
                               code="not_a_notification")
            if who.role == "department" and who.department != d["department"]:
                raise Forbidden(f"dispatch record {dispatch_id} notifies {d['department']}, "
                                f"not {who.department}", code="other_department")
            if d["acknowledged_at"] is not None:
                raise Conflict(f"dispatch record {dispatch_id} was already acknowledged at "
                               f"{d['acknowledged_at'].isoformat()}", code="already_acknowledged")
            conn.execute(q(SQL, "acknowledge", PKG), {"id": dispatch_id, "at": now})
            data = {"dispatch_id": dispatch_id, "department": d["department"],
                    "level": d["level"], "area": d["area_code"],
                    "notified_at": d["at"].isoformat()}
            write_history(conn, d["event_id"], now, "acknowledge", d["status"], d["status"],
                          who.actor, note, None, data)
            auth.audit(conn, who, "dispatch.acknowledge", target, "ok", data)
        return {"id": dispatch_id, "event_id": d["event_id"], "department": d["department"],
                "acknowledged_at": now.isoformat(), "actor": who.actor}
    except WanggeError as e:
        outcome, code = auth.refusal(e)
        auth.audit_now(engine, who, "dispatch.acknowledge", target, outcome,
                       {"code": code, "message": e.message, "dispatch_id": dispatch_id})
        raise


def notifications(engine: Engine, who: Principal | None = None, department: str | None = None,
                  pending: bool = False, limit: int = 200) -> list[Notification]:
    """Department notifications the caller may see, newest first.

    A department sees its own; dispatchers and grid workers those of events in their area;
    the district centre (or no principal) all. Planners see none (Forbidden).
    """
    scope = auth.read_scope(who)
    prefixes = scope["scope_prefixes"]
    if who is not None and who.role == "planner":
        raise Forbidden("planners work on boundaries, not on the workflow", code="wrong_role")
    if who is not None and who.role == "department":
        if department not in (None, who.department):
            raise Forbidden(f"a {who.department} token sees only its own notifications",
                            code="other_department")
        department, prefixes = who.department, None
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "notifications", PKG), {
            "department": department, "pending": pending, "scope_prefixes": prefixes,
            "limit": limit}).mappings()
        return [Notification(**r) for r in rows]
