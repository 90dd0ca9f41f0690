"""Escalation: timing on an injected clock, concurrent scheduler runs, the whistle (吹哨)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, G2, LEADER, W1, clear_workflow, report, row

from gis.access import auth
from gis.access.auth import Principal
from gis.errors import Conflict, Forbidden, InvalidInput
from gis.territory.locator import Locator
from gis.workflow import escalation
from gis.workflow import transitions as workflow


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district."""
    clear_workflow(owner_engine)
    return Locator(engine)


def _escalations(engine, eid):
    """Overdue escalation history rows of one event."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT at, data FROM event_history WHERE event_id = :i AND action = 'escalated' "
            "ORDER BY id"), {"i": eid}).all()


def test_overdue_event_climbs_one_level_at_a_time(engine, loc):
    """safety.fire: grid 24 h → community 12 h → street 12 h → district 24 h, then stays."""
    t0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    eid = report(engine, loc, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE, now=t0)
    workflow.transition(engine, eid, "dispatch", CENTRE, now=t0)
    due = t0 + timedelta(hours=24)
    assert row(engine, eid)["due_at"] == due
    assert escalation.escalate_overdue(engine, due - timedelta(seconds=1)) == []
    done = escalation.escalate_overdue(engine, due)
    assert [(d["id"], d["from_level"], d["to_level"]) for d in done] == [
        (eid, "grid", "community")]
    assert done[0]["area"] == "320508001001" and done[0]["departments"] == ["fire"]
    r = row(engine, eid)
    assert r["level"] == "community" and r["due_at"] == due + timedelta(hours=12)
    assert r["status"] == "dispatched"
    assert escalation.escalate_overdue(engine, due + timedelta(hours=11, minutes=59)) == []
    t2 = due + timedelta(hours=12)
    assert [d["to_level"] for d in escalation.escalate_overdue(engine, t2)] == ["street"]
    t3 = t2 + timedelta(hours=12)
    assert [d["area"] for d in escalation.escalate_overdue(engine, t3)] == ["320508"]
    assert row(engine, eid)["level"] == "district"
    assert escalation.escalate_overdue(engine, t3 + timedelta(days=30)) == []
    hist = _escalations(engine, eid)
    assert [h.data["to_level"] for h in hist] == ["community", "street", "district"]
    assert [h.at for h in hist] == [due, t2, t3]
    assert all(h.data["reason"] == "overdue" for h in hist)
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind, level, department FROM event_dispatch WHERE "
                                  "event_id = :i ORDER BY id"), {"i": eid}).all()
    assert [tuple(k) for k in kinds] == [
        ("handle", "grid", None), ("notify", "grid", "fire"),
        ("escalate", "community", None), ("notify", "community", "fire"),
        ("escalate", "street", None), ("notify", "street", "fire"),
        ("escalate", "district", None), ("notify", "district", "fire")]
    assert len(escalation.overdue(engine, t3 + timedelta(days=30))) == 1


def test_due_time_from_intake_and_resolved_events_stay(engine, loc):
    """Undispatched reports fall due from reported_at; resolved or closed ones never climb."""
    reported = datetime.now(UTC) - timedelta(hours=1)
    waiting = report(engine, loc, "health.sanitation", G1, reported_at=reported)
    assert row(engine, waiting)["due_at"] == reported + timedelta(hours=24)
    done = report(engine, loc, "health.sanitation", G2, reported_at=reported)
    for a in ("accept", "dispatch", "resolve"):
        workflow.transition(engine, done, a, CENTRE, now=reported)
    closed = report(engine, loc, "health.sanitation", G2, reported_at=reported, offset_m=300)
    workflow.transition(engine, closed, "reject", CENTRE, note="spam", now=reported)
    later = reported + timedelta(days=3)
    ids = [d["id"] for d in escalation.escalate_overdue(engine, later)]
    assert ids == [waiting]
    assert row(engine, done)["level"] == "grid" and row(engine, closed)["level"] == "grid"


def test_running_twice_escalates_once(engine, loc):
    """A second run at the same time finds nothing to do."""
    t = datetime.now(UTC) + timedelta(days=2)
    ids = [report(engine, loc, "health.sanitation", g) for g in (G1, G2)]
    assert sorted(d["id"] for d in escalation.escalate_overdue(engine, t)) == ids
    assert escalation.escalate_overdue(engine, t) == []
    assert all(len(_escalations(engine, i)) == 1 for i in ids)


def test_concurrent_runs_escalate_each_event_once(engine, loc):
    """Two schedulers at once on separate connections: every event climbs exactly one level."""
    ids = [report(engine, loc, "health.sanitation", G1, offset_m=150 * i) for i in range(12)]
    t = datetime.now(UTC) + timedelta(days=2)
    barrier = threading.Barrier(2)
    results: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait()
            results[k] = [d["id"] for d in escalation.escalate_overdue(engine, t, batch=3)]
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    assert sorted(results[0] + results[1]) == ids
    assert all(row(engine, i)["level"] == "community" for i in ids)
    assert all(len(_escalations(engine, i)) == 1 for i in ids)


def test_locked_event_is_skipped_then_escalated(engine, loc):
    """A run skips a row another transaction holds (SKIP LOCKED) instead of waiting."""
    eid = report(engine, loc, "health.sanitation", G1)
    other = report(engine, loc, "health.sanitation", G2)
    t = datetime.now(UTC) + timedelta(days=2)
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM event WHERE id = :i FOR UPDATE"), {"i": eid})
        assert [d["id"] for d in escalation.escalate_overdue(engine, t)] == [other]
        holder.rollback()
    assert [d["id"] for d in escalation.escalate_overdue(engine, t)] == [eid]
    assert len(_escalations(engine, eid)) == 1


def test_whistle_by_the_grid_leader(engine, loc):
    """The grid leader blows the whistle: the event climbs and departments are called in."""
    eid = report(engine, loc, "dispute.neighbour", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    with engine.connect() as conn:
        areas = auth._areas(conn, "grid_worker", None, LEADER)
        wareas = auth._areas(conn, "grid_worker", None, W1)
    leader = Principal("grid_worker", areas, LEADER, name="leader")
    worker = Principal("grid_worker", wareas, W1)
    assert G1 in areas and wareas == (G1,)
    before = row(engine, eid)
    with pytest.raises(Forbidden) as e:
        workflow.transition(engine, eid, "whistle", worker, note="help")
    assert e.value.code == "not_grid_leader" and row(engine, eid) == before
    with pytest.raises(InvalidInput):
        workflow.transition(engine, eid, "whistle", leader)  # a note is required
    with pytest.raises(Forbidden):
        workflow.transition(engine, eid, "escalate", worker, note="up")
    assert row(engine, eid) == before
    now = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
    res = workflow.transition(engine, eid, "whistle", leader, note="families fighting again",
                              level="street", departments=["justice", "police"], now=now,
                              lon=120.6, lat=31.3)
    assert (res["from_level"], res["to_level"], res["area"]) == ("grid", "street", "320508001")
    r = row(engine, eid)
    assert r["level"] == "street" and r["status"] == "accepted"
    assert r["due_at"] == now + timedelta(hours=120)  # dispute.neighbour at street (rule)
    with engine.connect() as conn:
        recs = conn.execute(text("SELECT kind, department, actor FROM event_dispatch WHERE "
                                 "event_id = :i ORDER BY id"), {"i": eid}).all()
        h = conn.execute(text("SELECT action, actor, note, data FROM event_history WHERE "
                              "event_id = :i ORDER BY id DESC LIMIT 1"), {"i": eid}).one()
    assert [tuple(x) for x in recs] == [("whistle", None, LEADER), ("notify", "justice", LEADER),
                                        ("notify", "police", LEADER)]
    assert h.action == "whistle" and h.actor == LEADER and h.data["reason"] == "whistle"
    with pytest.raises(InvalidInput) as e:
        workflow.transition(engine, eid, "whistle", leader, note="again", level="community")
    assert e.value.code == "not_higher"
    workflow.transition(engine, eid, "escalate", CENTRE, note="to the district")
    with pytest.raises(Conflict) as e:
        workflow.transition(engine, eid, "escalate", CENTRE, note="higher still")
    assert e.value.code == "top_level"
