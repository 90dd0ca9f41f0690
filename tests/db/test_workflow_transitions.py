"""The event state machine: every action from every status, refusals change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, last_history, report, row

from gis.errors import Conflict, InvalidInput, NotFound
from gis.intake import events
from gis.territory.locator import Locator
from gis.workflow import transitions as workflow

# how to bring a fresh (reported) event to each status
PATHS = {
    "reported": [],
    "accepted": ["accept"],
    "dispatched": ["accept", "dispatch"],
    "in_progress": ["accept", "dispatch", "start"],
    "resolved": ["accept", "dispatch", "start", "resolve"],
    "closed": ["accept", "dispatch", "resolve", "close"],
    "rejected": ["reject"],
    "duplicate": ["mark_duplicate"],
    "reopened": ["accept", "dispatch", "resolve", "reopen"],
}


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district."""
    from support.workflow import clear_workflow

    clear_workflow(owner_engine)
    return Locator(engine)


def _act(engine, eid, action, original, **kw):
    """Apply an action with whatever it needs (a note, an original)."""
    return workflow.transition(engine, eid, action, CENTRE, note="n", original_id=original, **kw)


def test_every_action_from_every_status(engine, loc):
    """Legal actions move the status and add history; illegal ones are 409 and change nothing."""
    original = report(engine, loc, "health.sanitation", G1)
    for status, path in PATHS.items():
        for action in workflow.ACTIONS:
            eid = report(engine, loc, "health.sanitation", G1, offset_m=500)
            for step in path:
                _act(engine, eid, step, original)
            assert row(engine, eid)["status"] == status
            before = row(engine, eid)
            legal = action in workflow.allowed_actions(status)
            if legal:
                res = _act(engine, eid, action, original)
                after = row(engine, eid)
                assert after["history"] == before["history"] + 1
                h = last_history(engine, eid)
                assert h["actor"] == "centre" and h["note"] == "n"
                if action in workflow.TRANSITIONS:
                    assert after["status"] == workflow.TRANSITIONS[action][1] == res["to"]
                    assert h["action"] == action and h["from_status"] == status
                else:
                    assert after["status"] == status
                    assert after["level"] == "community"
            else:
                with pytest.raises(Conflict) as e:
                    _act(engine, eid, action, original)
                assert e.value.code == "illegal_transition"
                assert status in e.value.message
                assert row(engine, eid) == before


def test_transition_table_is_what_the_issue_asks():
    """reported → accepted → dispatched → in_progress → resolved → closed, plus side exits."""
    assert workflow.allowed_actions("reported") == ["accept", "reject", "mark_duplicate",
                                                    "escalate", "whistle"]
    assert workflow.allowed_actions("resolved") == ["close", "reopen"]
    assert workflow.allowed_actions("closed") == ["reopen"]
    for final in ("rejected", "duplicate"):
        assert workflow.allowed_actions(final) == []


def test_history_records_who_when_where_and_note(engine, loc):
    """Position (converted from GCJ-02), the injected time, the actor and the note are kept."""
    eid = report(engine, loc, "health.sanitation", G1)
    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    workflow.transition(engine, eid, "accept", CENTRE, note="seen on camera 12", lon=120.6,
                        lat=31.3, crs="gcj02", now=at)
    h = last_history(engine, eid)
    assert h["at"] == at and h["actor"] == "centre" and h["note"] == "seen on camera 12"
    assert h["from_status"] == "reported" and h["to_status"] == "accepted"
    # GCJ-02 is ~300-700 m off WGS84 around Suzhou: the stored point is the converted one
    assert 0.002 < abs(h["lon"] - 120.6) + abs(h["lat"] - 31.3) < 0.01


def test_refusals_change_nothing(engine, loc):
    """Missing note, unknown action, bad position, unknown department, missing event."""
    eid = report(engine, loc, "health.sanitation", G1)
    before = row(engine, eid)
    cases = [
        (dict(action="reject"), "note_required"),
        (dict(action="fly"), "unknown_action"),
        (dict(action="accept", lon=120.6), "missing_coordinate"),
        (dict(action="accept", lon=500.0, lat=31.0), "out_of_range"),
    ]
    for kw, code in cases:
        with pytest.raises(InvalidInput) as e:
            workflow.transition(engine, eid, kw.pop("action"), CENTRE, **kw)
        assert e.value.code == code
        assert row(engine, eid) == before
    workflow.transition(engine, eid, "accept", CENTRE)
    before = row(engine, eid)
    with pytest.raises(InvalidInput) as e:
        workflow.transition(engine, eid, "dispatch", CENTRE, departments=["nasa"])
    assert e.value.code == "unknown_department" and row(engine, eid) == before
    with pytest.raises(InvalidInput):
        workflow.transition(engine, eid, "dispatch", CENTRE, level="planet")
    assert row(engine, eid) == before
    with pytest.raises(NotFound):
        workflow.transition(engine, 999_999, "accept", CENTRE)
    with engine.connect() as conn:
        refused = conn.execute(text("SELECT count(*) FROM audit_log WHERE outcome = 'refused'"
                                    )).scalar()
    assert refused == 7


def test_dispatch_reports_up_and_notifies_in_one_step(engine, loc):
    """Rules give the level, departments and due time; records are written together."""
    eid = report(engine, loc, "safety.fire", G1)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    workflow.transition(engine, eid, "accept", CENTRE, now=now)
    res = workflow.transition(engine, eid, "dispatch", CENTRE, now=now, note="go")
    assert res["level"] == "grid" and res["area"] == G1 and res["departments"] == ["fire"]
    assert row(engine, eid)["due_at"] == now + timedelta(hours=24)
    with engine.connect() as conn:
        recs = events.dispatch_records(conn, eid)
    assert [(r["kind"], r["level"], r["area_code"], r["department"]) for r in recs] == [
        ("handle", "grid", G1, None), ("notify", "grid", G1, "fire")]
    # an explicit level and departments; the district code comes from the street
    eid2 = report(engine, loc, "dispute.wages", G1)
    workflow.transition(engine, eid2, "accept", CENTRE, now=now)
    res = workflow.transition(engine, eid2, "dispatch", CENTRE, now=now, level="district",
                              departments=["hr", "court"])
    assert res["area"] == "320508" and res["departments"] == ["hr", "court"]
    # default level of dispute.wages is street (catalogue), notified: hr + justice (rule)
    eid3 = report(engine, loc, "dispute.wages", G1, offset_m=300)
    workflow.transition(engine, eid3, "accept", CENTRE, now=now)
    res = workflow.transition(engine, eid3, "dispatch", CENTRE, now=now)
    assert (res["level"], res["area"], res["departments"]) == ("street", "320508001",
                                                               ["hr", "justice"])
    assert row(engine, eid3)["due_at"] == now + timedelta(hours=120)


def test_resolution_within_limit_and_close_reopen(engine, loc):
    """within_limit is judged at resolution; close sets closed_at, reopen clears it."""
    t0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    eid = report(engine, loc, "health.sanitation", G1)
    workflow.transition(engine, eid, "accept", CENTRE, now=t0)
    workflow.transition(engine, eid, "dispatch", CENTRE, now=t0)
    res = workflow.transition(engine, eid, "resolve", CENTRE, now=t0 + timedelta(hours=24))
    assert res["within_limit"] is True
    workflow.transition(engine, eid, "close", CENTRE, now=t0 + timedelta(hours=25))
    assert row(engine, eid)["closed_at"] == t0 + timedelta(hours=25)
    workflow.transition(engine, eid, "reopen", CENTRE, note="still dirty",
                        now=t0 + timedelta(hours=30))
    assert row(engine, eid)["closed_at"] is None
    workflow.transition(engine, eid, "dispatch", CENTRE, now=t0 + timedelta(hours=30))
    res = workflow.transition(engine, eid, "resolve", CENTRE, now=t0 + timedelta(hours=55))
    assert res["within_limit"] is False


def test_resident_points_awarded_on_accept_and_revoked_on_reject(engine, loc):
    """Accepted resident reports earn points; a later rejection takes them back."""
    eid = report(engine, loc, "health.sanitation", G1, source="resident", reporter="R-1")
    workflow.transition(engine, eid, "accept", CENTRE)
    assert row(engine, eid)["points"] == 1
    workflow.transition(engine, eid, "reject", CENTRE, note="not in our district")
    assert row(engine, eid)["points"] == 0
    wid = report(engine, loc, "health.sanitation", G1, source="worker", reporter="W1",
                 offset_m=400)
    workflow.transition(engine, wid, "accept", CENTRE)
    assert row(engine, wid)["points"] == 0
