"""Group commit of event reports: concurrent requests share commits, each stored exactly once,
with its own Idempotency-Key answer and audit row; a token revoked while cached stores nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import support.territory as T
from sqlalchemy import text

from gis.access import auth

URL = "/api/v1/events"
REPORT = {"item": "safety.fire", "lon": 120.602, "lat": 31.302, "description": "storm"}


@pytest.fixture()
def client(clean_db, api):
    T.load(clean_db)
    api.app.state.locator.refresh(force=True)
    return api


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def storm(app, requests: list[tuple[object, dict[str, str]]], auth_header: str):
    """Send every (body, headers) at once on the app's event loop; the answers in order."""

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers={"Authorization": auth_header}) as c:
            return await asyncio.gather(*(c.post(URL, json=b, headers=h) for b, h in requests))

    return asyncio.run(go())


def body(i: int) -> object:
    """Every fourth request a batch of three, the others single reports."""
    one = {**REPORT, "description": f"storm {i}"}
    return {"events": [one, {**one, "lon": 120.603}, {**one, "lon": 120.604}]} if i % 4 == 0 \
        else one


def test_concurrent_reports_share_commits_and_each_lands_once(client, engine):
    app = client.app
    n = 60
    reqs = [(body(i), {"Idempotency-Key": f"storm-{i}"} if i % 2 else {}) for i in range(n)]
    answers = storm(app, reqs, client.headers["Authorization"])
    assert [r.status_code for r in answers] == [201] * n, [r.text for r in answers[:3]]
    ids = [e["id"] for r in answers for e in (r.json()["events"] if "events" in r.json()
                                             else [r.json()])]
    reports = sum(3 if i % 4 == 0 else 1 for i in range(n))
    assert len(ids) == len(set(ids)) == reports
    assert scalar(engine, "SELECT count(*) FROM event") == reports
    assert scalar(engine, "SELECT count(*) FROM event_history") == reports
    assert scalar(engine, "SELECT count(*) FROM audit_log WHERE action = 'event.report'") == n
    assert scalar(engine, "SELECT count(*) FROM idempotency_key") == n // 2
    # each stored answer names its own events
    stored = scalar(engine, "SELECT response FROM idempotency_key WHERE key = 'storm-1'")
    assert [e["id"] for e in stored] == [answers[1].json()["id"]]
    batcher = app.state.intake_batcher
    assert batcher.requests >= n and batcher.groups < batcher.requests  # commits were shared


def test_same_key_in_one_storm_lands_once_and_the_others_are_stored(client, engine):
    app = client.app
    same = [(REPORT, {"Idempotency-Key": "the-same"}) for _ in range(8)]
    others = [({**REPORT, "description": f"other {i}"}, {}) for i in range(8)]
    answers = storm(app, [x for pair in zip(same, others, strict=True) for x in pair],
                    client.headers["Authorization"])
    assert [r.status_code for r in answers] == [201] * 16
    keyed = answers[0::2]
    assert len({r.json()["id"] for r in keyed}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in keyed) == 7
    assert scalar(engine, "SELECT count(*) FROM event") == 9
    assert scalar(engine, "SELECT count(*) FROM event WHERE description = 'storm'") == 1


def test_a_key_stored_before_is_replayed_and_does_not_fail_the_group(client, engine):
    first = client.post(URL, json=REPORT, headers={"Idempotency-Key": "old"})
    assert first.status_code == 201
    again = [(REPORT, {"Idempotency-Key": "old"})] * 3
    different = [({**REPORT, "description": "changed"}, {"Idempotency-Key": "old"})]
    fresh = [({**REPORT, "description": f"new {i}"}, {}) for i in range(10)]
    answers = storm(client.app, again + different + fresh, client.headers["Authorization"])
    assert [r.json()["id"] for r in answers[:3]] == [first.json()["id"]] * 3
    assert all(r.headers["idempotent-replayed"] == "true" for r in answers[:3])
    assert answers[3].status_code == 422
    assert answers[3].json()["error"]["code"] == "idempotency_key_reused"
    assert [r.status_code for r in answers[4:]] == [201] * 10
    assert scalar(engine, "SELECT count(*) FROM event") == 11


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_token_revoked_while_cached_stores_nothing(client, engine, how):
    """The token is cached after its first report; revoked (or expired) by another writer, the
    next report is refused by the storing statement at once: 401, nothing stored, audited."""
    t = auth.create_token(engine, "district_centre", name="camera gateway")
    h = {"Authorization": f"Bearer {t['token']}"}
    assert client.post(URL, json=REPORT, headers=h).status_code == 201
    assert auth.token_cache.get(engine, t["token"]) is not None
    change = ("revoked_at = now()" if how == "revoked"
              else "expires_at = now() - interval '1 second'")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE api_token SET {change} WHERE id = :i"), {"i": t["id"]})
    r = client.post(URL, json={**REPORT, "description": "after"}, headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert scalar(engine, "SELECT count(*) FROM event WHERE description = 'after'") == 0
    assert scalar(engine, "SELECT count(*) FROM audit_log WHERE outcome = 'denied' "
                          "AND data ->> 'code' = 'invalid_token'") == 1
    assert auth.token_cache.get(engine, t["token"]) is None
    assert client.post(URL, json=REPORT, headers=h).status_code == 401


def test_group_commit_off_stores_each_request_alone(client, engine):
    client.app.state.settings = client.app.state.settings.model_copy(
        update={"group_commit": False})
    answers = storm(client.app, [({**REPORT, "description": f"alone {i}"}, {})
                                 for i in range(6)], client.headers["Authorization"])
    assert [r.status_code for r in answers] == [201] * 6
    assert scalar(engine, "SELECT count(*) FROM event") == 6
    assert getattr(client.app.state, "intake_batcher", None) is None
