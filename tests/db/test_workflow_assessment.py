"""Monthly assessment on a crafted data set, with every figure worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, G2, W1, W2, clear_workflow, report, track
from typer.testing import CliRunner

from gis.oversight import assessment
from gis.territory.locator import Locator
from gis.workflow import escalation
from gis.workflow import transitions as workflow

CST = timezone(timedelta(hours=8))


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A time in 2026, China Standard Time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture()
def october(demo_district, engine, owner_engine):
    """The crafted month (see the comments for what each event contributes)."""
    clear_workflow(owner_engine)
    loc = Locator(engine)
    item = "health.sanitation"  # grid level, 24 h; 48 h at the community ([limits])

    def go(eid, *steps):
        for action, when in steps:
            workflow.transition(engine, eid, action, CENTRE, now=when, note=action)

    e1 = report(engine, loc, item, G1, reporter=W1, reported_at=t(10, 3, 10))
    e2 = report(engine, loc, item, G1, reporter=W1, reported_at=t(10, 5, 10))
    e3 = report(engine, loc, item, G1, source="resident", reporter="R1",
                reported_at=t(10, 10, 8))
    e4 = report(engine, loc, item, G2, reporter=W2, reported_at=t(10, 20, 10))
    e5 = report(engine, loc, item, G2, source="resident", reporter="R1",
                reported_at=t(10, 25, 10))
    e6 = report(engine, loc, item, G1, source="resident", reporter="R2",
                reported_at=t(10, 26, 10))
    e8 = report(engine, loc, item, G1, source="hotline", reported_at=t(9, 30, 10))
    report(engine, loc, item, G1, reporter=W2, reported_at=t(10, 31, 23))   # e9
    report(engine, loc, item, G1, reporter=W1, reported_at=t(11, 1, 1))     # e10
    # e8: September report resolved on time on 1 October → handled within (not found)
    go(e8, ("accept", t(9, 30, 11)), ("dispatch", t(9, 30, 11)), ("resolve", t(10, 1, 9)))
    # e1: resolved the same day → handled within
    go(e1, ("accept", t(10, 3, 11)), ("dispatch", t(10, 3, 11)), ("start", t(10, 3, 12)),
       ("resolve", t(10, 3, 15)))
    # e2: due 6 Oct 10:30, the scheduler escalates it at 12:00 → overdue; resolved after
    go(e2, ("accept", t(10, 5, 10, 30)), ("dispatch", t(10, 5, 10, 30)))
    assert [d["id"] for d in escalation.escalate_overdue(engine, t(10, 6, 12))] == [e2]
    go(e2, ("resolve", t(10, 7, 10)))
    # e3: resident R1 (+10 points), due 11 Oct 09:00, resolved at 10:00 → late, overdue
    go(e3, ("accept", t(10, 10, 9)), ("dispatch", t(10, 10, 9)), ("resolve", t(10, 11, 10)))
    # e4: dispatched, due 21 Oct, still open at the end of October → overdue
    go(e4, ("accept", t(10, 20, 10)), ("dispatch", t(10, 20, 10)))
    # e5: resident R1 (+10 points), resolved in two hours → handled within
    go(e5, ("accept", t(10, 25, 10, 10)), ("dispatch", t(10, 25, 10, 10)),
       ("resolve", t(10, 25, 12)))
    # e6: resident R2 accepted then rejected → points taken back; closed, not overdue
    go(e6, ("accept", t(10, 26, 10, 30)), ("reject", t(10, 26, 11)))
    # e9 (found by W2 in G1, due 1 Nov) and e10 (November) add nothing else to October
    # patrols: W1 passes units 1, 2, 3 of G1 in October (unit 1 twice), unit 5 in
    # September and unit 6 in November; W2 passes unit 4 of G1 and nothing in G2
    for unit, when in (("001", t(10, 5, 9)), ("002", t(10, 6, 9)), ("003", t(10, 7, 9)),
                       ("001", t(10, 9, 9)), ("005", t(9, 29, 9)), ("006", t(11, 2, 9))):
        track(engine, loc, W1, G1 + unit, when)
    track(engine, loc, W2, G1 + "004", t(10, 8, 9))
    return engine


def test_assessment_figures(october):
    """Each figure below is counted by hand from the fixture."""
    res = assessment.assess(october, "2026-10")
    grids = {g["code"]: g for g in res["grids"]}
    workers = {w["code"]: w for w in res["workers"]}
    pick = ("found", "handled", "handled_within_limit", "overdue", "units", "units_visited",
            "patrol_coverage")
    # G1 found: e1 e2 e3 e6 e9; handled: e8 e1 e2 e3; within: e8 e1; overdue: e2 e3;
    # visited: units 1-4 (W1: 1, 2, 3; W2: 4)
    assert [grids[G1][k] for k in pick] == [5, 4, 2, 2, 9, 4, round(4 / 9, 4)]
    # G2 found: e4 e5; handled and within: e5; overdue: e4; no patrol
    assert [grids[G2][k] for k in pick] == [2, 1, 1, 1, 9, 0, 0.0]
    # W1 answers for G1: found e1 e2 (reported by W1); units 1, 2, 3 of G1
    assert [workers[W1][k] for k in pick] == [2, 4, 2, 2, 9, 3, round(3 / 9, 4)]
    # W2 answers for G2: found e4 and e9 (reported by W2 in G1); no unit of G2 visited
    assert [workers[W2][k] for k in pick] == [2, 1, 1, 1, 9, 0, 0.0]
    assert sum(g["found"] for g in res["grids"]) == 7
    assert [(r["code"], r["accepted_reports"], r["points"]) for r in res["residents"]] == [
        ("R1", 2, 20)]
    nov = assessment.assess(october, "2026-11")
    assert {g["code"]: g["found"] for g in nov["grids"]}[G1] == 1


def test_assessment_csv_from_the_cli(october, settings, monkeypatch):
    """`wangge report assessment --month 2026-10 --csv` prints the same figures."""
    from wangge.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    r = CliRunner().invoke(app, ["report", "assessment", "--month", "2026-10", "--csv"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == ",".join(assessment.COLUMNS)
    assert f"grid,{G1},5,4,2,2,9,4,0.4444,0,0" in lines
    assert f"worker,{W1},2,4,2,2,9,3,0.3333,0,0" in lines
    assert "resident,R1,0,0,0,0,0,0,,2,20" in lines
    bad = CliRunner().invoke(app, ["report", "assessment", "--month", "2026-13"])
    assert bad.exit_code == 1 and "bad_month" in bad.stderr


def _event(engine, reporter, when) -> int:
    """The id of the event ``reporter`` reported at ``when``."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM event WHERE reporter = :r AND reported_at = :t"),
                            {"r": reporter, "t": when}).scalar_one()


def test_overdue_is_judged_at_the_end_of_the_month(october):
    """An event still open after its due time at the end of a month is overdue for that month,
    judged from its history as it stood then: later steps do not change a past month.

    Before, "still open" was read from the event's status today, so resolving e4 in December
    took it out of October's overdue count, and an event overdue since an earlier month did
    not count in the months it stayed open. The October figures above were the same under
    both definitions (e4 was open at the end of October under both readings).
    """
    pick = ("handled", "handled_within_limit", "overdue")

    def figures(month):
        res = assessment.assess(october, month)
        rows = {(r["kind"], r["code"]): r for r in res["workers"] + res["grids"]}
        return {k: [rows[k][p] for p in pick] if k in rows else None
                for k in (("grid", G1), ("grid", G2), ("worker", W1), ("worker", W2))}

    # November, nothing resolved: G1 e9 (due 1 Nov 23:00) and e10 (due 2 Nov 01:00) are still
    # 'reported' on 30 November → overdue 2; G2 e4 (dispatched, due 21 Oct) still open → 1.
    # W1 answers for G1 (e9 was found by W2 but in G1), W2 for G2.
    nov = {("grid", G1): [0, 0, 2], ("grid", G2): [0, 0, 1],
           ("worker", W1): [0, 0, 2], ("worker", W2): [0, 0, 1]}
    assert figures("2026-11") == nov
    oct_g2 = [1, 1, 1]  # e5 handled within; e4 overdue (see test_assessment_figures)
    assert figures("2026-10")[("grid", G2)] == oct_g2
    # e4 is resolved late on 2 December: it counts as handled (not within) and overdue in
    # December; October and November keep their figures (it was open at both month ends)
    e4 = _event(october, W2, t(10, 20, 10))
    workflow.transition(october, e4, "resolve", CENTRE, now=t(12, 2, 10), note="late")
    assert figures("2026-10")[("grid", G2)] == oct_g2
    assert figures("2026-11") == nov
    dec = figures("2026-12")
    assert dec[("grid", G2)] == dec[("worker", W2)] == [1, 0, 1]
    # e9 and e10 are still open at the end of December, past due since November
    assert dec[("grid", G1)] == dec[("worker", W1)] == [0, 0, 2]
    # a step taken after the month's end with an earlier clock still counts where it happened:
    # e9 rejected on 30 November leaves November's and December's overdue counts
    e9 = _event(october, W2, t(10, 31, 23))
    workflow.transition(october, e9, "reject", CENTRE, now=t(11, 30, 12), note="not ours")
    assert figures("2026-11")[("grid", G1)] == [0, 0, 1]
    assert figures("2026-12")[("grid", G1)] == [0, 0, 1]


def test_the_running_month_is_judged_now_not_at_its_end(demo_district, engine,
                                                          owner_engine):
    """An event reported today and due tomorrow is not overdue in this month's assessment
    (before, the running month was judged at its last day, so every open event counted)."""
    clear_workflow(owner_engine)
    now = datetime.now(CST)
    report(engine, Locator(engine), "health.sanitation", G1, reporter=W1, reported_at=now)
    res = assessment.assess(engine, now.strftime("%Y-%m"))
    grid = next(r for r in res["grids"] if r["code"] == G1)
    assert grid["found"] == 1 and grid["overdue"] == 0
    assert res["end"] <= datetime.now(CST)
