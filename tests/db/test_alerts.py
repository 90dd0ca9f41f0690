"""Alerts (告警): produced when a high-level event is stored or an event climbs a level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, LEADER, clear_workflow, report

from gis.access import auth
from gis.access.auth import Principal
from gis.territory.locator import Locator
from gis.workflow import escalation
from gis.workflow import transitions as workflow


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district."""
    clear_workflow(owner_engine)
    return Locator(engine)


def _alerts(engine, eid):
    """(kind, level, area_code, grid_code) of one event's alerts, oldest first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT kind, level, area_code, grid_code FROM alert WHERE event_id = :i "
            "ORDER BY id"), {"i": eid})]


def test_street_and_district_items_alert_on_intake_grid_items_do_not(engine, loc):
    """crime.theft (street) and crime.drugs (district) alert at once; a grid item does not."""
    theft = report(engine, loc, "crime.theft", G1)
    drugs = report(engine, loc, "crime.drugs", G1)
    litter = report(engine, loc, "health.sanitation", G1)
    assert _alerts(engine, theft) == [("high_level_event", "street", "320508001", G1)]
    assert _alerts(engine, drugs) == [("high_level_event", "district", None, G1)]
    assert _alerts(engine, litter) == []
    with engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM alert WHERE event_id = :i"),
                               {"i": theft}).scalar()
    assert payload["item_name"] == "盗窃" and payload["street_code"] == "320508001"


def test_overdue_escalation_alerts_each_level(engine, loc):
    """Each overdue climb writes an 'escalated' alert for the new level and its area."""
    t0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    eid = report(engine, loc, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE, now=t0)
    workflow.transition(engine, eid, "dispatch", CENTRE, now=t0)
    due = t0 + timedelta(hours=24)
    escalation.escalate_overdue(engine, due)
    escalation.escalate_overdue(engine, due + timedelta(hours=12))
    assert _alerts(engine, eid) == [("escalated", "community", "320508001001", G1),
                                    ("escalated", "street", "320508001", G1)]


def test_whistle_and_manual_escalation_alert_the_new_level(engine, loc):
    """A grid leader's whistle to the street and the centre's escalation to the district."""
    eid = report(engine, loc, "dispute.neighbour", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    with engine.connect() as conn:
        leader = Principal("grid_worker", auth._areas(conn, "grid_worker", None, LEADER),
                           LEADER, name="leader")
    workflow.transition(engine, eid, "whistle", leader, note="families fighting again",
                        level="street", departments=["justice"])
    workflow.transition(engine, eid, "escalate", CENTRE, note="needs the district")
    assert _alerts(engine, eid) == [("whistle", "street", "320508001", G1),
                                    ("escalated", "district", None, G1)]
