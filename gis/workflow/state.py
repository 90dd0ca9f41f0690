"""The event state machine's rules and records: transitions, positions, history rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.db.queries import q
from gis.errors import Conflict, InvalidInput, NotFound
from gis.geo.datum import to_wgs84
from gis.rulebook import LEVELS
from gis.territory.locator import check_coordinates, datum_or_error

SQL = "workflow.sql"
PKG = "gis.workflow.sql"
__all__ = ["LEVELS"]

# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("reported",), "accepted"),
    "reject": (("reported", "accepted"), "rejected"),
    "mark_duplicate": (("reported", "accepted"), "duplicate"),
    "dispatch": (("accepted", "reopened"), "dispatched"),
    "start": (("dispatched",), "in_progress"),
    "resolve": (("dispatched", "in_progress"), "resolved"),
    "close": (("resolved",), "closed"),
    "reopen": (("resolved", "closed"), "reopened"),
}
# Level actions: the status stays, the level climbs (see gis.workflow.escalation).
ESCALATABLE = ("reported", "accepted", "dispatched", "in_progress", "reopened")
LEVEL_ACTIONS = ("escalate", "whistle")
ACTIONS = tuple(TRANSITIONS) + LEVEL_ACTIONS
NOTE_REQUIRED = ("reject", "reopen", "whistle", "escalate")


class LockedEvent(TypedDict):
    """An event row and its catalogue entry, locked for a transition (``lock_event``)."""

    id: int
    status: str
    level: str
    item_code: str
    class_code: str
    default_level: str
    time_limit_h: float
    time_limit_unit: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    source: str
    reporter: str | None
    due_at: datetime | None
    reported_at: datetime
    worker_id: int | None


class DuplicateLink(TypedDict):
    """A possible, confirmed or dismissed duplicate link between two events."""

    event_id: int
    original_id: int
    distance_m: float
    gap_s: float
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    item_code: str
    event_status: str
    original_status: str
    grid_code: str | None


@dataclass(frozen=True)
class Position:
    """Where the actor was (WGS84)."""

    lon: float
    lat: float


def position(lon: float | None, lat: float | None, crs: str | None = "wgs84") -> Position | None:
    """Validate an optional position and convert it to WGS84."""
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise InvalidInput.field("lat" if lat is None else "lon",
                                 "lon and lat must be given together", "missing_coordinate")
    check_coordinates(lon, lat)
    x, y = to_wgs84(lon, lat, datum_or_error(crs))
    return Position(float(x), float(y))


def allowed_actions(status: str) -> list[str]:
    """Actions possible from ``status``."""
    out = [a for a, (src, _dst) in TRANSITIONS.items() if status in src]
    if status in ESCALATABLE:
        out += list(LEVEL_ACTIONS)
    return out


def lock_event(conn: Connection, event_id: int) -> LockedEvent:
    """The event row locked FOR UPDATE; NotFound when it does not exist."""
    row = conn.execute(q(SQL, "event_for_update", PKG), {"id": event_id}).mappings().first()
    if row is None:
        raise NotFound(f"no event {event_id}", code="event_not_found")
    return LockedEvent(**row)


def write_history(conn: Connection, event_id: int, at: datetime, action: str,
                  from_status: str | None, to_status: str | None, actor: str,
                  note: str | None, pos: Position | None, data: dict[str, Any]) -> None:
    """One event_history row: who, when, where, note and the details."""
    conn.execute(q(SQL, "history", PKG), {
        "id": event_id, "at": at, "action": action, "from_status": from_status,
        "to_status": to_status, "actor": actor, "note": note,
        "lon": pos.lon if pos else None, "lat": pos.lat if pos else None,
        "data": json.dumps(data, default=str, ensure_ascii=False)})


def illegal(ev: dict[str, Any], action: str) -> Conflict:
    """The error for an action not allowed from the event's status."""
    allowed = allowed_actions(ev["status"])
    return Conflict(f"cannot {action} event {ev['id']}: it is {ev['status']}; allowed: "
                    f"{', '.join(allowed) or 'none'}", code="illegal_transition",
                    details=[{"field": "action", "reason": f"not allowed from {ev['status']}"}])
