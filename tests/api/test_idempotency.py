"""Idempotency-Key: a retried report lands once, also under concurrent retries."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import support.territory as T
from sqlalchemy import text
from support.fieldapp import served

URL = "/api/v1/events"
REPORT = {"item": "safety.fire", "lon": 120.602, "lat": 31.302, "description": "smoke"}


def count(engine, where: str = "true") -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM event WHERE {where}")).scalar_one()


@pytest.fixture()
def client(clean_db, api):
    T.load(clean_db)
    T.load_people(clean_db)
    api.app.state.locator.refresh(force=True)
    return api


def test_retry_gets_the_same_event(client, engine):
    h = {"Idempotency-Key": "phone-1-report-1"}
    r1 = client.post(URL, json=REPORT, headers=h)
    assert r1.status_code == 201 and "idempotent-replayed" not in r1.headers
    r2 = client.post(URL, json=REPORT, headers=h)
    assert r2.status_code == 201 and r2.headers["idempotent-replayed"] == "true"
    assert r2.json()["id"] == r1.json()["id"] and r2.json() == r1.json()
    assert count(engine) == 1
    # the same body with its keys in another order is the same request
    r3 = client.post(URL, json=dict(reversed(list(REPORT.items()))), headers=h)
    assert r3.status_code == 201 and r3.json()["id"] == r1.json()["id"]
    # a different key is a different report
    r4 = client.post(URL, json=REPORT, headers={"Idempotency-Key": "phone-1-report-2"})
    assert r4.status_code == 201 and r4.json()["id"] != r1.json()["id"]
    assert count(engine) == 2


def test_batch_retry(client, engine):
    h = {"Idempotency-Key": "batch-7"}
    body = {"events": [REPORT, {**REPORT, "lon": 120.612}]}
    r1 = client.post(URL, json=body, headers=h)
    r2 = client.post(URL, json=body, headers=h)
    assert r1.status_code == r2.status_code == 201
    assert [e["id"] for e in r1.json()["events"]] == [e["id"] for e in r2.json()["events"]]
    assert r2.json()["count"] == 2 and count(engine) == 2


def test_same_key_different_body(client, engine):
    h = {"Idempotency-Key": "k-reuse"}
    assert client.post(URL, json=REPORT, headers=h).status_code == 201
    r = client.post(URL, json={**REPORT, "description": "fire!"}, headers=h)
    assert r.status_code == 422
    e = r.json()["error"]
    assert e["code"] == "idempotency_key_reused"
    assert e["details"][0]["field"] == "Idempotency-Key"
    assert count(engine) == 1


def test_rejected_request_does_not_burn_the_key(client, engine):
    h = {"Idempotency-Key": "k-bad-first"}
    assert client.post(URL, json={**REPORT, "item": "nope"}, headers=h).status_code == 422
    r = client.post(URL, json=REPORT, headers=h)
    assert r.status_code == 201 and count(engine) == 1


@pytest.fixture()
def server(settings, clean_db):
    """A real uvicorn server (in a thread) on the hand territory; yields its base URL."""
    T.load(clean_db)
    T.load_people(clean_db)
    with served(settings.model_copy(update={"auth_required": False})) as base:
        yield base


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_retries_land_once(server, engine, round_):
    key = f"concurrent-{round_}"
    n = 8
    barrier = threading.Barrier(n)

    def post(_i):
        with httpx.Client(base_url=server, timeout=30) as c:
            barrier.wait()
            return c.post(URL, json=REPORT, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(post, range(n)))
    codes = [r.status_code for r in answers]
    assert codes == [201] * n, [r.text for r in answers]
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 1
    assert count(engine) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == n - 1
    with engine.connect() as conn:
        hist = conn.execute(text("SELECT count(*) FROM event_history")).scalar_one()
    assert hist == 1


def test_concurrent_different_bodies_one_wins(server, engine):
    n = 6
    barrier = threading.Barrier(n)

    def post(i):
        with httpx.Client(base_url=server, timeout=30) as c:
            barrier.wait()
            return c.post(URL, json={**REPORT, "description": f"variant {i % 2}"},
                          headers={"Idempotency-Key": "contested"})

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(post, range(n)))
    ok = [r for r in answers if r.status_code == 201]
    reused = [r for r in answers if r.status_code == 422]
    assert len(ok) + len(reused) == n and ok
    assert all(r.json()["error"]["code"] == "idempotency_key_reused" for r in reused)
    assert len({r.json()["id"] for r in ok}) == 1 and count(engine) == 1
