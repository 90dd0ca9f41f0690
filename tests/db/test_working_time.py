"""Time limits in working hours (工作时) and days (工作日) of the district calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, clear_workflow, report, row

from gis.clock import CST
from gis.errors import InvalidInput
from gis.intake import catalogue, events
from gis.territory.locator import Locator
from gis.workflow import escalation
from gis.workflow import transitions as workflow

ITEM = "dispute.family"  # grid level, no rule-book limit of its own at the grid


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district."""
    clear_workflow(owner_engine)
    return Locator(engine)


def _limit(owner_engine, hours: float, unit: str) -> None:
    """Give the test item a limit in ``unit`` and drop the intake's cached catalogue."""
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_item SET time_limit_h = :h, time_limit_unit = :u "
                          "WHERE code = :c"), {"h": hours, "u": unit, "c": ITEM})
    events._catalogue.items.clear()


def cst(d: int, h: int, mi: int = 0) -> datetime:
    """A time of December 2026 in China Standard Time."""
    return datetime(2026, 12, d, h, mi, tzinfo=CST)


def test_reported_friday_afternoon_is_due_monday(engine, owner_engine, loc):
    """8 wh from Fri 16:00: Fri 1.5 h, Mon 08:30–12:00 3.5 h, 13:30 + 3 h = Mon 16:30."""
    _limit(owner_engine, 8, "wh")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 16))
    assert row(engine, eid)["due_at"] == cst(7, 16, 30)


def test_dispatch_and_escalation_follow_the_calendar(engine, owner_engine, loc):
    """Dispatched Fri 17:00 with 8 wh: due Mon 17:30; nothing escalates over the weekend."""
    _limit(owner_engine, 8, "wh")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 16))
    workflow.transition(engine, eid, "accept", CENTRE, now=cst(4, 16, 30))
    workflow.transition(engine, eid, "dispatch", CENTRE, now=cst(4, 17))
    due = cst(7, 17, 30)  # Fri 17:00–17:30 0.5 h, Mon 3.5 h + 13:30–17:30 4 h
    assert row(engine, eid)["due_at"] == due
    assert escalation.escalate_overdue(engine, cst(6, 23)) == []
    assert escalation.escalate_overdue(engine, due - timedelta(seconds=1)) == []
    assert [d["to_level"] for d in escalation.escalate_overdue(engine, due)] == ["community"]


def test_working_days_limit(engine, owner_engine, loc):
    """2 wd reported Fri 10:00: the end of Tuesday's working hours."""
    _limit(owner_engine, 2, "wd")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 10))
    assert row(engine, eid)["due_at"] == cst(8, 17, 30)


def test_clock_hours_unchanged(engine, owner_engine, loc):
    """'h' (the default) is hours of the clock, weekends included."""
    _limit(owner_engine, 8, "h")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 16))
    assert row(engine, eid)["due_at"] == cst(5, 0)


def test_catalogue_file_unit(engine, owner_engine, tmp_path: Path):
    """The catalogue file's time_limit_unit is loaded; an unknown unit is refused by name."""
    f = tmp_path / "cat.toml"
    f.write_text('[[class]]\ncode = "x"\nname = "X"\nitems = [\n'
                 '  { code = "x.a", name = "A", time_limit_h = 8, time_limit_unit = "wh" },\n'
                 '  { code = "x.b", name = "B", time_limit_h = 3 },\n]\n', encoding="utf-8")
    with owner_engine.begin() as conn:
        catalogue.load(conn, f)
        units = dict(conn.execute(text("SELECT code, time_limit_unit FROM event_item "
                                       "WHERE code LIKE 'x.%'")).all())
        assert catalogue.active_items(conn)["x.a"].time_limit_unit == "wh"
        conn.rollback()
    assert units == {"x.a": "wh", "x.b": "h"}
    f.write_text(f.read_text(encoding="utf-8").replace('"wh"', '"days"'), encoding="utf-8")
    with pytest.raises(InvalidInput, match="time_limit_unit"):
        catalogue.parse(f)


def test_a_rule_limit_in_clock_hours_is_not_read_in_the_items_unit(engine, owner_engine, loc):
    """The item's own limit is 2 working days; dispatched to the community, the [limits]
    entry (48 hours of the clock) applies in clock hours: Fri 17:00 + 48 h = Sun 17:00, not
    48 working days later."""
    _limit(owner_engine, 2, "wd")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 10))
    assert row(engine, eid)["due_at"] == cst(8, 17, 30)  # the item's 2 wd at intake
    workflow.transition(engine, eid, "accept", CENTRE, now=cst(4, 16))
    workflow.transition(engine, eid, "dispatch", CENTRE, now=cst(4, 17), level="community")
    assert row(engine, eid)["due_at"] == cst(6, 17)


def test_a_rule_limit_in_working_hours_follows_the_calendar(engine, owner_engine, loc,
                                                             tmp_path: Path, monkeypatch):
    """A rule declaring time_limit_unit = "wh" is worked out in working hours whatever the
    item's unit: 4 wh from Fri 16:00 = Fri 1.5 h + Mon 08:30–11:00."""
    from gis import rulebook

    rules = tmp_path / "rules.toml"
    rules.write_text(f'[limits]\ncommunity = 48\n\n[[rule]]\nitem = "{ITEM}"\n'
                     'time_limit_h = { community = 4 }\ntime_limit_unit = "wh"\n',
                     encoding="utf-8")
    monkeypatch.setenv("WANGGE_DISPATCH_RULES_PATH", str(rules))
    _limit(owner_engine, 24, "h")
    eid = report(engine, loc, ITEM, G1, reported_at=cst(4, 10))
    workflow.transition(engine, eid, "accept", CENTRE, now=cst(4, 15))
    workflow.transition(engine, eid, "dispatch", CENTRE, now=cst(4, 16), level="community")
    assert row(engine, eid)["due_at"] == cst(7, 11)
    lim = rulebook.rules().limit(ITEM, "dispute", "community", "grid",
                                 rulebook.TimeLimit(24, "h"))
    assert lim == (4, "wh")
