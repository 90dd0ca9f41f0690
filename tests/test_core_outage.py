"""Database outages: 503 with Retry-After, no SQL in the body, never accepted-then-lost."""

from __future__ import annotations

import re

import core_helpers as T
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from gis.api.app import create_app
from gis.settings import Settings

URL = "/api/v1/events"
REPORT = {"item": "safety.fire", "lon": 120.602, "lat": 31.302}
SQLISH = re.compile(r"SELECT|INSERT|UPDATE|psycopg|sqlalchemy|Traceback|FROM |\[SQL", re.I)


def assert_503(r) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["error"]["code"] in ("service_unavailable", "no_territory")
    assert not SQLISH.search(r.text), r.text


@pytest.mark.parametrize("auth_required", [False, True])
def test_closed_port_gives_503(auth_required):
    down = Settings(database_url="postgresql://wangge@127.0.0.1:1/wangge", pool_timeout_s=1,
                    retry_after_s=7, auth_required=auth_required)
    app = create_app(down, listen=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        h = {"Authorization": "Bearer wg_whatever"} if auth_required else {}
        r = c.post(URL, json=REPORT, headers=h)
        assert_503(r)
        assert r.headers["retry-after"] == "7"
        assert_503(c.post(URL, json={"events": [REPORT, REPORT]}, headers=h))
        assert_503(c.post(URL, json=REPORT, headers={**h, "Idempotency-Key": "k1"}))
        assert_503(c.get(URL, headers=h))
        assert_503(c.get(f"{URL}/1", headers=h))
        assert_503(c.get("/api/v1/grids", headers=h))
        assert_503(c.get("/api/v1/locate", params={"lon": 120.6, "lat": 31.3}))
        assert_503(c.get("/api/v1/health"))
        # bad input is still a 422, no database needed to say so
        r = c.post(URL, content=b"{nope", headers={**h, "content-type": "application/json"})
        assert r.status_code in (401, 422, 503) and r.status_code != 500


# -- the database goes away in the middle of a request -----------------------------------------

class Killer:
    """Terminates the backend of the connection that runs a chosen step of the intake."""

    def __init__(self, engine, admin) -> None:
        self.engine = engine
        self.admin = admin
        self.step: str | None = None
        self.fired = 0

    def kill(self, conn) -> None:
        pid = conn.connection.dbapi_connection.get_backend_pid()
        with self.admin.connect() as a:
            a.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
        self.fired += 1
        self.step = None

    def before(self, conn, _cur, statement, *_a) -> None:
        if self.step == "before_share" and "FOR SHARE" in statement:
            self.kill(conn)

    def after(self, conn, _cur, statement, *_a) -> None:
        if self.step == "after_share" and "FOR SHARE" in statement:
            self.kill(conn)           # the next statements are raw psycopg2 inserts

    def commit(self, conn) -> None:
        if self.step == "commit" and conn.in_transaction():
            self.kill(conn)


@pytest.fixture()
def killer(settings, clean_db):
    """Hooks on the engine the app will use (gis.db.get_engine caches one per URL)."""
    from gis.db import get_engine

    T.load(clean_db)
    engine = get_engine(settings)
    admin = create_engine(engine.url, connect_args={"application_name": "wangge-test-killer"})
    k = Killer(engine, admin)
    event.listen(engine, "before_cursor_execute", k.before)
    event.listen(engine, "after_cursor_execute", k.after)
    event.listen(engine, "commit", k.commit)
    yield k
    event.remove(engine, "before_cursor_execute", k.before)
    event.remove(engine, "after_cursor_execute", k.after)
    event.remove(engine, "commit", k.commit)
    admin.dispose()


def stored(engine, description: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event WHERE description = :d"),
                            {"d": description}).scalar_one()


@pytest.mark.parametrize("step", ["before_share", "after_share", "commit"])
def test_outage_mid_request_is_503_and_nothing_lost(settings, engine, killer, step):
    app = create_app(settings.model_copy(update={"auth_required": False}), listen=False)
    assert app.state.engine is killer.engine
    with TestClient(app, raise_server_exceptions=False) as c:
        app.state.locator.refresh(force=True)
        outcomes = []
        for i in range(6):
            desc = f"{step}-{i}"
            killer.step = step if i % 2 == 0 else None
            key = {"Idempotency-Key": f"{step}-{i}"}
            r = c.post(URL, json={**REPORT, "description": desc}, headers=key)
            outcomes.append(r.status_code)
            if r.status_code == 201:
                assert stored(engine, desc) == 1, "answered 201 but not stored"
            else:
                assert_503(r)
                assert stored(engine, desc) == 0
                # the client retries with the same key once the database is back
                r2 = c.post(URL, json={**REPORT, "description": desc}, headers=key)
                assert r2.status_code == 201, r2.text
                assert stored(engine, desc) == 1
        assert killer.fired == 3
        assert outcomes == [503, 201, 503, 201, 503, 201]
        # reads survive a killed pooled connection too (pre-ping or 503, never 500)
        r = c.get(URL)
        assert r.status_code == 200 and r.json()["count"] == 6


def test_statement_timeout_in_raw_insert_is_503(settings, clean_db):
    """A database too busy to answer (lock wait past statement_timeout) is a 503, not a 500."""
    T.load(clean_db)
    slow = settings.model_copy(update={
        "database_url": settings.database_url + "?connect_timeout=4",   # its own engine
        "statement_timeout_ms": 300, "auth_required": False})
    app = create_app(slow, listen=False)
    blocker = create_engine(clean_db.url)
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            app.state.locator.refresh(force=True)
            assert c.post(URL, json=REPORT).status_code == 201      # catalogue cached
            with blocker.connect() as b:
                b.execute(text("SELECT 1 FROM event_item WHERE code = 'safety.fire' FOR UPDATE"))
                r = c.post(URL, json={**REPORT, "description": "blocked"})
                b.rollback()
            assert_503(r)
            assert stored(clean_db, "blocked") == 0
            assert c.post(URL, json={**REPORT, "description": "later"}).status_code == 201
    finally:
        blocker.dispose()
