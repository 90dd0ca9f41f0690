"""The dashboard's time windows: "today" starts at 00:00 China Standard Time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard import data


def test_today_starts_at_midnight_china_standard_time() -> None:
    """At 01:30 CST (17:30 UTC the day before) "today" began 90 minutes ago, not at UTC
    midnight; later the same CST day it is the same instant."""
    early = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # 2026-12-05 01:30 北京时间
    start = data.since_for("today", early)
    assert start == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert data.since_for("today", early + timedelta(hours=20)) == start
    assert data.since_for("today", early + timedelta(hours=23)) == start + timedelta(days=1)
    assert data.since_for("last 24 hours", early) == early - timedelta(hours=24)


def test_today_is_the_first_window() -> None:
    """The desk's default window (the sidebar's first choice) is today."""
    assert list(data.WINDOWS)[0] == data.TODAY == "today"
