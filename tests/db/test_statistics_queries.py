"""The statistics board's queries (gis.oversight.statistics) on seeded events, by hand.

The board's moment is 20 Nov 2026 15:00 China Standard Time; its 30 days run from 22 Oct
00:00 to 21 Nov 00:00. Street 320508001 (G1, G2 in community 320508001001, G_OTHER_COMMUNITY in
320508001002) sees a b c e f; the district centre also sees d (another street).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from support.workflow import (
    CENTRE,
    G1,
    G2,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    W2,
    clear_workflow,
    report,
    track,
)

from gis.access.auth import Principal
from gis.clock import CST
from gis.oversight import statistics as stats
from gis.territory.locator import Locator

STREET, COMMUNITY = G1[:9], G1[:12]
OTHER_COMMUNITY = G_OTHER_COMMUNITY[:12]
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=CST)


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A time in 2026, China Standard Time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture()
def seeded(demo_district, engine, owner_engine):
    """Six events and one patrol; each comment says what it counts for."""
    from gis.workflow import transitions as workflow

    clear_workflow(owner_engine)
    loc = Locator(engine)

    def go(eid, *steps):
        for action, when in steps:
            workflow.transition(engine, eid, action, CENTRE, now=when, note=action)

    # a: today, safety; accepted, resolved in time and closed today (on time)
    a = report(engine, loc, "safety.fire", G1, reported_at=t(11, 20, 9))
    go(a, ("accept", t(11, 20, 9, 10)), ("dispatch", t(11, 20, 9, 10)),
       ("resolve", t(11, 20, 10)), ("close", t(11, 20, 11)))
    # b: yesterday, safety; dispatched, due 20 Nov 10:30: open and overdue now
    b = report(engine, loc, "safety.fire", G2, reported_at=t(11, 19, 10))
    go(b, ("accept", t(11, 19, 10, 30)), ("dispatch", t(11, 19, 10, 30)))
    # c: 18 Nov, health, other community; due 19 Nov 09:00, resolved late, closed today
    c = report(engine, loc, "health.sanitation", G_OTHER_COMMUNITY, reported_at=t(11, 18, 9))
    go(c, ("accept", t(11, 18, 9)), ("dispatch", t(11, 18, 9)),
       ("resolve", t(11, 20, 12)), ("close", t(11, 20, 13)))
    # d: today, other street, crime (due 21 Nov 08:00): only the district centre sees it
    report(engine, loc, "crime.theft", G_OTHER_STREET, reported_at=t(11, 20, 8))
    # e: the evening before the window: open and overdue, in no daily count
    report(engine, loc, "dispute.neighbour", G1, reported_at=t(10, 21, 23))
    # f: the window's first day (day 0), never accepted: open and overdue
    report(engine, loc, "safety.fire", G1, reported_at=t(10, 22, 0, 30))
    # a patrol today through one unit of G2 (and nothing else within 30 m)
    track(engine, loc, W2, G2 + "009", t(11, 20, 10))
    return engine


STREET_VIEW = stats.Scope.of(Principal("street_dispatcher", (STREET,)))
CENTRE_VIEW = stats.Scope.of(CENTRE)


def test_window_is_thirty_cst_days_up_to_today() -> None:
    """22 Oct 00:00 to 21 Nov 00:00 (CST), 30 days, even when asked in UTC."""
    w = stats.window(NOW)
    assert (w.since, w.until) == (t(10, 22, 0), t(11, 21, 0))
    assert len(w.days) == 30
    assert (w.days[0], w.days[-1]) == (date(2026, 10, 22), date(2026, 11, 20))
    early = datetime(2026, 11, 19, 16, 30, tzinfo=UTC)  # 20 Nov 00:30 in Beijing
    assert stats.window(early).today == t(11, 20, 0)


def test_headline_numbers_of_a_street(seeded) -> None:
    """New today a; open b e f; overdue b e f; closed today a c. d is another street's."""
    board = stats.board(seeded, STREET_VIEW, NOW)
    assert board.headline == stats.Headline(new_today=1, open=3, overdue=3, closed_today=2)
    assert not board.empty


def test_the_district_centre_also_counts_the_other_street(seeded) -> None:
    """d adds one new and one open event, not overdue (due tomorrow 08:00)."""
    board = stats.board(seeded, CENTRE_VIEW, NOW)
    assert board.headline == stats.Headline(new_today=2, open=4, overdue=3, closed_today=2)
    assert {(a.level, a.code): a.n for a in board.areas} == {
        ("street", STREET): 4, ("street", G_OTHER_STREET[:9]): 1,
        ("community", COMMUNITY): 3, ("community", OTHER_COMMUNITY): 1,
        ("community", G_OTHER_STREET[:12]): 1}


def test_events_per_day_and_class_and_top_items(seeded) -> None:
    """f on day 0, c on 18 Nov, b on 19 Nov, a on 20 Nov; e falls before the window."""
    board = stats.board(seeded, STREET_VIEW, NOW)
    assert [(d.day, d.class_code, d.n) for d in board.per_day] == [
        (date(2026, 10, 22), "safety", 1), (date(2026, 11, 18), "health", 1),
        (date(2026, 11, 19), "safety", 1), (date(2026, 11, 20), "safety", 1)]
    assert board.per_day[0].class_name_zh == "安全隐患"
    assert [(i.item_code, i.n) for i in board.top_items] == [
        ("safety.fire", 3), ("health.sanitation", 1)]
    assert board.top_items[0].item_name_zh == "消防隐患"


def test_counts_per_street_and_community_leave_out_other_streets(seeded) -> None:
    """The street's own four events; its two communities 3 and 1; the other street absent."""
    board = stats.board(seeded, STREET_VIEW, NOW)
    assert [(a.level, a.code, a.n) for a in board.areas] == [
        ("community", COMMUNITY, 3), ("community", OTHER_COMMUNITY, 1), ("street", STREET, 4)]
    assert board.areas[-1].name == "第一街道"


def test_on_time_rate_is_the_assessment_indicator(seeded) -> None:
    """Closed in the window: a (on time) and c (late): 1/2; per community 1/1 and 0/1."""
    board = stats.board(seeded, STREET_VIEW, NOW)
    got = {(r.level, r.code): (r.closed, r.closed_on_time, r.rate) for r in board.on_time}
    assert got == {("whole", stats.WHOLE): (2, 1, 0.5), ("street", STREET): (2, 1, 0.5),
                   ("community", COMMUNITY): (1, 1, 1.0),
                   ("community", OTHER_COMMUNITY): (1, 0, 0.0)}


def test_patrol_coverage_of_the_area_only(seeded) -> None:
    """One unit of G2 passed today: 1 of the street's 144 units, 1 of its community's 36."""
    board = stats.board(seeded, STREET_VIEW, NOW)
    assert board.coverage_since == t(11, 14, 0)
    cov = {(r.level, r.code): (r.units, r.visited) for r in board.coverage}
    assert cov[("whole", stats.WHOLE)] == (144, 1)
    assert cov[("street", STREET)] == (144, 1)
    assert cov[("community", COMMUNITY)] == (36, 1)
    assert cov[("community", OTHER_COMMUNITY)] == (36, 0)
    assert cov[("grid", G2)] == (9, 1) and cov[("grid", G1)] == (9, 0)
    assert not any(code.startswith(G_OTHER_STREET[:9]) for _lv, code in cov)
    centre = {(r.level, r.code): r.units for r in stats.board(seeded, CENTRE_VIEW, NOW).coverage}
    assert centre[("whole", stats.WHOLE)] == 288


def test_a_community_sees_only_its_own(seeded) -> None:
    """Community 320508001001: a b e f; not c (other community) nor d."""
    view = stats.Scope.of(Principal("community_dispatcher", (COMMUNITY,)))
    board = stats.board(seeded, view, NOW)
    assert board.headline == stats.Headline(new_today=1, open=3, overdue=3, closed_today=1)
    assert [(a.level, a.code, a.n) for a in board.areas] == [
        ("community", COMMUNITY, 3), ("street", STREET, 3)]
    assert {(r.level, r.code): r.rate for r in board.on_time} == {
        ("whole", stats.WHOLE): 1.0, ("street", STREET): 1.0, ("community", COMMUNITY): 1.0}


def test_nothing_in_the_area_is_the_empty_board(seeded) -> None:
    """A planner sees no events by area: zeros, no rows, the board says it is empty."""
    board = stats.board(seeded, stats.Scope.of(Principal("planner")), NOW)
    assert board.headline == stats.Headline(0, 0, 0, 0)
    assert board.empty and not board.top_items and not board.areas and not board.on_time
    assert board.coverage == []


def test_a_month_later_the_window_has_moved(seeded) -> None:
    """On 25 Dec nothing was reported in the window; the open backlog stays."""
    board = stats.board(seeded, STREET_VIEW, NOW + timedelta(days=35))
    assert board.per_day == [] and board.top_items == []
    assert board.headline.open == 3 and not board.empty


def test_a_department_sees_the_events_notified_to_it(seeded) -> None:
    """The water department, told of d (another street's theft) at its dispatch, counts d only."""
    from sqlalchemy import text

    from gis.workflow import transitions as workflow

    with seeded.connect() as conn:
        d = conn.execute(text("SELECT id FROM event WHERE item_code = 'crime.theft'")).scalar()
    workflow.transition(seeded, d, "accept", CENTRE, now=t(11, 20, 9))
    workflow.transition(seeded, d, "dispatch", CENTRE, now=t(11, 20, 9), level="street",
                        departments=["water"])
    view = stats.Scope.of(Principal("department", department="water"))
    board = stats.board(seeded, view, NOW)
    assert board.headline == stats.Headline(new_today=1, open=1, overdue=0, closed_today=0)
    assert [(a.level, a.code, a.n) for a in board.areas] == [
        ("community", G_OTHER_STREET[:12], 1), ("street", G_OTHER_STREET[:9], 1)]
    assert [(i.item_code, i.n) for i in board.top_items] == [("crime.theft", 1)]
    assert board.coverage == []  # patrols are seen by area; a department has none
