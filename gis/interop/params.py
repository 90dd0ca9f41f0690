"""The query parameters of OGC API – Features: bbox, datetime, limit (checked, typed)."""

from __future__ import annotations

from datetime import datetime, time

from gis.clock import CST, parse_iso
from gis.errors import BadQueryParameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def limit(value: int) -> int:
    """The page size; over the maximum → the maximum (Part 1: a larger limit is no error)."""
    if value < 1:
        raise BadQueryParameter.field("limit", f"必须 ≥ 1 (must be at least 1), got {value}")
    return min(value, MAX_LIMIT)


def bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` (or six numbers with heights, which are dropped)."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (4, 6) or any(n != n or abs(n) == float("inf") for n in nums):
        raise BadQueryParameter.field(
            "bbox", f"须为 4 个数 minx,miny,maxx,maxy (must be four numbers), got {value!r}",
            code="invalid_bbox")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    return nums[0], nums[1], nums[2], nums[3]


def _instant(text: str, end: bool) -> datetime | None:
    """One end of an interval: ``..`` or empty → open; a date → its start (or end) in CST."""
    if text in ("", ".."):
        return None
    if len(text) == 10:  # a calendar day
        day = datetime.fromisoformat(text).date()
        return datetime.combine(day, time.max if end else time.min, CST)
    return parse_iso(text.replace("z", "Z"))


def interval(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """``datetime``: an instant, or ``start/end`` with ``..`` for an open end (RFC 3339)."""
    if value is None or value == "":
        return None
    try:
        if "/" in value:
            a, _, b = value.partition("/")
            out = (_instant(a, False), _instant(b, True))
        else:
            out = (_instant(value, False), _instant(value, True))
    except ValueError as e:
        raise BadQueryParameter.field(
            "datetime", f"不是 RFC 3339 时间或区间 (not an RFC 3339 instant or interval): {e}",
            code="invalid_datetime") from None
    if out[0] and out[1] and out[0] > out[1]:
        raise BadQueryParameter.field("datetime", "起点晚于终点 (start after end)",
                                      code="invalid_datetime")
    return out
