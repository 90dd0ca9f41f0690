"""Patrol visits kept as tracks arrive (migration 0014): coverage and unvisited units read
from them give the answers of the naive per-unit geography ST_DWithin, whatever the period,
and fall back to the query-time way for tracks not indexed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from support import visits
from support.workflow import W1, W2, clear_workflow

from gis.oversight import coverage
from gis.territory.locator import Locator

D = 30.0
T0 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)

NAIVE_LAST_VISIT = """
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN LATERAL (
    SELECT max(to_timestamp(ST_InterpolatePoint(p.geom,
               ST_ClosestPoint(ST_Force2D(p.geom), u.geom)))) AS last_visit
    FROM patrol_track p
    WHERE p.started_at <= :now AND ST_DWithin(ST_Force2D(p.geom)::geography, u.geom::geography, :d)
) lv ON true
WHERE lv.last_visit IS NULL OR lv.last_visit < :cutoff
ORDER BY u.grid_code, u.code
"""


def _naive(engine: Engine, sql: str, **params) -> list[dict]:
    """The rows of a naive query at distance D."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params | {"d": D}).mappings()]


def _walks(engine: Engine, loc: Locator, n: int = 12) -> None:
    """``n`` random walks across the district, each day one more day after T0, by two
    workers."""
    for k in range(n):
        visits.walk(engine, loc, W1 if k % 2 else W2,
                    T0 + timedelta(days=k // 3, hours=k % 3 * 5), seed=7 + k)


@pytest.fixture()
def walked(demo_district, engine):
    """The demo district with a dozen random patrol walks over four days."""
    clear_workflow(engine)
    _walks(engine, Locator(engine))
    return engine


def test_tracks_are_indexed_as_they_arrive(walked):
    """Every stored track has its visit rows, for the active generation and 30 m."""
    with walked.connect() as conn:
        tracks = conn.execute(text("SELECT count(*) FROM patrol_track")).scalar_one()
        indexed = conn.execute(text(
            "SELECT count(*) FROM patrol_track_indexed x JOIN generation g "
            "ON g.id = x.generation_id AND g.status = 'active' WHERE x.distance_m = 30")
        ).scalar_one()
        visits = conn.execute(text("SELECT count(*) FROM patrol_visit")).scalar_one()
    assert tracks == indexed == 12 and visits > 50


@pytest.mark.parametrize("since,until", [
    (T0 - timedelta(days=1), T0 + timedelta(days=10)),  # every track whole
    (T0 + timedelta(hours=1), T0 + timedelta(days=1, hours=6)),  # tracks cut by both ends
    (T0 + timedelta(days=2), T0 + timedelta(days=3)),  # one day
])
def test_coverage_equals_the_naive_definition(walked, since, until):
    """unit_visits (visit rows for whole tracks, clipping for cut ones) == per-unit ST_DWithin."""
    with walked.connect() as conn:
        fast = coverage.unit_visits(conn, since, until, D)
    naive = visits.naive_visits(walked, since, until, D)
    assert fast == naive
    assert sum(bool(v["workers"]) for v in fast) > 10


def test_unvisited_equals_the_naive_definition(walked):
    """unvisited read from the visit rows == per-unit ST_DWithin, also before later tracks."""
    for now, days in ((T0 + timedelta(days=30), 27), (T0 + timedelta(days=2, hours=1), 1)):
        fast = coverage.unvisited(walked, days, now, distance_m=D)
        naive = _naive(walked, NAIVE_LAST_VISIT, now=now, cutoff=now - timedelta(days=days))
        assert fast == naive
        assert any(u["last_visit"] for u in fast) and len(fast) < 288


def test_a_changed_or_unindexed_track_is_still_answered_exactly(walked):
    """A rewritten track is indexed anew; a track not indexed (another distance, or visit rows
    dropped) is answered the query-time way, with the same result."""
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=10)
    with walked.begin() as conn:
        conn.execute(text("UPDATE patrol_track SET geom = ST_Translate(geom, 0.002, 0.001) "
                          "WHERE id = (SELECT min(id) FROM patrol_track)"))
        conn.execute(text("DELETE FROM patrol_track_indexed "
                          "WHERE track_id = (SELECT max(id) FROM patrol_track)"))
    with walked.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM patrol_track_indexed")).scalar_one() == 11
        fast = coverage.unit_visits(conn, since, until, D)
        other = coverage.unit_visits(conn, since, until, 45.0)
    assert fast == visits.naive_visits(walked, since, until, D)
    now = T0 + timedelta(days=30)
    assert coverage.unvisited(walked, 27, now, distance_m=D) == _naive(
        walked, NAIVE_LAST_VISIT, now=now, cutoff=now - timedelta(days=27))
    assert sum(bool(v["workers"]) for v in other) > sum(bool(v["workers"]) for v in fast)
    assert coverage.index_visits(walked, D) > 0
    with walked.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM patrol_track_indexed")).scalar_one() == 12
        assert coverage.unit_visits(conn, since, until, D) == fast
