"""Patrols: daily duty per grid, coverage of units by tracks, unvisited units, patrols due."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, NamedTuple

from pydantic import Field
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis import rulebook
from gis.access import auth, scope
from gis.access.auth import Principal
from gis.clock import CST, day_bounds
from gis.db.engine import heavy_connect
from gis.db.queries import q
from gis.errors import InvalidInput

SQL = "coverage.sql"
PKG = "gis.oversight.sql"


class UnitVisits(TypedDict):
    """A unit and the ids of the workers whose tracks passed it (``unit_visits``)."""

    unit: str
    grid_code: str
    workers: list[int]


class ResponsibleWorker(TypedDict):
    """The worker answering for a grid and the grid's daily patrol duty (``responsible``)."""

    grid_code: str
    worker_id: int
    worker: str
    role: str
    duty: int


class GridCoverage(TypedDict):
    """Units of one grid passed by tracks: its units, those visited, and the share (None: no
    units)."""

    grid: str
    units: int
    visited: int
    coverage: float | None


class CoverageReport(TypedDict):
    """Units passed by tracks in a period, in total and per grid (``coverage``)."""

    since: datetime
    until: datetime
    distance_m: float
    worker: str | None
    area: str | None
    units: int
    visited: int
    coverage: float | None
    grids: list[GridCoverage]


class UnvisitedUnit(TypedDict):
    """A unit not visited recently (``last_visit`` null: never)."""

    unit: str
    grid_code: str
    last_visit: datetime | None


class PatrolDue(TypedDict):
    """A worker's patrols in one grid on one day: duty, done, still due (``patrols_due``)."""

    worker: str
    grid: str
    role: str
    date: Annotated[str, Field(json_schema_extra={"format": "date"})]  # ISO, in CST
    duty: int
    done: int
    due: int


class GridPatrols(TypedDict):
    """Duty, done and due of one grid, within a reminder."""

    grid: str
    duty: int
    done: int
    due: int


class DueUnit(TypedDict):
    """A unit due for a visit, placed for a map: name, a point inside it (WGS84), last visit."""

    unit: str
    name: str
    grid_code: str
    lon: float
    lat: float
    last_visit: datetime | None


class Reminder(TypedDict):
    """Patrols due of one worker (today), with its grids' units not visited recently."""

    worker: str
    patrols_due: int
    grids: list[GridPatrols]
    unvisited_units: list[str]
    units: Annotated[list[DueUnit], Field(
        description="unvisited_units with names and positions.")]


class DutySet(TypedDict):
    """A grid's daily patrol duty, as set (``set_duty``)."""

    grid: str
    patrols_per_day: int


def _check_period(since: datetime, until: datetime) -> None:
    """InvalidInput unless since < until."""
    if since >= until:
        raise InvalidInput.field("until", "must be after since", "bad_period")


def unit_visits(conn: Connection, since: datetime, until: datetime, distance_m: float,
                area: str | None = None, days: tuple[date, date] | None = None,
                visited_only: bool = False) -> list[UnitVisits]:
    """Every unit under ``area`` with the worker ids whose tracks passed it in the period.

    ``days`` (CST days [first, last)): leave out the tracks counted in patrol_unit_day for
    them; ``visited_only``: only units some track passed."""
    d0, d1 = days or (None, None)
    rows = conn.execute(q(SQL, "unit_visits", PKG), {
        "since": since, "until": until, "d": distance_m, "area": scope.area_prefixes(area),
        "d0": d0, "d1": d1, "visited_only": visited_only}).mappings()
    return [UnitVisits(**r) for r in rows]


class DaySpan(NamedTuple):
    """Whole China Standard Time days [first, last)."""

    first: date
    last: date


def whole_days(since: datetime, until: datetime) -> DaySpan | None:
    """The CST days [first, last) when ``since`` and ``until`` are both CST midnights."""
    if since.tzinfo is None or until.tzinfo is None:
        return None
    d0, d1 = since.astimezone(CST).date(), until.astimezone(CST).date()
    if day_bounds(d0)[0] == since and day_bounds(d1)[0] == until:
        return DaySpan(d0, d1)
    return None


def _share(visited: int, units: int) -> float | None:
    """visited / units to 4 places (None without units)."""
    return round(visited / units, 4) if units else None


def _grids_of(visits: list[UnitVisits], wid: int | None) -> list[GridCoverage]:
    """Per grid: units, and those passed (by worker ``wid`` when given)."""
    grids: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for v in visits:
        g = grids[v["grid_code"]]
        g[0] += 1
        if (wid in v["workers"]) if wid else bool(v["workers"]):
            g[1] += 1
    return [GridCoverage(grid=k, units=n, visited=vis, coverage=_share(vis, n))
            for k, (n, vis) in sorted(grids.items())]


def day_grids(conn: Connection, since: datetime, until: datetime, distance_m: float,
              area: str | None, days: tuple[date, date]) -> list[GridCoverage]:
    """Per grid, the units passed on whole CST days: patrol_unit_day's counted tracks, plus
    the other tracks' visits found as unit_visits finds them, grouped in the database."""
    extra = [v["unit"] for v in unit_visits(conn, since, until, distance_m, area, days,
                                            visited_only=True)]
    rows = conn.execute(q(SQL, "day_coverage", PKG), {
        "d0": days[0], "d1": days[1], "d": distance_m, "area": scope.area_prefixes(area),
        "extra": extra}).mappings()
    return [GridCoverage(grid=r["grid"], units=r["units"], visited=r["visited"],
                         coverage=_share(r["visited"], r["units"])) for r in rows]


def responsible(conn: Connection, at: datetime,
                area: str | None = None) -> list[ResponsibleWorker]:
    """Per grid: the worker answering for it at ``at`` and its daily patrol duty."""
    return [ResponsibleWorker(**r) for r in conn.execute(q(SQL, "responsible", PKG), {
        "at": at, "area": scope.area_prefixes(area),
        "default_duty": rulebook.rules().patrols_per_day}).mappings()]


def coverage(engine: Engine, since: datetime, until: datetime, area: str | None = None,
             distance_m: float | None = None, worker: str | None = None) -> CoverageReport:
    """Units passed within ``distance_m`` by tracks in [since, until), per grid and in total
    (whole CST days without ``worker``: from the per-day visit table, ``day_grids``)."""
    _check_period(since, until)
    d = distance_m if distance_m is not None else rulebook.rules().unit_distance_m
    with heavy_connect(engine) as conn:
        wid = None
        if worker:
            wid = conn.execute(q(SQL, "worker_id", PKG), {"c": worker}).scalar()
            if wid is None:
                raise InvalidInput.field("worker", f"unknown worker {worker!r}", "unknown_worker")
        days = None if wid else whole_days(since, until)
        if days:
            rows = day_grids(conn, since, until, d, area, days)
        else:
            rows = _grids_of(unit_visits(conn, since, until, d, area), wid)
    units = sum(r["units"] for r in rows)
    visited = sum(r["visited"] for r in rows)
    return {"since": since, "until": until, "distance_m": d, "worker": worker, "area": area,
            "units": units, "visited": visited, "coverage": _share(visited, units),
            "grids": rows}


def unvisited(engine: Engine, days: int | None = None, now: datetime | None = None,
              area: str | None = None, distance_m: float | None = None) -> list[UnvisitedUnit]:
    """Units not visited for ``days`` days (never visited ones have last_visit None)."""
    r = rulebook.rules()
    now = now or datetime.now(UTC)
    days = r.unvisited_days if days is None else days
    if days < 0:
        raise InvalidInput.field("days", "must be >= 0", "out_of_range")
    d = r.unit_distance_m if distance_m is None else distance_m
    params = {"now": now, "cutoff": now - timedelta(days=days),
              "area": scope.area_prefixes(area), "d": d}
    with heavy_connect(engine) as conn:
        indexed = conn.execute(q(SQL, "visits_complete", PKG), params).scalar_one()
        name = "unit_last_visit_indexed" if indexed else "unit_last_visit"
        rows = conn.execute(q(SQL, name, PKG), params).mappings()
        return [UnvisitedUnit(**x) for x in rows]


def index_visits(engine: Engine, distance_m: float | None = None, batch: int = 500,
                 part: int = 0, parts: int = 1) -> int:
    """Index every track not yet indexed for the active generation and the distance (after an
    activation or a new distance), committing per batch; returns the visits written. The
    distance becomes the one new tracks are indexed with. ``part`` of ``parts``: the tracks
    whose id % parts == part (parallel callers). The per-day changes are folded at the end."""
    d = rulebook.rules().unit_distance_m if distance_m is None else distance_m
    with engine.begin() as conn:
        conn.execute(q(SQL, "set_visit_distance", PKG), {"d": d})
    visits, after = 0, 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(q(SQL, "tracks_to_index", PKG), {
                "d": d, "after": after, "limit": batch, "part": part, "parts": parts}).scalars())
            if not ids:
                break
            visits += int(conn.execute(q(SQL, "index_tracks", PKG), {"ids": ids}).scalar() or 0)
        after = ids[-1]
    compact_days(engine)
    return visits


def compact_days(engine: Engine) -> int:
    """Fold the per-day visit changes into patrol_unit_day (0 while another folder runs)."""
    with engine.begin() as conn:
        return int(conn.execute(q(SQL, "unit_day_compact", PKG)).scalar() or 0)


def patrols_due(engine: Engine, day: date | None = None, worker: str | None = None,
                area: str | None = None) -> list[PatrolDue]:
    """Per responsible worker and grid: the day's duty, patrols done and patrols still due."""
    day = day or datetime.now(CST).date()
    start, end = day_bounds(day)
    with heavy_connect(engine) as conn:
        resp = responsible(conn, start, area)
        done = {(r.worker_id, r.grid_code): r.n for r in
                conn.execute(q(SQL, "patrols_done", PKG), {"since": start, "until": end})}
    out: list[PatrolDue] = []
    for r in resp:
        if worker and r["worker"] != worker:
            continue
        n = done.get((r["worker_id"], r["grid_code"]), 0)
        out.append({"worker": r["worker"], "grid": r["grid_code"], "role": r["role"],
                    "date": day.isoformat(), "duty": r["duty"], "done": n,
                    "due": max(r["duty"] - n, 0)})
    return out


def reminders(engine: Engine, day: date | None = None, worker: str | None = None,
              area: str | None = None, days: int | None = None,
              now: datetime | None = None) -> list[Reminder]:
    """Per worker: patrols due today and units of their grids not visited for N days.

    ``units`` gives each of ``unvisited_units`` with its name, a point inside it and its last
    visit, for the phone's list and map."""
    due = patrols_due(engine, day, worker, area)
    stale = unvisited(engine, days, now, area)
    grids = {d["grid"] for d in due}
    places = unit_places(engine, [u["unit"] for u in stale if u["grid_code"] in grids])
    by_grid: dict[str, list[DueUnit]] = defaultdict(list)
    for u in stale:
        if u["unit"] in places:
            by_grid[u["grid_code"]].append(places[u["unit"]] | {"last_visit": u["last_visit"]})
    people: dict[str, Reminder] = {}
    for d in due:
        p = people.setdefault(d["worker"], {"worker": d["worker"], "patrols_due": 0,
                                            "grids": [], "unvisited_units": [], "units": []})
        p["patrols_due"] += d["due"]
        p["grids"].append({"grid": d["grid"], "duty": d["duty"], "done": d["done"],
                           "due": d["due"]})
        p["unvisited_units"].extend(u["unit"] for u in by_grid.get(d["grid"], []))
        p["units"].extend(by_grid.get(d["grid"], []))
    return [p for p in people.values() if p["patrols_due"] or p["unvisited_units"]]


def unit_places(engine: Engine, units: list[str]) -> dict[str, DueUnit]:
    """Units of the active generation by code: name, grid and a point inside (WGS84)."""
    if not units:
        return {}
    with heavy_connect(engine) as conn:
        rows = conn.execute(q(SQL, "unit_places", PKG), {"codes": units}).mappings()
        return {r["unit"]: DueUnit(unit=r["unit"], name=r["name"], grid_code=r["grid_code"],
                                   lon=r["lon"], lat=r["lat"], last_visit=None) for r in rows}


def set_duty(engine: Engine, who: Principal, grid: str, patrols_per_day: int) -> DutySet:
    """Set a grid's daily patrol duty (dispatchers of its area or the centre)."""
    if patrols_per_day < 0 or patrols_per_day > 48:
        raise InvalidInput.field("patrols_per_day", "must be between 0 and 48", "out_of_range")
    auth.require_role(who, "district_centre", "street_dispatcher", "community_dispatcher")
    if not who.covers({"grid_code": grid, "community_code": None, "street_code": None,
                       "id": grid}):
        from gis.errors import Forbidden

        raise Forbidden(f"grid {grid} is outside your area", code="outside_area")
    with engine.begin() as conn:
        lvl = conn.execute(q(SQL, "area_level", PKG), {"c": grid}).scalar()
        if lvl != "grid":
            raise InvalidInput.field("grid", f"unknown grid {grid!r}", "unknown_grid")
        conn.execute(q(SQL, "set_duty", PKG), {"g": grid, "n": patrols_per_day})
        auth.audit(conn, who, "patrol_duty.set", f"grid:{grid}", "ok",
                   {"patrols_per_day": patrols_per_day})
    return {"grid": grid, "patrols_per_day": patrols_per_day}
