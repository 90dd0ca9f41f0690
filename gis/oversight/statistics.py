"""The statistics board (统计大屏): headline numbers, events per day and class, top items, events
per street and community, the on-time rate and patrol coverage of what the caller may see.

- Every event count reads through the one read-scope rule (``visible_events``, migration 0007)
  with the caller's ``Scope`` (``gis.access.auth.read_scope``: the API's rule).
- Days are China Standard Time days (``gis.clock``); the board covers the last ``DAYS`` days,
  today included.
- The on-time rate (按期结案率) is the assessment's standard indicator
  (``gis.oversight.assessment``: its indicator marks over the board's days, limited to the
  events the caller may read, added up by ``assessment.indicators``).
- Patrol coverage is ``gis.oversight.coverage`` over the rulebook's ``unvisited_days`` days
  (units passed within ``unit_distance_m``), per grid of the caller's area, added up to
  communities, streets and the whole area.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine

from gis import clock, rulebook
from gis.access import auth
from gis.access.auth import Principal
from gis.db.engine import heavy_connect
from gis.db.queries import q
from gis.intake.events import OPEN_STATUSES
from gis.oversight import assessment, coverage

SQL = "statistics.sql"
PKG = "gis.oversight.sql"
DAYS = 30
TOP_ITEMS = 10
WHOLE = "*"  # the code of the row that stands for the caller's whole area


@dataclass(frozen=True)
class Scope:
    """What the caller may read: code prefixes (None: everything) and a department."""

    prefixes: tuple[str, ...] | None
    department: str | None = None

    @classmethod
    def of(cls, who: Principal) -> Scope:
        """The read scope of ``who`` (``gis.access.auth.read_scope``, the API's rule)."""
        r = auth.read_scope(who)
        p = r["scope_prefixes"]
        return cls(None if p is None else tuple(p), r["scope_department"])

    def params(self) -> auth.ReadScope:
        """The bound parameters of ``visible_events``."""
        p = None if self.prefixes is None else list(self.prefixes)
        return {"scope_prefixes": p, "scope_department": self.department}


@dataclass(frozen=True)
class Window:
    """The board's period: ``days`` CST days up to today, [since, until); ``now`` the moment."""

    now: datetime
    today: datetime
    since: datetime
    until: datetime
    days: tuple[date, ...]


@dataclass(frozen=True)
class Headline:
    """New today, open now, overdue now, closed today."""

    new_today: int
    open: int
    overdue: int
    closed_today: int


@dataclass(frozen=True)
class DayClassCount:
    """Events of one class reported on one day (CST)."""

    day: date
    class_code: str
    class_name: str
    class_name_zh: str | None
    n: int


@dataclass(frozen=True)
class ItemCount:
    """Events of one item in the window."""

    item_code: str
    item_name: str
    item_name_zh: str | None
    class_code: str
    n: int


@dataclass(frozen=True)
class AreaCount:
    """Events of one street or community (``level``) in the window."""

    level: str
    code: str
    name: str
    n: int


@dataclass(frozen=True)
class OnTimeRate:
    """按期结案率 of a street, a community or the whole area (``level`` whole, code WHOLE)."""

    level: str
    code: str
    name: str
    closed: int
    closed_on_time: int
    rate: float | None


@dataclass(frozen=True)
class PatrolCoverage:
    """Units of a grid, community, street or the whole area passed by patrols in the period."""

    level: str
    code: str
    name: str
    units: int
    visited: int
    share: float | None


@dataclass(frozen=True)
class CoverageFigures:
    """Patrol coverage since ``since`` (CST midnight) up to the board's moment."""

    since: datetime
    rows: list[PatrolCoverage]


@dataclass(frozen=True)
class AreaInfo:
    """An active area's name and its enclosing community and street codes."""

    level: str
    code: str
    name: str
    community_code: str | None
    street_code: str | None


@dataclass(frozen=True)
class Board:
    """Everything the statistics board shows."""

    window: Window
    headline: Headline
    per_day: list[DayClassCount] = field(default_factory=list)
    top_items: list[ItemCount] = field(default_factory=list)
    areas: list[AreaCount] = field(default_factory=list)
    on_time: list[OnTimeRate] = field(default_factory=list)
    coverage: list[PatrolCoverage] = field(default_factory=list)
    coverage_since: datetime | None = None

    @property
    def empty(self) -> bool:
        """True when the caller's area had no events in the window and none is open."""
        return not self.per_day and self.headline.open == 0 and self.headline.new_today == 0


def window(now: datetime | None = None, days: int = DAYS) -> Window:
    """The last ``days`` CST days, today included, as [since, until)."""
    now = clock.aware(now) if now is not None else datetime.now(clock.CST)
    today = clock.today_start(now)
    since = today - timedelta(days=days - 1)
    return Window(now=now, today=today, since=since, until=today + timedelta(days=1),
                  days=tuple((since + timedelta(days=i)).date() for i in range(days)))


def headline(conn: Connection, scope: Scope, w: Window) -> Headline:
    """New today, open now, overdue now and closed today."""
    r = conn.execute(q(SQL, "headline", PKG), scope.params() | {
        "today": w.today, "tomorrow": w.today + timedelta(days=1), "now": w.now,
        "open": list(OPEN_STATUSES)}).mappings().one()
    return Headline(**{k: int(v) for k, v in r.items()})


def per_day(conn: Connection, scope: Scope, w: Window) -> list[DayClassCount]:
    """Events per CST day and class in the window (days and classes without events left out)."""
    rows = conn.execute(q(SQL, "per_day_class", PKG),
                        scope.params() | {"since": w.since, "until": w.until}).mappings()
    return [DayClassCount(day=w.days[r["day"]], class_code=r["class_code"],
                          class_name=r["class_name"], class_name_zh=r["class_name_zh"],
                          n=int(r["n"])) for r in rows]


def top_items(conn: Connection, scope: Scope, w: Window, limit: int = TOP_ITEMS
              ) -> list[ItemCount]:
    """The ``limit`` items with the most events in the window, most first."""
    rows = conn.execute(q(SQL, "top_items", PKG), scope.params() | {
        "since": w.since, "until": w.until, "limit": limit}).mappings()
    return [ItemCount(**{**r, "n": int(r["n"])}) for r in rows]


def areas(conn: Connection) -> dict[str, AreaInfo]:
    """The active streets, communities and grids by code."""
    return {r["code"]: AreaInfo(**r) for r in conn.execute(q(SQL, "areas", PKG)).mappings()}


def _name(names: dict[str, AreaInfo], code: str) -> str:
    """An area's name (its code when it is not in the active generation)."""
    a = names.get(code)
    return a.name if a is not None else code


def area_counts(conn: Connection, scope: Scope, w: Window,
                names: dict[str, AreaInfo]) -> list[AreaCount]:
    """Events per street and per community in the window, most first."""
    rows = conn.execute(q(SQL, "area_counts", PKG),
                        scope.params() | {"since": w.since, "until": w.until}).mappings()
    return [AreaCount(level=r["level"], code=r["code"], name=_name(names, r["code"]),
                      n=int(r["n"])) for r in rows]


def on_time(conn: Connection, scope: Scope, w: Window,
            names: dict[str, AreaInfo]) -> list[OnTimeRate]:
    """按期结案率 of the whole area, each street and each community over the window.

    The assessment's indicator marks of [since, until), kept when the caller may read the
    event, added up by ``assessment.indicators`` (the whole area: every mark keyed to WHOLE).
    """
    period = {"start": w.since, "end": w.until}
    marks = [dict(m) for m in conn.execute(
        q(assessment.SQL, "indicators", assessment.PKG), period).mappings()]
    ids = {r.id for r in conn.execute(q(SQL, "visible_ids", PKG), scope.params() | {
        "ids": [m["id"] for m in marks]})}
    marks = [m for m in marks if m["id"] in ids]
    whole = assessment.indicators([], [m | {"street_code": WHOLE} for m in marks])["streets"]
    parts = assessment.indicators([], marks)
    out = [OnTimeRate("whole", WHOLE, "", r["closed"], r["closed_on_time"], r["on_time_rate"])
           for r in whole]
    for level, rows in (("street", parts["streets"]), ("community", parts["communities"])):
        out += [OnTimeRate(level, r["code"], _name(names, r["code"]), r["closed"],
                           r["closed_on_time"], r["on_time_rate"]) for r in rows]
    return out


def _share(visited: int, units: int) -> float | None:
    """visited / units to 4 places (None without units), as coverage.coverage rounds it."""
    return round(visited / units, 4) if units else None


def patrol_coverage(engine: Engine, scope: Scope, w: Window,
                    names: dict[str, AreaInfo]) -> CoverageFigures:
    """Patrol coverage over the rulebook's ``unvisited_days`` days up to ``w.now``: the whole
    area, each street, community and grid of the caller's area (gis.oversight.coverage)."""
    since = w.today - timedelta(days=rulebook.rules().unvisited_days - 1)
    areas_ = [None] if scope.prefixes is None else list(scope.prefixes)
    grids: dict[str, coverage.GridCoverage] = {}
    for area in areas_:
        for g in coverage.coverage(engine, since, w.now, area)["grids"]:
            grids[g["grid"]] = g
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for code, g in grids.items():
        info = names.get(code)
        keys = [("whole", WHOLE), ("grid", code)]
        if info is not None:
            keys += [("street", info.street_code), ("community", info.community_code)]
        for key in keys:
            sums[key][0] += g["units"]
            sums[key][1] += g["visited"]
    rows = [PatrolCoverage(level, code, "" if code == WHOLE else _name(names, code), n, v,
                           _share(v, n)) for (level, code), (n, v) in sorted(sums.items())]
    return CoverageFigures(since, rows)


def board(engine: Engine, scope: Scope, now: datetime | None = None,
          days: int = DAYS) -> Board:
    """The statistics board of ``scope`` at ``now`` (default: the current moment)."""
    w = window(now, days)
    with heavy_connect(engine) as conn:
        names = areas(conn)
        head = headline(conn, scope, w)
        days_ = per_day(conn, scope, w)
        items = top_items(conn, scope, w)
        counts = area_counts(conn, scope, w, names)
        rates = on_time(conn, scope, w, names)
    cov = patrol_coverage(engine, scope, w, names)
    return Board(window=w, headline=head, per_day=days_, top_items=items, areas=counts,
                 on_time=rates, coverage=cov.rows, coverage_since=cov.since)
