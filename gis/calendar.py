"""The district calendar (工作日历): working hours, weekends, holidays and 调休 working days.

Read from a TOML file (``calendar_file`` in the settings, ``WANGGE_CALENDAR_FILE``; by default
the shipped ``gis/data/calendar_cn_2026.toml``). All arithmetic is done in China Standard
Time; the functions take and return aware times. A date is a working day when it is listed in
``workdays`` (调休上班), or else when it is neither a weekend day nor listed in ``holidays``.
``add_working_days(t, n)`` is the end of the working hours of the n-th working day after the
date of ``t`` (the day of ``t`` itself is not counted). It lives in the base room because the
intake (reporting) and the workflow (dispatch, escalation) both compute due times with it.

The calendar in force is the one the app's settings name (``district(settings)``); the
delivery rooms (the API's ``create_app(settings)``, the CLI, the dashboard) pass it down to
the intake and workflow functions as ``cal``. Nothing here reads settings by itself; a
function given no calendar uses the shipped example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gis.clock import CST, assume_cst
from gis.errors import InvalidInput

if TYPE_CHECKING:
    from gis.settings import Settings

MAX_SPAN_DAYS = 3660  # how far the arithmetic searches for working time before giving up
CODE = "bad_calendar"
UNITS = ("h", "wh", "wd")  # hours of the clock, working hours (工作时), working days (工作日)


class TimeLimit(NamedTuple):
    """A time limit: an amount in its own unit ('h', 'wh' or 'wd', see ``due_at``)."""

    amount: float
    unit: str = "h"


@dataclass(frozen=True)
class Calendar:
    """Working periods of a working day, weekday numbers off, holidays and 调休 working days."""

    periods: tuple[tuple[time, time], ...]
    weekend: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day of this calendar."""
        if d in self.workdays:
            return True
        return d.isoweekday() not in self.weekend and d not in self.holidays

    def _spans(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working spans of date ``d`` as aware CST times (none on a day off)."""
        if not self.is_working_day(d):
            return []
        return [(datetime.combine(d, a, CST), datetime.combine(d, b, CST))
                for a, b in self.periods]


def default_path() -> Path:
    """The shipped example calendar (2026, State Council holidays)."""
    return Path(str(resources.files("gis.data").joinpath("calendar_cn_2026.toml")))


def _time(v: Any, where: str) -> time:
    """An "HH:MM" string as a time; InvalidInput naming the place otherwise."""
    try:
        return time.fromisoformat(str(v))
    except ValueError:
        raise InvalidInput(f"{where}: {v!r} is not a time HH:MM", code=CODE) from None


def _dates(values: Any, where: str) -> frozenset[date]:
    """A list of ISO dates; InvalidInput naming the place otherwise."""
    out = set()
    for v in values or []:
        try:
            out.add(v if isinstance(v, date) else date.fromisoformat(str(v)))
        except ValueError:
            raise InvalidInput(f"{where}: {v!r} is not a date YYYY-MM-DD", code=CODE) from None
    return frozenset(out)


def parse(doc: dict[str, Any], where: str = "calendar") -> Calendar:
    """A calendar from a parsed TOML document; errors name the field at fault."""
    periods = []
    for i, p in enumerate(doc.get("hours", [["08:30", "12:00"], ["13:30", "17:30"]])):
        if not isinstance(p, list) or len(p) != 2:
            raise InvalidInput(f"{where}: hours[{i}] must be [start, end]", code=CODE)
        a, b = _time(p[0], f"{where}: hours[{i}]"), _time(p[1], f"{where}: hours[{i}]")
        if b <= a or (periods and a < periods[-1][1]):
            raise InvalidInput(f"{where}: hours[{i}] must be ordered and not overlap", code=CODE)
        periods.append((a, b))
    if not periods:
        raise InvalidInput(f"{where}: hours must name at least one period", code=CODE)
    weekend = doc.get("weekend", [6, 7])
    if any(not isinstance(w, int) or not 1 <= w <= 7 for w in weekend):
        raise InvalidInput(f"{where}: weekend days are numbers 1 (Monday) to 7", code=CODE)
    return Calendar(tuple(periods), frozenset(weekend),
                    _dates(doc.get("holidays"), f"{where}: holidays"),
                    _dates(doc.get("workdays"), f"{where}: workdays"))


@lru_cache(maxsize=8)
def load(path: str | None = None) -> Calendar:
    """The calendar in the file ``path`` (the shipped example when None), read once."""
    p = Path(path) if path else default_path()
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"{p}: cannot read the calendar: {e}", code=CODE) from None
    return parse(doc, str(p))


def district(settings: Settings) -> Calendar:
    """The district calendar these settings name (``calendar_file``), read once per file."""
    return load(settings.calendar_file)


def add_working_hours(start: datetime, hours: float, cal: Calendar | None = None) -> datetime:
    """The time ``hours`` working hours after ``start`` (counting only working spans)."""
    cal = cal or load(None)
    t = assume_cst(start).astimezone(CST)
    left = timedelta(hours=hours)
    if left <= timedelta(0):
        return t
    for n in range(MAX_SPAN_DAYS):
        for a, b in cal._spans(t.date() + timedelta(days=n)):
            a = max(a, t)
            if b <= a:
                continue
            if left <= b - a:
                return a + left
            left -= b - a
    raise InvalidInput(f"no working time within {MAX_SPAN_DAYS} days (工作日历中无工作时间)",
                       code=CODE)


def add_working_days(start: datetime, days: int, cal: Calendar | None = None) -> datetime:
    """The end of the working hours of the ``days``-th working day after ``start``'s date."""
    cal = cal or load(None)
    d = assume_cst(start).astimezone(CST).date()
    if days <= 0:
        return assume_cst(start).astimezone(CST)
    for _ in range(MAX_SPAN_DAYS):
        d += timedelta(days=1)
        if cal.is_working_day(d):
            days -= 1
            if days == 0:
                return datetime.combine(d, cal.periods[-1][1], CST)
    raise InvalidInput(f"no working day within {MAX_SPAN_DAYS} days (工作日历中无工作日)",
                       code=CODE)


def working_hours_between(a: datetime, b: datetime, cal: Calendar | None = None) -> float:
    """Working hours from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    cal = cal or load(None)
    a, b = assume_cst(a).astimezone(CST), assume_cst(b).astimezone(CST)
    if b < a:
        return -working_hours_between(b, a, cal)
    total = timedelta(0)
    for n in range((b.date() - a.date()).days + 1):
        for s, e in cal._spans(a.date() + timedelta(days=n)):
            lo, hi = max(s, a), min(e, b)
            if hi > lo:
                total += hi - lo
    return total.total_seconds() / 3600


def due_at(start: datetime, limit: float, unit: str, cal: Calendar | None = None) -> datetime:
    """The due time of a limit in ``unit``: 'h' clock hours, 'wh' working hours, 'wd' days."""
    if unit == "wh":
        return add_working_hours(start, limit, cal)
    if unit == "wd":
        return add_working_days(start, max(1, round(limit)), cal)
    return start + timedelta(hours=limit)
