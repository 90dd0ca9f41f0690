"""Possible duplicates: linked on intake within distance and time, decided by a dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.workflow import CENTRE, G1, G2, clear_workflow, grid_point, report, row

from gis.errors import Conflict, NotFound
from gis.intake import events
from gis.territory.locator import Locator
from gis.workflow import duplicates
from gis.workflow import transitions as workflow


@pytest.fixture()
def loc(demo_district, engine):
    """A locator on the demo district."""
    clear_workflow(engine)
    return Locator(engine)


def _pairs(engine, status="possible"):
    """(event, original) of the links with ``status``."""
    return sorted((x["event_id"], x["original_id"]) for x in duplicates.links(engine, status))


def test_near_recent_same_item_is_linked(engine, loc):
    """Same item, 50 m, 2 h apart → linked; other item, 500 m, 30 h, closed originals → not."""
    now = datetime.now(UTC)
    first = report(engine, loc, "safety.road", G1, reported_at=now - timedelta(hours=2))
    near = report(engine, loc, "safety.road", G1, offset_m=50)
    other_item = report(engine, loc, "safety.flood", G1, offset_m=50)
    far = report(engine, loc, "safety.road", G2)
    old = report(engine, loc, "health.pests", G1, reported_at=now - timedelta(hours=30))
    late = report(engine, loc, "health.pests", G1, offset_m=10)
    assert _pairs(engine) == [(near, first)]
    link = duplicates.links(engine)[0]
    assert 40 < link["distance_m"] < 60 and 7000 < link["gap_s"] < 7300
    assert {other_item, far, old, late}.isdisjoint({p for pr in _pairs(engine) for p in pr})
    workflow.transition(engine, first, "reject", CENTRE, note="fixed already")
    again = report(engine, loc, "safety.road", G1, offset_m=20)
    assert _pairs(engine) == [(near, first), (again, near)]  # not to the rejected one


def test_window_is_configurable(engine, loc):
    """A wider distance and window link what the defaults would not."""
    duplicates.set_config(engine, CENTRE, distance_m=1000, window_h=48)
    assert duplicates.get_config(engine) == {"distance_m": 1000, "window_h": 48, "enabled": True}
    now = datetime.now(UTC)
    a = report(engine, loc, "health.pests", G1, reported_at=now - timedelta(hours=30))
    b = report(engine, loc, "health.pests", G2)
    assert _pairs(engine) == [(b, a)]
    duplicates.set_config(engine, CENTRE, enabled=False)
    report(engine, loc, "health.pests", G2, offset_m=5)
    assert _pairs(engine) == [(b, a)]


def test_batch_links_later_to_earlier_only(engine, loc):
    """Two near reports in one batch: one link, from the second to the first."""
    lon, lat = grid_point(engine, G1)
    _s, stored, _r = events.ingest(engine, loc, [
        events.Report(item="safety.gas", source="resident", lon=lon, lat=lat),
        events.Report(item="safety.gas", source="resident", lon=lon + 0.0002, lat=lat)])
    ids = [s["id"] for s in stored]
    assert _pairs(engine) == [(ids[1], ids[0])]


def test_confirm_and_dismiss(engine, loc):
    """Confirm turns the event into a duplicate; dismiss closes the link only."""
    a = report(engine, loc, "safety.road", G1, source="resident", reporter="R-9")
    b = report(engine, loc, "safety.road", G1, offset_m=10, source="resident", reporter="R-9")
    c = report(engine, loc, "safety.road", G1, offset_m=-15)   # 15 m from a, 25 m from b
    # one link per new report: to the nearest open report of the same item
    assert _pairs(engine) == [(b, a), (c, a)]
    workflow.transition(engine, b, "accept", CENTRE)
    res = duplicates.confirm(engine, b, a, CENTRE, note="same manhole")
    assert res["to"] == "duplicate" and res["original_id"] == a
    assert row(engine, b)["status"] == "duplicate" and row(engine, b)["points"] == 0
    assert _pairs(engine, "confirmed") == [(b, a)]
    before = row(engine, c)
    duplicates.dismiss(engine, c, a, CENTRE, note="other manhole")
    assert _pairs(engine, "dismissed") == [(c, a)]
    assert row(engine, c)["status"] == "reported"
    assert row(engine, c)["history"] == before["history"] + 1
    with pytest.raises(NotFound):
        duplicates.dismiss(engine, c, a, CENTRE)
    with pytest.raises(Conflict):  # b is a duplicate itself: it cannot be an original
        workflow.transition(engine, c, "mark_duplicate", CENTRE, original_id=b)
    assert row(engine, c)["status"] == "reported"
    view = workflow.workflow_view(engine, a)
    assert {(d["event_id"], d["status"]) for d in view["duplicates"]} == {
        (b, "confirmed"), (c, "dismissed")}
