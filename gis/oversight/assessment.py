"""Monthly assessment (考核) per worker and per grid, resident points, and the standard indicators.

The standard indicators (``indicators``), per worker (the event's responsible worker), grid,
community and street, for a month [start, end) in China Standard Time, counting events:

- 立案数 ``opened``: accepted into handling in the month (its first ``accept``);
- 结案数 ``closed``: closed (``close``) in the month, counted once however often;
- 按期结案数 ``closed_on_time``: closed in the month whose last resolution before its last
  close in the month was within the time limit (due time by the district calendar, never
  escalated for being overdue);
- 按期结案率 ``on_time_rate`` = closed_on_time / closed; 结案率 ``closure_rate`` = closed /
  opened (None when the divisor is 0; can exceed 1 when older cases close);
- 返工 ``reopened``: reopened (``reopen``) in the month;
- 超期 ``overdue``: the same overdue count as the assessment rows (escalated for being
  overdue in the month, resolved late in the month, or open past its due time at the month's
  end).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis import clock, rulebook
from gis.access import scope
from gis.db.engine import heavy_connect
from gis.db.queries import q
from gis.intake.resident import mask_phone
from gis.oversight import coverage

SQL = "assessment.sql"
PKG = "gis.oversight.sql"
COLUMNS = ("kind", "code", "found", "handled", "handled_within_limit", "overdue", "units",
           "units_visited", "patrol_coverage", "accepted_reports", "points")


class Month(NamedTuple):
    """A month's bounds: [start, end) in China Standard Time."""

    start: datetime
    end: datetime


class AssessmentRow(TypedDict):
    """Assessment figures of one worker, grid or resident for a month (the CSV's columns;
    a resident's code is the masked phone, null when none was given)."""

    kind: str
    code: str | None
    found: int
    handled: int
    handled_within_limit: int
    overdue: int
    units: int
    units_visited: int
    patrol_coverage: float | None
    accepted_reports: int
    points: int


class IndicatorRow(TypedDict):
    """Standard indicators (立案, 结案, 按期结案, 返工, 超期) of one worker, grid, community
    or street for a month."""

    kind: str
    code: str
    opened: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    closure_rate: float | None
    reopened: int
    overdue: int


class Indicators(TypedDict):
    """The standard indicators per worker, grid, community and street."""

    workers: list[IndicatorRow]
    grids: list[IndicatorRow]
    communities: list[IndicatorRow]
    streets: list[IndicatorRow]


class Assessment(TypedDict):
    """Figures for one month (``assess``): workers, grids and residents, and the standard
    indicators."""

    month: str
    start: datetime
    end: datetime
    distance_m: float
    workers: list[AssessmentRow]
    grids: list[AssessmentRow]
    residents: list[AssessmentRow]
    indicators: Indicators


def month_bounds(month: str, now: datetime | None = None) -> Month:
    """'2026-10' → [2026-10-01, 2026-11-01) in China Standard Time (gis.clock; InvalidInput);
    a month still running ends now (an open event is overdue only once its due time passed)."""
    start, end = clock.month_bounds(month)
    now = now or datetime.now(UTC)
    return Month(start, max(start, min(end, now)))


def _blank(kind: str, code: str) -> AssessmentRow:
    """A row with zero counts."""
    return {"kind": kind, "code": code, "found": 0, "handled": 0, "handled_within_limit": 0,
            "overdue": 0, "units": 0, "units_visited": 0, "patrol_coverage": None,
            "accepted_reports": 0, "points": 0}


def assess(engine: Engine, month: str, area: str | None = None,
           distance_m: float | None = None) -> Assessment:
    """Figures for one month: workers, grids and residents."""
    start, end = month_bounds(month)
    d = rulebook.rules().unit_distance_m if distance_m is None else distance_m
    with heavy_connect(engine) as conn:
        period = {"start": start, "end": end}
        figures = conn.execute(q(SQL, "event_figures", PKG), period).mappings()
        figures = [dict(f) for f in figures]
        visits = coverage.unit_visits(conn, start, end, d, area)
        resp = coverage.responsible(conn, start, area)
        points = conn.execute(q(SQL, "resident_points", PKG), period).mappings()
        points = [dict(p) for p in points]
        worker_ids = {r.code: r.id for r in conn.execute(q(SQL, "workers", PKG))}
        marks = [dict(m) for m in conn.execute(q(SQL, "indicators", PKG), period).mappings()]
    if area:
        within = scope.area_prefixes(area)
        figures = [f for f in figures if scope.in_scope(f["grid_code"], within)]
        marks = [m for m in marks if scope.in_scope(m["grid_code"], within)]
    grids: dict[str, AssessmentRow] = {}
    workers: dict[str, AssessmentRow] = {}
    for v in visits:
        g = grids.setdefault(v["grid_code"], _blank("grid", v["grid_code"]))
        g["units"] += 1
        g["units_visited"] += bool(v["workers"])
    unit_workers = defaultdict(list)
    for v in visits:
        unit_workers[v["grid_code"]].append(set(v["workers"]))
    for r in resp:
        w = workers.setdefault(r["worker"], _blank("worker", r["worker"]))
        units = unit_workers.get(r["grid_code"], [])
        w["units"] += len(units)
        w["units_visited"] += sum(1 for ws in units if r["worker_id"] in ws)
    for f in figures:
        targets = []
        if f["grid_code"]:
            targets.append(grids.setdefault(f["grid_code"], _blank("grid", f["grid_code"])))
        if f["worker"]:
            targets.append(workers.setdefault(f["worker"], _blank("worker", f["worker"])))
        for t in targets:
            t["handled"] += f["handled"]
            t["handled_within_limit"] += f["within"]
            t["overdue"] += f["overdue"]
            if t["kind"] == "grid":
                t["found"] += f["found"]
        if f["found"] and f["source"] == "worker" and f["reporter"] in worker_ids:
            workers.setdefault(f["reporter"], _blank("worker", f["reporter"]))["found"] += 1
    for row in list(grids.values()) + list(workers.values()):
        if row["units"]:
            row["patrol_coverage"] = round(row["units_visited"] / row["units"], 4)
    residents = []
    for p in points:
        r = _blank("resident", mask_phone(p["reporter"]))
        r["accepted_reports"] = int(p["accepted_reports"])
        r["points"] = int(p["points"])
        residents.append(r)
    return {"month": month, "start": start, "end": end, "distance_m": d,
            "workers": [workers[k] for k in sorted(workers)],
            "grids": [grids[k] for k in sorted(grids)], "residents": residents,
            "indicators": indicators(figures, marks)}


INDICATOR_KINDS = (("workers", "worker", "worker"), ("grids", "grid", "grid_code"),
                   ("communities", "community", "community_code"),
                   ("streets", "street", "street_code"))


def _rate(n: int, d: int) -> float | None:
    """n / d rounded to 4 places; None when d is 0."""
    return round(n / d, 4) if d else None


def indicators(figures: list[dict], marks: list[dict]) -> Indicators:
    """The standard indicators from the month's event figures and indicator marks."""
    events: dict[int, dict] = {}
    for m in marks:
        events[m["id"]] = {**m, "overdue": False}
    for f in figures:
        if f["overdue"]:
            e = events.setdefault(f["id"], {**f, "opened": False, "closed": False,
                                            "closed_on_time": False, "reopened": False})
            e["overdue"] = True
    out: dict[str, list[IndicatorRow]] = {}
    for key, kind, col in INDICATOR_KINDS:
        rows: dict[str, IndicatorRow] = {}
        for e in events.values():
            code = e.get(col)
            if not code:
                continue
            r = rows.setdefault(code, {"kind": kind, "code": code, "opened": 0, "closed": 0,
                                       "closed_on_time": 0, "on_time_rate": None,
                                       "closure_rate": None, "reopened": 0, "overdue": 0})
            for k in ("opened", "closed", "closed_on_time", "reopened", "overdue"):
                r[k] += bool(e[k])
        for r in rows.values():
            r["on_time_rate"] = _rate(r["closed_on_time"], r["closed"])
            r["closure_rate"] = _rate(r["closed"], r["opened"])
        out[key] = [rows[k] for k in sorted(rows)]
    return {"workers": out["workers"], "grids": out["grids"],
            "communities": out["communities"], "streets": out["streets"]}


def to_csv(result: Assessment) -> str:
    """The assessment as one CSV table (kind = worker, grid or resident)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in result["workers"] + result["grids"] + result["residents"]:
        w.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
    return buf.getvalue()
