"""Heavy reads: same answers as the per-unit geography query, 504 on a statement timeout (API
and CLI), and event intake keeps answering while many heavy reads are in flight."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from support.workflow import G1, W1, W2, clear_workflow, grid_point

from bench.heavy import OLD_UNIT_LAST_VISIT, OLD_UNIT_VISITS  # the SQL before the rewrite
from gis.access import auth
from gis.db.engine import HEAVY_APP_NAME
from gis.intake import patrols
from gis.oversight import coverage
from gis.settings import Settings
from gis.territory.locator import Locator

T0 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)
HEAVY_PATHS = (
    "/api/v1/patrols/unvisited",
    "/api/v1/patrols/due",
    "/api/v1/patrols/coverage?since=2026-11-01T00:00:00%2B08:00&until=2026-12-01T00:00:00%2B08:00",
    "/api/v1/reports/assessment?month=2026-11",
)
TIMEOUT_BODY = {"error": {"code": "query_timeout", "message": "the query took too long"}}



@contextmanager
def tracks_locked(owner_engine: Engine, table: str = "patrol_track") -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on ``table`` (patrol_track: every heavy read waits)."""
    with owner_engine.connect() as conn:
        conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()


def _client(settings: Settings, engine: Engine, **overrides):
    """A TestClient (district centre token) on an app with ``overrides`` of the settings."""
    from fastapi.testclient import TestClient

    from wangge.app import create_app

    app = create_app(settings.model_copy(update=overrides), listen=False)
    client = TestClient(app)
    token = auth.create_token(engine, "district_centre", name="heavy tests")["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _heavy_waiting(engine: Engine) -> int:
    """Sessions of the heavy pool waiting on a lock in this database."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :app AND wait_event_type = 'Lock'"),
            {"app": HEAVY_APP_NAME}).scalar_one()


def _heavy_sessions(engine: Engine) -> int:
    """Sessions of heavy pools busy in this database (idle ones of earlier tests' apps aside)."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :app AND state <> 'idle'"),
            {"app": HEAVY_APP_NAME}).scalar_one()


def _wait_for(cond, what: str, limit_s: float = 60.0) -> None:
    """Poll ``cond`` until true; fail naming ``what`` after ``limit_s`` (a bound, not a timing)."""
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


def test_intake_answers_while_heavy_reads_are_in_flight(settings, demo_district, engine,
                                                        owner_engine):
    """24 heavy reads stuck behind a lock use only the heavy pool; POST /events still 201."""
    clear_workflow(engine)
    lon, lat = grid_point(engine, G1)
    client = _client(settings, engine, heavy_pool_size=2, heavy_wait_s=120.0)
    results: list[int] = []

    def heavy(path: str) -> None:
        results.append(client.get(path).status_code)

    threads = [threading.Thread(target=heavy, args=(HEAVY_PATHS[i % len(HEAVY_PATHS)],))
               for i in range(24)]
    with client:
        with tracks_locked(owner_engine):
            for t in threads:
                t.start()
            _wait_for(lambda: _heavy_waiting(engine) == 2, "both heavy connections waiting")
            for i in range(5):
                r = client.post("/api/v1/events", json={
                    "item": "safety.fire", "source": "worker", "lon": lon, "lat": lat,
                    "description": f"intake during heavy reads {i}"})
                assert r.status_code == 201, r.text
            assert not results and all(t.is_alive() for t in threads)  # all 24 in flight
            assert _heavy_sessions(engine) == 2  # never more than the heavy pool
        for t in threads:
            t.join(120)
    assert results == [200] * 24


def test_a_heavy_read_finding_no_slot_is_503_busy(settings, demo_district, engine,
                                                  owner_engine):
    """With every heavy slot taken past ``heavy_wait_s``: 503 busy with Retry-After."""
    clear_workflow(engine)
    client = _client(settings, engine, heavy_pool_size=1, heavy_wait_s=0.2)
    first: list[int] = []
    with client:
        with tracks_locked(owner_engine):
            t = threading.Thread(target=lambda: first.append(
                client.get(HEAVY_PATHS[0]).status_code))
            t.start()
            _wait_for(lambda: _heavy_waiting(engine) == 1, "the heavy connection waiting")
            r = client.get(HEAVY_PATHS[0])
            assert r.status_code == 503 and r.json()["error"]["code"] == "busy"
            assert "Retry-After" in r.headers
        t.join(120)
    assert first == [200]


def test_statement_timeout_is_504_not_503(settings, demo_district, engine, owner_engine):
    """A heavy read past its statement timeout: 504 query_timeout on every heavy endpoint."""
    clear_workflow(engine)
    client = _client(settings, engine, heavy_statement_timeout_ms=200)
    with client, tracks_locked(owner_engine):
        for path in HEAVY_PATHS:
            r = client.get(path)
            assert (r.status_code, r.json()) == (504, TIMEOUT_BODY), path
            assert "Retry-After" not in r.headers


def test_statement_timeout_anywhere_in_the_api_is_504(settings, demo_district, engine,
                                                     owner_engine):
    """The error handlers map SQLSTATE 57014 to 504 for any endpoint, not 503 'unreachable'."""
    from gis.db.engine import make_engine

    client = _client(settings, engine)
    slow = make_engine(settings, pool_size=1, statement_timeout_ms=200)
    client.app.state.engine = slow
    try:
        with client, owner_engine.connect() as conn:
            conn.execute(text("LOCK TABLE event IN ACCESS EXCLUSIVE MODE"))
            r = client.get("/api/v1/events")
            conn.rollback()
        assert (r.status_code, r.json()) == (504, TIMEOUT_BODY)
    finally:
        slow.dispose()


@pytest.mark.parametrize(("args", "table"), [
    (["patrols", "unvisited"], "patrol_track"),
    (["patrols", "reminders"], "patrol_track"),
    (["report", "assessment", "--month", "2026-11"], "patrol_track"),
    (["events", "show", "1"], "event"),  # any command: the entry point catches it
])
def test_cli_prints_a_timeout_as_one_line(settings, demo_district, engine, owner_engine, args,
                                          table):
    """The commands print the timeout as one JSON line on stderr, no traceback, exit 1."""
    clear_workflow(engine)
    exe = Path(sys.executable).with_name("wangge")
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "WANGGE_DATABASE_URL": settings.database_url, "WANGGE_STATEMENT_TIMEOUT_MS": "200"}
    with tracks_locked(owner_engine, table):
        p = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                           timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "query_timeout" in lines[0], p.stderr


def _path(x0: float, y0: float, x1: float, y1: float, n: int) -> list[tuple[float, float]]:
    """``n`` + 1 evenly spaced points from (x0, y0) to (x1, y1)."""
    return [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n + 1)]


def _walk(engine: Engine, loc: Locator, worker: str, pts: list[tuple[float, float]],
          start: datetime) -> None:
    """Store a track through ``pts``, one fix a minute from ``start``."""
    patrols.ingest_track(engine, loc, worker, [
        patrols.Fix(x, y, start + timedelta(minutes=i)) for i, (x, y) in enumerate(pts)])


@pytest.fixture()
def crossing_tracks(demo_district, engine) -> tuple[float, float, float, float]:
    """Tracks across the district: diagonals with fixes ~40 m apart, a long straight leg,
    an out-and-back walk, on several days by two workers. Returns the units' extent."""
    clear_workflow(engine)
    loc = Locator(engine)
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(u.geom) "
            "AS e FROM unit u JOIN generation g ON g.id = u.generation_id "
            "AND g.status = 'active') s")).one()
    n = max(2, int(max(x1 - x0, y1 - y0) / 0.0004))
    _walk(engine, loc, W1, _path(x0, y0, x1, y1, n), T0)
    _walk(engine, loc, W2, _path(x0, y1, x1, y0, n), T0 + timedelta(days=1))
    _walk(engine, loc, W1, _path(x0, (y0 + y1) / 2, x1, (y0 + y1) / 2, 1),
          T0 + timedelta(days=2))
    mx = (x0 + x1) / 2
    leg = _path(mx, y0, mx + 0.0001, y1, n)
    _walk(engine, loc, W2, leg + leg[::-1][1:], T0 + timedelta(days=3))
    return x0, y0, x1, y1


@pytest.mark.parametrize("d", [0.0, 4.0, 30.0, 75.0])
def test_unit_visits_equal_the_per_unit_query(engine, crossing_tracks, d):
    """unit_visits: the same units and workers as the old query, whole and clipped periods."""
    periods = [(T0 - timedelta(days=1), T0 + timedelta(days=5)),
               (T0 + timedelta(minutes=7), T0 + timedelta(days=1, minutes=20)),
               (T0 + timedelta(days=3, minutes=30), T0 + timedelta(days=3, minutes=31))]
    visited = 0
    for since, until in periods:
        for area in (None, "320508001001"):
            p = {"since": since, "until": until, "d": d, "area": area}
            with engine.connect() as conn:
                old = [dict(r) for r in conn.execute(text(OLD_UNIT_VISITS), p).mappings()]
                new = coverage.unit_visits(conn, since, until, d, area)
            assert new == old, (since, until, area)
            visited += sum(bool(r["workers"]) for r in new)
    assert visited


@pytest.mark.parametrize("d", [0.0, 4.0, 30.0, 75.0])
def test_unvisited_equals_the_per_unit_query(engine, crossing_tracks, d):
    """unit_last_visit: the same units and last visits as the old query for several cut-offs."""
    now = T0 + timedelta(days=4)
    for days in (0, 1, 2, 3, 7):
        for area in (None, "320508002"):
            p = {"now": now, "cutoff": now - timedelta(days=days), "d": d, "area": area}
            with engine.connect() as conn:
                old = [dict(r) for r in conn.execute(text(OLD_UNIT_LAST_VISIT), p).mappings()]
            new = coverage.unvisited(engine, days, now, area, d)
            assert new == old, (days, area)
    visited = coverage.unvisited(engine, 0, now, None, d)
    assert any(r["last_visit"] is not None for r in visited)
