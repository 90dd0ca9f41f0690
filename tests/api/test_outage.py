"""Database outages: 503 with Retry-After, no SQL in the body, never accepted-then-lost."""

from __future__ import annotations

import re
import threading
import time

import pytest
import support.territory as T
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from gis.settings import Settings
from wangge.app import create_app

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

def _kill_app_backends(admin, only_waiting: bool = False) -> int:
    """Terminate the app's server connections (all, or those waiting on a lock)."""
    with admin.connect() as a:
        return len(a.execute(text(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'wangge' "
            "AND usename = current_user "
            "AND (NOT :w OR wait_event_type = 'Lock')"), {"w": only_waiting}).all())


def _post_while_killed(c, admin, body, headers, step: str):
    """POST while the database dies: before the request (a restart) or during the statement."""
    if step == "restart":
        assert _kill_app_backends(admin) >= 1
        return c.post(URL, json=body, headers=headers)
    # mid-statement: hold the active generation row so the intake statement waits on it,
    # terminate the waiting backend, then let go
    result: dict = {}
    with admin.connect() as lock:
        lock.execute(text("SELECT id FROM generation WHERE status = 'active' FOR UPDATE"))
        t = threading.Thread(target=lambda: result.update(r=c.post(URL, json=body,
                                                                        headers=headers)))
        t.start()
        for _ in range(100):
            time.sleep(0.05)
            if _kill_app_backends(admin, only_waiting=True):
                break
        else:
            raise AssertionError("the intake statement never waited on the generation row")
        lock.rollback()
    t.join(30)
    return result["r"]


@pytest.mark.parametrize("step", ["restart", "mid_statement"])
def test_outage_mid_request_is_503_and_nothing_lost(settings, clean_db, step):
    T.load(clean_db)
    s = settings.model_copy(update={"auth_required": False, "locator_poll_s": 3600})
    app = create_app(s, listen=False)
    admin = create_engine(app.state.engine.url,
                          connect_args={"application_name": "wangge-test-killer"})
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            app.state.locator.refresh(force=True)
            warm = c.post(URL, json={**REPORT, "description": "warm-up"})
            assert warm.status_code == 201, warm.text      # catalogue cached, pool warm
            outcomes = []
            for i in range(4):
                desc = f"{step}-{i}"
                key = {"Idempotency-Key": desc}
                body = {**REPORT, "description": desc}
                if i % 2 == 0:
                    r = _post_while_killed(c, admin, body, key, step)
                else:
                    r = c.post(URL, json=body, headers=key)
                outcomes.append(r.status_code)
                if r.status_code == 201:
                    assert stored(clean_db, desc) == 1, "answered 201 but not stored"
                else:
                    assert_503(r)
                    assert stored(clean_db, desc) == 0
                    # the client retries with the same key once the database is back
                    r2 = c.post(URL, json=body, headers=key)
                    assert r2.status_code == 201, r2.text
                    assert stored(clean_db, desc) == 1
            assert outcomes == [503, 201, 503, 201]
            # reads survive a killed pooled connection too (never 500)
            r = c.get(URL)
            assert r.status_code == 200 and r.json()["count"] == 5
    finally:
        admin.dispose()


def stored(engine, description: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event WHERE description = :d"),
                            {"d": description}).scalar_one()


def test_statement_timeout_in_raw_insert_is_504(settings, clean_db):
    """A statement past statement_timeout (here a lock wait) is a 504 query_timeout: not a
    500, and not the 503 of an unreachable database; nothing is stored."""
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
            assert r.status_code == 504, r.text
            assert r.json()["error"]["code"] == "query_timeout"
            assert stored(clean_db, "blocked") == 0
            assert c.post(URL, json={**REPORT, "description": "later"}).status_code == 201
    finally:
        blocker.dispose()
