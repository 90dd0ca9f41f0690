"""Patrol coverage (tracks clipped to the period), unvisited units, patrols due, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.workflow import CENTRE, G1, G2, W1, W2, clear_workflow, track, unit_point

from gis.access.auth import Principal
from gis.errors import Forbidden, InvalidInput
from gis.intake import patrols
from gis.oversight import coverage
from gis.territory.locator import Locator

A, B = G1 + "001", G2 + "009"


@pytest.fixture()
def loc(demo_district, engine):
    """A locator on the demo district."""
    clear_workflow(engine)
    return Locator(engine)


def _visited(result) -> dict[str, int]:
    """grid → units visited."""
    return {g["grid"]: g["visited"] for g in result["grids"]}


def test_coverage_counts_only_the_part_of_a_track_in_the_period(engine, loc):
    """A track from unit A (minute 0-1) to unit B (minute 60-61): periods see A or B."""
    t0 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)
    (ax, ay), (bx, by) = unit_point(engine, A), unit_point(engine, B)
    patrols.ingest_track(engine, loc, W1, [
        patrols.Fix(ax, ay, t0), patrols.Fix(ax + 0.00002, ay, t0 + timedelta(minutes=1)),
        patrols.Fix(bx, by, t0 + timedelta(minutes=60)),
        patrols.Fix(bx + 0.00002, by, t0 + timedelta(minutes=61))])
    early = coverage.coverage(engine, t0, t0 + timedelta(minutes=2), area="320508001001")
    late = coverage.coverage(engine, t0 + timedelta(minutes=59, seconds=50),
                             t0 + timedelta(hours=2), area="320508001001")
    assert early["units"] == late["units"] == 4 * 9
    assert _visited(early)[G1] >= 1 and _visited(early)[G2] == 0
    assert _visited(late)[G1] == 0 and _visited(late)[G2] == 1
    before = coverage.coverage(engine, t0 - timedelta(days=1), t0 - timedelta(seconds=1))
    assert before["visited"] == 0
    assert coverage.coverage(engine, t0, t0 + timedelta(minutes=2), worker=W2)["visited"] == 0
    with pytest.raises(InvalidInput):
        coverage.coverage(engine, t0, t0)


def test_unvisited_units_and_patrols_due(engine, loc):
    """Units not visited for N days; duty minus tracks done that day, per worker."""
    now = datetime.now(UTC)
    day = now.astimezone(coverage.CST).date()
    start, _end = coverage.day_bounds(day)
    track(engine, loc, W1, A, start)  # started at 00:00 CST today: never in the future
    track(engine, loc, W1, G1 + "002", start - timedelta(days=10))
    stale = {u["unit"]: u["last_visit"] for u in coverage.unvisited(engine, 7, now, area=G1)}
    assert A not in stale and G1 + "002" in stale and stale[G1 + "002"] is not None
    assert len(stale) == 8 and stale[G1 + "009"] is None
    coverage.set_duty(engine, CENTRE, G1, 2)
    due = {d["grid"]: d for d in coverage.patrols_due(engine, day, area="320508001001")}
    assert (due[G1]["worker"], due[G1]["duty"], due[G1]["done"], due[G1]["due"]) == (W1, 2, 1, 1)
    assert (due[G2]["worker"], due[G2]["duty"], due[G2]["done"], due[G2]["due"]) == (W2, 1, 0, 1)
    rem = {r["worker"]: r for r in coverage.reminders(engine, day, area="320508001001")}
    assert rem[W1]["patrols_due"] == 1 and len(rem[W1]["unvisited_units"]) == 8
    assert rem[W2]["patrols_due"] == 1 and len(rem[W2]["unvisited_units"]) == 9
    with pytest.raises(Forbidden):
        coverage.set_duty(engine, Principal("community_dispatcher", ("320508002001",)), G1, 3)
    with pytest.raises(InvalidInput):
        coverage.set_duty(engine, CENTRE, "nope", 1)


def test_patrol_endpoints(api, demo_district, engine):
    """Coverage, unvisited and due over the API; a grid worker sees their own grid."""
    from gis.access import auth

    api.app.state.locator.refresh(force=True)
    now = datetime.now(UTC)
    r = api.get("/api/v1/patrols/coverage", params={
        "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat(),
        "area": G1})
    assert r.status_code == 200 and r.json()["units"] == 9
    h = {"Authorization": "Bearer " + auth.create_token(engine, "grid_worker", G1)["token"]}
    assert api.get("/api/v1/patrols/unvisited", headers=h).json()["count"] == 9
    assert api.get(f"/api/v1/patrols/unvisited?area={G2}", headers=h).status_code == 403
    due = api.get("/api/v1/patrols/due", headers=h).json()
    assert [d["grid"] for d in due["duties"]] == [G1]
    assert api.put(f"/api/v1/patrols/duty/{G1}", json={"patrols_per_day": 3},
                   headers=h).status_code == 403
    assert api.put(f"/api/v1/patrols/duty/{G1}", json={"patrols_per_day": 3}).status_code == 200
