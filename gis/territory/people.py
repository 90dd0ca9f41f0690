"""Workers and the roles they hold in grids and units."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection

from gis.db.queries import q

SQL = "people.sql"
PKG = "gis.territory.sql"
ROLES = ("grid_leader", "grid_instructor", "full_time", "specialist", "part_time", "auxiliary",
         "unit_head", "building_head", "volunteer")
ROLE_ZH = {  # the Chinese names of the roles, for people (dashboard, exports)
    "grid_leader": "网格长", "grid_instructor": "网格指导员", "full_time": "专职网格员",
    "specialist": "专业网格员", "part_time": "兼职网格员", "auxiliary": "网格协管员",
    "unit_head": "单元长", "building_head": "楼栋长", "volunteer": "志愿者",
}


def mask_phone(phone: str | None) -> str | None:
    """138****5678 style masking for logs and reports."""
    if not phone:
        return phone
    p = str(phone)
    return p[:3] + "*" * max(len(p) - 7, 0) + p[-4:] if len(p) > 7 else "*" * len(p)


def mask_id_number(idn: str | None) -> str | None:
    """Resident ID masked to its first 6 and last 2 characters."""
    if not idn:
        return idn
    s = str(idn)
    return s[:6] + "*" * max(len(s) - 8, 0) + s[-2:] if len(s) > 8 else "*" * len(s)


@dataclass(frozen=True)
class Worker:
    """A worker as a roster or generator gives it; a blank phone or ID number keeps the old."""

    code: str
    name: str
    phone: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class WorkersSaved:
    """Ids of the saved workers by code, and how many were inserted, updated, left alone."""

    ids: dict[str, int]
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def save_workers(conn: Connection, workers: Iterable[Worker]) -> WorkersSaved:
    """Insert or update workers (the last of a repeated code wins) in one statement."""
    rows = list({w.code: w for w in workers}.values())
    if not rows:
        return WorkersSaved({})
    res = conn.execute(q(SQL, "save_workers", PKG), {
        "codes": [w.code for w in rows], "names": [w.name for w in rows],
        "phones": [w.phone for w in rows], "id_numbers": [w.id_number for w in rows]}).all()
    changes = Counter(r.change for r in res)
    return WorkersSaved({r.code: r.id for r in res}, changes["inserted"], changes["updated"],
                        changes["unchanged"])


class WorkerEntry(NamedTuple):
    """A worker to insert or update (``upsert_workers``): code, name, phone."""

    code: str
    name: str
    phone: str | None = None


class RoleGrant(NamedTuple):
    """A role to add (``assign_roles``): worker id, area code, role, start (None: now)."""

    worker_id: int
    area_code: str
    role: str
    valid_from: datetime | None = None


def upsert_workers(conn: Connection, workers: Iterable[WorkerEntry]) -> dict[str, int]:
    """Insert or update (code, name, phone) workers; returns code → id."""
    return save_workers(conn, (Worker(c, n, p) for c, n, p in workers)).ids


def assign_roles(conn: Connection, roles: Iterable[RoleGrant]) -> int:
    """Add (worker_id, area_code, role, valid_from) roles not already held open-ended."""
    rows = [(w, a, r, f) for w, a, r, f in roles]
    if not rows:
        return 0
    n = conn.execute(q(SQL, "assign_roles", PKG), {
        "workers": [w for w, _a, _r, _f in rows], "areas": [a for _w, a, _r, _f in rows],
        "roles": [r for _w, _a, r, _f in rows], "starts": [f for _w, _a, _r, f in rows],
    }).rowcount
    if n:
        rederive_workers(conn, sorted({a for _w, a, _r, _f in rows}), note="roles assigned")
    return n


@dataclass(frozen=True)
class RolePeriod:
    """A role a worker holds in a grid or unit from ``valid_from`` (None: from now, or the
    role held open) until ``valid_to`` (None: open-ended)."""

    worker_id: int
    area_code: str
    role: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True)
class PeriodOutcome:
    """What recording one period did: 'added', 'ended', 'reopened', 'unchanged', or why it
    could not ('nothing_to_end', 'ends_before_start' with ``held_from`` the role's start)."""

    change: str
    held_from: datetime | None = None


@dataclass(frozen=True)
class RolesRecorded:
    """Outcomes of recorded periods (in their order) and the open events reassigned."""

    outcomes: list[PeriodOutcome]
    reassigned: int = 0

    def count(self, *changes: str) -> int:
        """How many periods had one of ``changes``."""
        return sum(1 for o in self.outcomes if o.change in changes)


@dataclass
class _Held:
    """A grid_role row as a plan sees it: ``id`` None for a row still to insert."""

    rank: tuple[int, int]
    key: tuple[int, str, str]
    valid_from: datetime
    valid_to: datetime | None
    id: int | None = None


_Plan = tuple[list[PeriodOutcome], list[_Held], dict[int, datetime | None]]
CHANGED = ("added", "ended", "reopened")


def rederive_workers(conn: Connection, grids: Sequence[str] | None = None, *,
                     actor: str | None = None, note: str = "roles changed") -> int:
    """Give the open events of ``grids`` (None: all) the worker the roles name now.

    The one rule for a change of roles: the full-time worker of the event's grid, else its
    grid leader, else none; each event whose worker changes gets a 'reassigned' history row.
    A worker who never held a full-time or leader role in the event's grid was set by hand
    and is kept. Returns how many events changed.
    """
    row = conn.execute(q(SQL, "rederive_workers", PKG), {
        "grids": None if grids is None else list(grids), "actor": actor, "note": note}).one()
    return int(row.changed)


def record_role_periods(conn: Connection, periods: Sequence[RolePeriod], *, now: datetime,
                        actor: str | None = None, note: str = "roles changed") -> RolesRecorded:
    """Record role periods, in order, as the one roster rule says (see ``_plan_periods``).

    New roles are inserted and changed ends written set-based; when anything changed, the
    open events of every area named are re-derived (``rederive_workers``).
    """
    held = _held_roles(conn, periods)
    outcomes, new, ends = _plan_periods(held, periods, now)
    _write_roles(conn, new, ends)
    changed = any(o.change in CHANGED for o in outcomes)
    reassigned = (rederive_workers(conn, sorted({p.area_code for p in periods}), actor=actor,
                                   note=note) if changed else 0)
    return RolesRecorded(outcomes, reassigned)


def _held_roles(conn: Connection,
                periods: Sequence[RolePeriod]) -> dict[tuple[int, str, str], list[_Held]]:
    """The roles on file of the periods' workers in the periods' areas, by (worker, area, role)."""
    held: dict[tuple[int, str, str], list[_Held]] = defaultdict(list)
    if not periods:
        return held
    rows = conn.execute(q(SQL, "held_roles", PKG), {
        "workers": sorted({p.worker_id for p in periods}),
        "areas": sorted({p.area_code for p in periods})})
    for r in rows:
        key = (r.worker_id, r.area_code, r.role)
        held[key].append(_Held((0, r.id), key, r.valid_from, r.valid_to, r.id))
    return held


def _match(rows: list[_Held], p: RolePeriod) -> _Held | None:
    """The held role a period speaks of: the one starting at its start (the first), else,
    with no start, the open one or the one it already ended (open first, then latest)."""
    if p.valid_from is not None:
        return min((r for r in rows if r.valid_from == p.valid_from), key=lambda r: r.rank,
                   default=None)
    return max((r for r in rows if r.valid_to is None
                or (p.valid_to is not None and r.valid_to == p.valid_to)),
               key=lambda r: (r.valid_to is None, r.valid_from, r.rank), default=None)


def _plan_periods(held: dict[tuple[int, str, str], list[_Held]],
                  periods: Sequence[RolePeriod], now: datetime) -> _Plan:
    """Each period in turn, seeing the ones before it: a matched role takes the period's end
    (unless it would end at or before its start); else a new role from the period's start (or
    ``now``), unless it would end by then. Returns outcomes, roles to add, ends by role id."""
    outcomes: list[PeriodOutcome] = []
    new: list[_Held] = []
    ends: dict[int, datetime | None] = {}
    for p in periods:
        key = (p.worker_id, p.area_code, p.role)
        row, vt = _match(held[key], p), p.valid_to
        if row is None:
            start = p.valid_from or now
            if vt is not None and vt <= start:
                outcomes.append(PeriodOutcome("nothing_to_end"))
                continue
            row = _Held((1, len(new)), key, start.astimezone(UTC), vt)
            held[key].append(row)
            new.append(row)
            outcomes.append(PeriodOutcome("added"))
        elif row.valid_to != vt and vt is not None and vt <= row.valid_from:
            outcomes.append(PeriodOutcome("ends_before_start", row.valid_from))
        elif row.valid_to != vt:
            row.valid_to = vt
            if row.id is not None:
                ends[row.id] = vt
            outcomes.append(PeriodOutcome("reopened" if vt is None else "ended"))
        else:
            outcomes.append(PeriodOutcome("unchanged"))
    return outcomes, new, ends


def _write_roles(conn: Connection, new: list[_Held], ends: dict[int, datetime | None]) -> None:
    """Insert the planned roles (with their final ends) and write the changed ends."""
    if new:
        conn.execute(q(SQL, "add_role_periods", PKG), {
            "workers": [r.key[0] for r in new], "areas": [r.key[1] for r in new],
            "roles": [r.key[2] for r in new], "starts": [r.valid_from for r in new],
            "ends": [r.valid_to for r in new]})
    if ends:
        conn.execute(q(SQL, "set_role_ends", PKG), {"ids": list(ends),
                                                    "ends": list(ends.values())})


def first_full_time_worker(conn: Connection) -> str | None:
    """The code of the first active full-time grid worker with a current role (None: none)."""
    return conn.execute(q(SQL, "first_full_time_worker", PKG)).scalar()


def first_worker_community(conn: Connection) -> str | None:
    """The community code of the first full-time grid worker's grid (None: no worker)."""
    return conn.execute(q(SQL, "first_worker_community", PKG)).scalar()
