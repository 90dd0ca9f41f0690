"""Possible duplicates: a new report near an open event of the same item, linked on intake.

Detection runs in the database (trigger ``event_duplicate_detect`` of revision 0004), so every
intake path (API, CLI, ETL) is covered; the distance and time window live in
``duplicate_config``. A dispatcher confirms (the event becomes ``duplicate``) or dismisses.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import InvalidInput, NotFound, WanggeError
from gis.workflow import state
from gis.workflow import transitions as workflow
from gis.workflow.escalation import EscalationStep
from gis.workflow.state import DuplicateLink

SQL = "workflow.sql"
PKG = "gis.workflow.sql"


class DuplicateConfig(TypedDict):
    """Distance (m) and window (h) of duplicate detection, and the switch."""

    distance_m: float
    window_h: float
    enabled: bool


class LinkDismissed(TypedDict):
    """A possible duplicate link dismissed (``dismiss``)."""

    event_id: int
    original_id: int
    status: str


def link_bulk(conn: Connection, after: int) -> int:
    """Link every event with an id above ``after`` as the trigger would have, in one pass.

    For bulk loads that disable ``event_duplicate_detect`` inside their transaction (which must
    also hold a lock that keeps other writers of ``event`` out). Returns the links made.
    """
    conn.execute(q(SQL, "analyze_event", PKG))
    for name in ("bulk_new_events", "bulk_open_events", "bulk_open_events_index"):
        conn.execute(q(SQL, name, PKG), {"after": after})
    conn.execute(q(SQL, "analyze_bulk_dup", PKG))
    links = conn.execute(q(SQL, "bulk_link", PKG)).rowcount
    conn.execute(q(SQL, "bulk_drop", PKG))
    return links


def get_config(engine: Engine) -> DuplicateConfig:
    """The distance (m) and time window (h) used to link possible duplicates."""
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "duplicate_config", PKG)).mappings().one()
        return DuplicateConfig(**row)


def set_config(engine: Engine, who: Principal, distance_m: float | None = None,
               window_h: float | None = None, enabled: bool | None = None) -> DuplicateConfig:
    """Change the duplicate window (district centre only)."""
    auth.require_role(who, "district_centre")
    for name, v in (("distance_m", distance_m), ("window_h", window_h)):
        if v is not None and not 0 <= v <= 100_000:
            raise InvalidInput.field(name, "must be between 0 and 100000", "out_of_range")
    with engine.begin() as conn:
        conn.execute(q(SQL, "set_duplicate_config", PKG),
                     {"d": distance_m, "w": window_h, "e": enabled})
        auth.audit(conn, who, "duplicates.config", None, "ok",
                   {"distance_m": distance_m, "window_h": window_h, "enabled": enabled})
    return get_config(engine)


def links(engine: Engine, status: str | None = "possible", event_id: int | None = None,
          who: Principal | None = None, limit: int = 200) -> list[DuplicateLink]:
    """Duplicate links (default: those waiting for a dispatcher) whose both events lie in
    who's area (a link reaching outside it is decided by a dispatcher covering both)."""
    if status is not None and status not in ("possible", "confirmed", "dismissed"):
        raise InvalidInput.field("status", "one of possible, confirmed, dismissed",
                                 "unknown_status")
    with engine.connect() as conn:
        scope = auth.read_scope(who)["scope_prefixes"]
        rows = conn.execute(q(SQL, "duplicate_links", PKG), {
            "status": status, "event_id": event_id, "limit": limit, "scope_prefixes": scope,
        }).mappings().all()
    return [DuplicateLink(**r) for r in rows]


def confirm(engine: Engine, event_id: int, original_id: int, who: Principal,
            note: str | None = None, now: datetime | None = None
            ) -> workflow.TransitionResult | EscalationStep:
    """Confirm: the event becomes ``duplicate`` of the original (a normal transition)."""
    return workflow.transition(engine, event_id, "mark_duplicate", who, note=note, now=now,
                               original_id=original_id)


def _check_original(conn: Connection, who: Principal, event_id: int, original_id: int) -> None:
    """A link whose original lies outside the caller's area does not exist for them (Hidden)."""
    grid = conn.execute(q(SQL, "event_grid", PKG), {"i": original_id}).first()
    if grid is not None and not who.covers({"grid_code": grid[0]}):
        raise auth.Hidden(f"no possible duplicate link {event_id} → {original_id}",
                          code="no_duplicate_link")


def dismiss(engine: Engine, event_id: int, original_id: int, who: Principal,
            note: str | None = None, now: datetime | None = None) -> LinkDismissed:
    """Dismiss a possible link: the two events are different; the event keeps its status."""
    now = now or datetime.now(UTC)
    target = f"event:{event_id}"
    try:
        with engine.begin() as conn:
            ev = state.lock_event(conn, event_id)
            auth.check_area(who, ev)
            _check_original(conn, who, event_id, original_id)
            n = conn.execute(q(SQL, "dismiss_link", PKG), {
                "at": now, "by": who.actor, "e": event_id, "o": original_id}).rowcount
            if n != 1:
                raise NotFound(f"no possible duplicate link {event_id} → {original_id}",
                               code="no_duplicate_link")
            state.write_history(conn, event_id, now, "duplicate_dismissed", ev["status"],
                                   ev["status"], who.actor, note, None,
                                   {"original_id": original_id})
            auth.audit(conn, who, "duplicate_dismissed", target, "ok",
                       {"original_id": original_id})
    except WanggeError as e:
        outcome, code = auth.refusal(e)
        auth.audit_now(engine, who, "duplicate_dismissed", target, outcome, {"code": code})
        raise
    return {"event_id": event_id, "original_id": original_id, "status": "dismissed"}
