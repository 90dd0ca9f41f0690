"""Exports (导出): events as filtered, and the assessment's standard indicators, as tables
with Chinese headers and names, written as Excel (.xlsx) or CSV with a UTF-8 BOM.

One module behind the API (/api/v1/events/export, /api/v1/assessment/export), the command
line (``wangge export``) and the dashboard's 导出 page. Events are read through the one scope
rule (``visible_events`` with the caller's read scope); the assessment is
``gis.oversight.assessment.assess`` for the area the caller chose within its own. Statuses and
levels are named by ``gis.intake.vocabulary``; times are China Standard Time (北京时间).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from gis.access import auth, scope
from gis.access.auth import Principal
from gis.clock import CST, aware
from gis.db.engine import heavy_connect
from gis.db.queries import q
from gis.errors import InvalidInput
from gis.intake.events import STATUSES
from gis.intake.vocabulary import LEVEL_ZH, LOCATION_ZH, SOURCE_ZH, STATUS_ZH, zh
from gis.oversight import assessment
from gis.oversight.sheets import MEDIA_TYPES, Cell, Column, Table, check_format, render
from gis.workflow.state import ESCALATABLE

SQL = "exports.sql"
PKG = "gis.oversight.sql"
MAX_ROWS = 100_000  # an export bigger than this asks for a narrower filter
TZ = "北京时间"
EVENT_COLUMNS = (
    Column("事件编号", "int"), Column("事项"), Column("事项类别"), Column("状态"),
    Column("办理层级"), Column("来源"), Column(f"上报时间({TZ})", "time"),
    Column(f"办理时限({TZ})", "time"), Column(f"结案时间({TZ})", "time"), Column("是否超期"),
    Column("街道"), Column("社区"), Column("网格"), Column("网格编码"), Column("落格情况"),
    Column("责任网格员"), Column("地址"), Column("事件描述"),
)
ASSESSMENT_COLUMNS = (
    Column("考核月份"), Column("考核对象"), Column("编码"), Column("名称"),
    Column("立案数", "int"), Column("结案数", "int"), Column("按期结案数", "int"),
    Column("按期结案率", "percent"), Column("结案率", "percent"), Column("返工数", "int"),
    Column("超期数", "int"),
)
# (key in Indicators, who is assessed): top-down, street to worker
ASSESSED = (("streets", "街道"), ("communities", "社区"), ("grids", "网格"),
            ("workers", "网格员"))
_SAFE = re.compile(r"[^0-9A-Za-z_-]")


@dataclass(frozen=True)
class EventFilter:
    """What an events export holds: reported in [since, until), in area, with one of the
    statuses, items or classes (none: all), only the overdue ones."""

    since: datetime | None = None
    until: datetime | None = None
    area: str | None = None
    statuses: tuple[str, ...] = field(default_factory=tuple)
    items: tuple[str, ...] = field(default_factory=tuple)
    overdue: bool = False


@dataclass(frozen=True)
class Export:
    """A file to hand out: its bytes, media type and names (ASCII, and Chinese)."""

    content: bytes
    media_type: str
    filename: str
    filename_zh: str
    rows: int


def _statuses(statuses: tuple[str, ...]) -> list[str] | None:
    """The status filter checked against the known statuses (None: all)."""
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidInput.field("status", f"unknown status {bad[0]!r}; one of "
                                 f"{', '.join(STATUSES)}", "unknown_status")
    return list(statuses) or None


def _event_row(e: dict, now: datetime) -> tuple[Cell, ...]:
    """One event as a row of the events table."""
    late = e["status"] in ESCALATABLE and e["due_at"] is not None and e["due_at"] < now
    worker = e["worker_name"] or e["worker"] or ""
    return (e["id"], e["item_name"], e["class_name"], zh(STATUS_ZH, e["status"]),
            zh(LEVEL_ZH, e["level"]), zh(SOURCE_ZH, e["source"]), e["reported_at"],
            e["due_at"], e["closed_at"], "是" if late else "否",
            e["street_name"] or e["street_code"] or "",
            e["community_name"] or e["community_code"] or "",
            e["grid_name"] or e["grid_code"] or "", e["grid_code"] or "",
            zh(LOCATION_ZH, e["location_status"]), worker, e["address"] or "",
            e["description"] or "")


def event_table(engine: Engine, filt: EventFilter, who: Principal | None,
                now: datetime | None = None) -> Table:
    """The events ``who`` may read that match ``filt``, oldest first (None: the CLI)."""
    now = now or datetime.now(UTC)
    params = {"area": scope.area_prefixes(filt.area), "status": _statuses(filt.statuses),
              "items": list(filt.items) or None, "overdue": filt.overdue,
              "open": list(ESCALATABLE), "now": now,
              "since": aware(filt.since) if filt.since else None,
              "until": aware(filt.until) if filt.until else None,
              "limit": MAX_ROWS + 1} | auth.read_scope(who)
    with heavy_connect(engine) as conn:
        rows = [dict(r) for r in conn.execute(q(SQL, "events", PKG), params).mappings()]
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("since", f"more than {MAX_ROWS} events; choose a shorter "
                                 "time window or a smaller area", "export_too_large")
    return Table("事件", EVENT_COLUMNS, [_event_row(e, now) for e in rows])


def _names(engine: Engine, codes: list[str], workers: list[str]) -> dict[str, str]:
    """Names of area codes and of worker codes (``worker:`` + code)."""
    with engine.connect() as conn:
        areas = conn.execute(q(SQL, "area_names", PKG), {"codes": codes}).all()
        people = conn.execute(q(SQL, "worker_names", PKG), {"codes": workers}).all()
    return {r.code: r.name for r in areas} | {f"worker:{r.code}": r.name for r in people}


def assessment_table(engine: Engine, month: str, area: str | None) -> Table:
    """The standard indicators of ``month`` per street, community, grid and worker in
    ``area`` (None: the whole district; the caller has checked it is within its own)."""
    marks = assessment.assess(engine, month, area)["indicators"]
    areas = [r["code"] for key, _ in ASSESSED[:3] for r in marks[key]]
    names = _names(engine, areas, [r["code"] for r in marks["workers"]])
    rows: list[tuple[Cell, ...]] = []
    for key, label in ASSESSED:
        for r in marks[key]:
            name = names.get(f"worker:{r['code']}" if key == "workers" else r["code"], "")
            rows.append((month, label, r["code"], name, r["opened"], r["closed"],
                         r["closed_on_time"], r["on_time_rate"], r["closure_rate"],
                         r["reopened"], r["overdue"]))
    return Table("考核指标", ASSESSMENT_COLUMNS, rows)


def _file(table: Table, fmt: str, stem: str, stem_zh: str) -> Export:
    """The table written as ``fmt``, with its file names."""
    content = render(table, check_format(fmt))
    return Export(content, MEDIA_TYPES[fmt], f"{stem}.{fmt}", f"{stem_zh}.{fmt}",
                  len(table.rows))


def _tag(area: str | None) -> str:
    """``-<area>`` for file names (only the characters of area codes), '' without one."""
    safe = _SAFE.sub("", area or "")
    return f"-{safe}" if safe else ""


def events_file(table: Table, fmt: str, area: str | None, now: datetime) -> Export:
    """An events table as an .xlsx or .csv file, named after the area and the time."""
    stamp = now.astimezone(CST).strftime("%Y%m%d-%H%M")
    return _file(table, fmt, f"wangge-events{_tag(area)}-{stamp}",
                 f"事件导出{_tag(area)}-{stamp}")


def assessment_file(table: Table, fmt: str, month: str, area: str | None) -> Export:
    """An assessment table as an .xlsx or .csv file, named after the area and the month."""
    return _file(table, fmt, f"wangge-assessment{_tag(area)}-{month}",
                 f"考核指标{_tag(area)}-{month}")


def export_events(engine: Engine, filt: EventFilter, fmt: str, who: Principal | None,
                  now: datetime | None = None) -> Export:
    """The events export as an .xlsx or .csv file."""
    check_format(fmt)
    now = now or datetime.now(UTC)
    return events_file(event_table(engine, filt, who, now), fmt, filt.area, now)


def export_assessment(engine: Engine, month: str, area: str | None, fmt: str) -> Export:
    """The assessment export of one month as an .xlsx or .csv file."""
    check_format(fmt)
    return assessment_file(assessment_table(engine, month, area), fmt, month, area)
