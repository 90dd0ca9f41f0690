"""Times from users, parsed in one place: naive means China Standard Time (UTC+8).

The one definition of China Standard Time (``CST``) in the code: every module, API, CLI,
loader, dashboard and benchmark takes it (and naive-time handling) from here.

Every API parameter and CLI option that takes a time, a date or a month goes through here, so
they all accept the same forms and refuse the same ones: offsets beyond ±15:59 (PostgreSQL's
limit), year 0 and times outside [1900, 3000), where date arithmetic would overflow.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from gis.errors import InvalidInput

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
MIN_YEAR, MAX_YEAR = 1900, 2999
MAX_OFFSET = timedelta(hours=15, minutes=59)
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)
MAX_DAYS = 36_500  # a span in days (e.g. "not visited for N days"): at most 100 years
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def assume_cst(t: datetime) -> datetime:
    """A naive time taken as China Standard Time (UTC+8); an aware one unchanged."""
    if t.tzinfo is None or t.utcoffset() is None:
        return t.replace(tzinfo=CST)
    return t


def aware(t: datetime) -> datetime:
    """A checked, time-zone-aware time: naive → UTC+8; ValueError naming the reason."""
    t = assume_cst(t)
    offset = t.utcoffset()
    assert offset is not None
    if abs(offset) > MAX_OFFSET:
        raise ValueError("the time-zone offset must be within ±15:59")
    if not EARLIEST <= t < LATEST:
        raise ValueError(f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31")
    return t


def check_day(d: date) -> date:
    """A calendar day inside the supported years; ValueError otherwise."""
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31")
    return d


def check_month(value: str) -> str:
    """'YYYY-MM' with a month 01-12 and a supported year; ValueError otherwise."""
    m = _MONTH.fullmatch(value or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"must be YYYY-MM, got {value!r}")
    if not MIN_YEAR <= int(m.group(1)) <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def parse_iso(value: str) -> datetime:
    """ISO 8601 text → checked aware time (naive = UTC+8); ValueError naming the reason."""
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError as e:
        raise ValueError(f"not an ISO time: {value!r} ({e})") from None
    return aware(t)


def parse_time(value: str | None, field: str) -> datetime | None:
    """A CLI time option → aware time (naive = UTC+8); InvalidInput naming ``field``."""
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as e:
        raise InvalidInput.field(field, str(e), "bad_time") from None


def parse_day(value: str | None, field: str = "date") -> date | None:
    """A CLI date option (YYYY-MM-DD) → date; InvalidInput naming ``field``."""
    if value is None:
        return None
    try:
        return check_day(date.fromisoformat(value.strip()))
    except ValueError as e:
        raise InvalidInput.field(field, f"not a date YYYY-MM-DD: {value!r} ({e})",
                                 "bad_date") from None


def month_bounds(month: str, field: str = "month") -> tuple[datetime, datetime]:
    """'2026-10' → [2026-10-01, 2026-11-01) in China Standard Time; InvalidInput when bad."""
    try:
        check_month(month)
    except ValueError as e:
        raise InvalidInput.field(field, str(e), "bad_month") from None
    y, mo = int(month[:4]), int(month[5:7])
    start = datetime(y, mo, 1, tzinfo=CST)
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=CST)
    return start, end


def today_start(now: datetime | None = None) -> datetime:
    """Midnight today in China Standard Time (the working day of the grid workers)."""
    now = (now or datetime.now(UTC)).astimezone(CST)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A calendar day in China Standard Time as [start, end) instants."""
    start = datetime.combine(day, time(0), tzinfo=CST)
    return start, start + timedelta(days=1)
