"""The standard indicators (立案, 结案, 按期结案, 返工, 超期) on a small month, by hand."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import TypeAdapter
from support.workflow import CENTRE, G1, G_OTHER_STREET, W1, clear_workflow, report

from gis.api import answers
from gis.clock import CST
from gis.oversight import assessment
from gis.territory.locator import Locator
from gis.workflow import transitions as workflow

ITEM = "health.sanitation"  # grid level, 24 h of the clock


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A time in 2026, China Standard Time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture()
def month(demo_district, engine, owner_engine):
    """October 2026: five events, each comment says what it counts for."""
    clear_workflow(owner_engine)
    loc = Locator(engine)

    def go(eid, *steps):
        for action, when in steps:
            workflow.transition(engine, eid, action, CENTRE, now=when, note=action)

    a = report(engine, loc, ITEM, G1, reported_at=t(10, 3, 10))
    b = report(engine, loc, ITEM, G1, reported_at=t(10, 5, 10))
    c = report(engine, loc, ITEM, G1, reported_at=t(10, 10, 9))
    d = report(engine, loc, ITEM, G_OTHER_STREET, reported_at=t(10, 20, 10))
    e = report(engine, loc, ITEM, G1, reported_at=t(9, 29, 9))
    # a: opened, closed on time
    go(a, ("accept", t(10, 3, 10, 30)), ("dispatch", t(10, 3, 10, 30)),
       ("resolve", t(10, 3, 15)), ("close", t(10, 3, 16)))
    # b: opened; due 6 Oct 10:30, resolved 7 Oct → closed late, overdue
    go(b, ("accept", t(10, 5, 10, 30)), ("dispatch", t(10, 5, 10, 30)),
       ("resolve", t(10, 7, 10)), ("close", t(10, 7, 11)))
    # c: opened, closed, reopened (返工), handled again in time and closed again: counted once
    go(c, ("accept", t(10, 10, 9, 30)), ("dispatch", t(10, 10, 9, 30)),
       ("resolve", t(10, 10, 10)), ("close", t(10, 10, 11)), ("reopen", t(10, 10, 12)),
       ("dispatch", t(10, 10, 12)), ("resolve", t(10, 10, 13)), ("close", t(10, 10, 14)))
    # d (other street): opened, still open past its due time at the end of October → overdue
    go(d, ("accept", t(10, 20, 10)), ("dispatch", t(10, 20, 10)))
    # e: accepted in September, closed on time on 1 October → closed, not opened
    go(e, ("accept", t(9, 29, 10)), ("dispatch", t(9, 29, 10)), ("resolve", t(9, 29, 12)),
       ("close", t(10, 1, 9)))
    return engine


PICK = ("opened", "closed", "closed_on_time", "on_time_rate", "closure_rate", "reopened",
        "overdue")
OTHER = [1, 0, 0, None, 0.0, 0, 1]


def test_indicators_per_worker_grid_community_street(month):
    """G1 (and its worker, community and street): opened a b c, closed a b c e, on time a c e."""
    res = assessment.assess(month, "2026-10")
    ind = res["indicators"]
    g1 = [3, 4, 3, 0.75, round(4 / 3, 4), 1, 1]
    assert {r["code"]: [r[k] for k in PICK] for r in ind["grids"]} == {
        G1: g1, G_OTHER_STREET: OTHER}
    assert [r[k] for r in ind["workers"] if r["code"] == W1 for k in PICK] == g1
    assert {r["code"]: [r[k] for k in PICK] for r in ind["communities"]} == {
        G1[:12]: g1, G_OTHER_STREET[:12]: OTHER}
    assert {r["code"]: [r[k] for k in PICK] for r in ind["streets"]} == {
        G1[:9]: g1, G_OTHER_STREET[:9]: OTHER}
    TypeAdapter(answers.Assessment).validate_python(res)


def test_indicators_limited_to_the_area(month):
    """An area sees only its own grids' events in the indicators."""
    ind = assessment.assess(month, "2026-10", area=G_OTHER_STREET[:9])["indicators"]
    assert [r["code"] for r in ind["grids"]] == [G_OTHER_STREET]
    assert [r["code"] for r in ind["streets"]] == [G_OTHER_STREET[:9]]


def test_quiet_month_has_only_the_open_overdue_case(month):
    """December: nothing accepted, closed or reopened; only d is still overdue."""
    ind = assessment.assess(month, "2026-12")["indicators"]
    assert [(r["code"], r["opened"], r["overdue"]) for r in ind["grids"]] == [
        (G_OTHER_STREET, 0, 1)]


def test_open_at_the_months_end_is_judged_by_the_due_time_set_at_intake(
        demo_district, engine, owner_engine):
    """An item limited to 8 working hours, reported Fri 30 Oct 16:00, is due Mon 2 Nov 16:30
    (Fri 1.5 h, Mon 08:30–12:00, 13:30–16:30): open at October's end, it is not overdue, even
    once a November dispatch has set a new due time (8 clock hours would say Sat 00:00)."""
    from sqlalchemy import text

    from gis.intake import events

    clear_workflow(owner_engine)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_item SET time_limit_h = 8, time_limit_unit = 'wh' "
                          "WHERE code = :c"), {"c": ITEM})
    events._catalogue.items.clear()
    eid = report(engine, Locator(engine), ITEM, G1, reported_at=t(10, 30, 16))
    workflow.transition(engine, eid, "accept", CENTRE, now=t(10, 30, 16, 30))
    workflow.transition(engine, eid, "dispatch", CENTRE, now=t(11, 2, 9))
    grids = {r["code"]: r for r in assessment.assess(engine, "2026-10")["grids"]}
    assert (grids[G1]["found"], grids[G1]["overdue"]) == (1, 0)
    november = {r["code"]: r for r in assessment.assess(engine, "2026-11")["grids"]}
    assert november[G1]["overdue"] == 1  # dispatched 2 Nov 09:00, due 17:30, still open
