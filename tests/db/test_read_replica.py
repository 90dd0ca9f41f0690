"""Reads off a real streaming replica: a primary and a hot standby started for this module.

The primary (``wal_level=replica``) gets the schema through the project's migrations and the
small generated district; ``pg_basebackup -R`` makes the standby. Both live in a temporary
folder on free ports and are removed at the end; the shared cluster is never touched.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from support.pgcluster import Pair, wait_for
from support.workflow import G1, grid_point

from gis.access import auth
from gis.db import migrate
from gis.db.engine import (
    dispose_all,
    get_engine,
    get_heavy_read_engine,
    get_read_engine,
    read_router,
)
from gis.intake import catalogue
from gis.oversight.dashboard import Filters
from gis.settings import Settings
from gis.territory.synthetic import load_synthetic

LOGGER = "gis.db.replica"


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A migrated primary with the demo district, and its hot standby, both running."""
    p = Pair()
    try:
        primary = p.start_primary()
        primary.psql("CREATE ROLE wangge LOGIN CREATEDB; CREATE ROLE wangge_app LOGIN; "
                     "GRANT wangge_app TO wangge")
        primary.psql("CREATE DATABASE wangge OWNER wangge")
        primary.psql("CREATE EXTENSION postgis", "wangge")
        s = settings_of(p)
        migrate.upgrade_and_grant(s)
        with get_engine(s.as_owner()).begin() as conn:
            catalogue.load(conn)
        load_synthetic(get_engine(s))
        p.start_standby()
        yield p
    finally:
        dispose_all()
        p.close()


@pytest.fixture(autouse=True)
def fresh_routers() -> None:
    """Each test starts with no router (nor its warnings) and no pooled connection."""
    dispose_all()


def settings_of(p: Pair, **kw) -> Settings:
    """Settings on the pair: the platform's role on the primary, the standby for reads."""
    return Settings(database_url=p.primary.url("wangge_app", "wangge"),
                    owner_database_url=p.primary.url("wangge", "wangge"),
                    read_database_url=p.standby.url("wangge_app", "wangge"),
                    locator_poll_s=0.05, media_url=tempfile.mkdtemp(prefix="wangge-media-"),
                    **kw)


def in_recovery(engine: Engine) -> bool:
    """True when ``engine`` talks to a hot standby."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one()


def event_ids(engine: Engine) -> set[int]:
    """Ids of the events stored on ``engine``'s server."""
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM event")).scalars())


def replay(p: Pair, on: bool) -> None:
    """Pause or resume the standby's replay, and wait until it says so."""
    p.standby.psql(f"SELECT pg_wal_replay_{'resume' if on else 'pause'}()")
    want = "not paused" if on else "paused"
    wait_for(lambda: p.standby.psql("SELECT pg_get_wal_replay_pause_state()") == want,
             f"replay {want}")


def replica_warnings(caplog) -> list[str]:
    """The router's warnings so far."""
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and r.levelno == logging.WARNING]


def tile_of(lon: float, lat: float, z: int = 16) -> str:
    """The events tile (XYZ) holding a WGS84 point."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return f"/tiles/events/{z}/{x}/{y}.pbf"


def client_of(s: Settings) -> TestClient:
    """A TestClient on the app of ``s`` as the district centre (token made on the primary)."""
    from wangge.app import create_app

    token = auth.create_token(get_engine(s), "district_centre", name="replica test")["token"]
    client = TestClient(create_app(s, listen=False))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_reads_go_to_the_standby_and_writes_to_the_primary(pair, monkeypatch):
    """The read engine (API, heavy reads, the dashboard's loaders) is the standby's; the
    primary's engine is not, and the replica's pool refuses a write outright."""
    s = settings_of(pair, read_max_lag_s=60, read_check_s=0.2)
    assert in_recovery(get_read_engine(s)) is True
    assert in_recovery(get_heavy_read_engine(s)) is True
    assert in_recovery(get_engine(s)) is False
    assert read_router(s).health.lag_s == 0.0  # idle: replayed all the primary flushed
    with pytest.raises(Exception, match="read-only"), get_read_engine(s).begin() as conn:
        conn.execute(text("UPDATE duplicate_config SET distance_m = 1"))

    from dashboard import data

    monkeypatch.setenv("WANGGE_READ_DATABASE_URL", s.read_database_url)
    monkeypatch.setenv("WANGGE_READ_CHECK_S", "0.2")
    assert in_recovery(data._read_engine(s.database_url)) is True
    assert in_recovery(data._engine(s.database_url)) is False
    assert G1 in {g["code"] for g in data.grids.__wrapped__(s.database_url)}


def dashboard_total(url: str) -> int:
    """Events of all time on the dashboard (its loader, uncached)."""
    from dashboard import data

    every = Filters(since=datetime(1970, 1, 1, tzinfo=UTC))
    return data.event_summary.__wrapped__(url, every)["total"]


def test_lists_read_off_the_standby_and_a_post_lands_on_the_primary(pair, monkeypatch):
    """With the standby's replay paused, an event POSTed lands on the primary; GET of the
    event itself (the primary) has it, the lists, a grid, the OGC items, the events tile and
    the dashboard (the standby) not until replay resumes."""
    s = settings_of(pair, read_max_lag_s=60, read_check_s=0.2)
    for k, v in (("READ_DATABASE_URL", s.read_database_url), ("READ_MAX_LAG_S", "60"),
                 ("READ_CHECK_S", "0.2")):
        monkeypatch.setenv(f"WANGGE_{k}", v)
    lon, lat = grid_point(get_engine(s), G1)
    before = dashboard_total(s.database_url)
    with client_of(s) as client:
        assert client.get("/api/v1/events").status_code == 200  # the router's first check
        replay(pair, on=False)
        try:
            r = client.post("/api/v1/events", json={"item": "safety.road", "lon": lon,
                                                    "lat": lat})
            assert r.status_code == 201, r.text
            new = r.json()["id"]
            assert new in event_ids(get_engine(s))
            assert new not in event_ids(read_router(s).replica)
            assert client.get(f"/api/v1/events/{new}").status_code == 200
            listed = {e["id"] for e in client.get("/api/v1/events").json()["events"]}
            assert new not in listed
            items = client.get("/ogc/collections/events/items").json()["features"]
            assert new not in {f["id"] for f in items}
            grid = client.get(f"/api/v1/grids/{G1}").json()["properties"]["open_events"]
            assert new not in {e["id"] for e in grid["latest"]}
            assert client.get(tile_of(lon, lat)).status_code == 204  # an empty tile
            assert dashboard_total(s.database_url) == before
        finally:
            replay(pair, on=True)
        wait_for(lambda: new in {e["id"] for e in client.get("/api/v1/events").json()["events"]},
                 "the event in the list once replayed")
        assert client.get(tile_of(lon, lat)).status_code == 200
        assert dashboard_total(s.database_url) == before + 1
        assert read_router(s).use_replica() is True


def test_a_stopped_standby_sends_reads_to_the_primary_with_one_warning_then_back(pair,
                                                                                 caplog):
    """Standby down: reads (and the API's lists) go to the primary, warned once however
    often it is checked, and no address or user name in the warning; up again: back."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = settings_of(pair, read_max_lag_s=60, read_check_s=0.2)
    router = read_router(s)
    assert get_read_engine(s) is router.replica
    pair.standby.stop()
    try:
        wait_for(lambda: get_read_engine(s) is get_engine(s), "reads on the primary")
        assert in_recovery(get_read_engine(s)) is False
        for _ in range(3):
            assert router.check().usable is False
        with client_of(s) as client:
            assert client.get("/api/v1/events").status_code == 200
        warned = replica_warnings(caplog)
        assert len(warned) == 1 and "down" in warned[0], warned
        assert "wangge_app" not in warned[0] and "postgresql://" not in warned[0]
    finally:
        pair.standby.start()
    wait_for(lambda: get_read_engine(s) is router.replica, "reads back on the standby")
    assert in_recovery(get_read_engine(s)) is True
    assert any(r.name == LOGGER and "reads go to the replica" in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)


def test_a_read_losing_the_standby_sends_the_next_reads_to_the_primary_at_once(pair):
    """A connection to the standby lost mid-read marks it down without waiting for the next
    check (none is due for an hour here); a check once it is back returns to it."""
    s = settings_of(pair, read_max_lag_s=60, read_check_s=3600)
    router = read_router(s)
    replica = get_read_engine(s)
    assert replica is router.replica and in_recovery(replica)
    pair.standby.stop()
    try:
        with pytest.raises(OperationalError):
            in_recovery(replica)
        assert get_read_engine(s) is get_engine(s)
    finally:
        pair.standby.start()
    wait_for(lambda: router.check().usable, "the standby answering again")
    assert get_read_engine(s) is router.replica


def test_a_standby_further_behind_than_the_threshold_is_left_for_the_primary(pair, caplog):
    """Replay paused and a write on the primary: once the standby is more than
    ``read_max_lag_s`` behind, reads go to the primary with a warning; replay resumed, the
    standby catches up and takes the reads again."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = settings_of(pair, read_max_lag_s=1.0, read_check_s=0.2)
    router = read_router(s)
    assert get_read_engine(s) is router.replica
    replay(pair, on=False)
    try:
        with get_engine(s).begin() as conn:
            conn.execute(text("UPDATE duplicate_config SET window_h = window_h + 1"))
        wait_for(lambda: get_read_engine(s) is get_engine(s), "reads on the primary")
        assert router.health.lag_s > 1.0
        warned = replica_warnings(caplog)
        assert len(warned) == 1 and "lagging" in warned[0], warned
    finally:
        replay(pair, on=True)
    wait_for(lambda: get_read_engine(s) is router.replica, "reads back on the standby")
    assert router.health.lag_s <= 1.0
