"""API: tokens, roles and areas (401/403 change nothing), audit, workflow endpoints, CLI."""

from __future__ import annotations

from sqlalchemy import text
from support.workflow import (
    G1,
    G2,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    LEADER,
    W1,
    bearer,
    grid_point,
    row,
)
from typer.testing import CliRunner

from gis.access import auth


def _post_event(client, engine, grid, item="health.sanitation", **extra) -> int:
    """Report an event in ``grid`` through the API."""
    lon, lat = grid_point(engine, grid)
    r = client.post("/api/v1/events", json={"item": item, "lon": lon, "lat": lat} | extra)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _audit(engine, outcome):
    """Number of audit rows with ``outcome``."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log WHERE outcome = :o"),
                            {"o": outcome}).scalar()


def test_open_and_closed_endpoints(client, engine):
    """health/locate/catalogue/docs stay open; events, grids, patrols, workflow need a token."""
    anon = {"Authorization": ""}
    lon, lat = grid_point(engine, G1)
    for path in ("/api/v1/health", "/api/v1/catalogue", f"/api/v1/locate?lon={lon}&lat={lat}",
                 "/docs", "/openapi.json"):
        assert client.get(path, headers=anon).status_code == 200, path
    for path in ("/api/v1/events", "/api/v1/grids", "/api/v1/me", "/api/v1/duplicates",
                 "/api/v1/reports/assessment?month=2026-10"):
        r = client.get(path, headers=anon)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "missing_token"
    r = client.get("/api/v1/events", headers={"Authorization": "Bearer wg_nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    before = client.get("/api/v1/events").json()["count"]
    r = client.post("/api/v1/events", headers=anon, json={"item": "health.sanitation",
                                                          "lon": lon, "lat": lat})
    assert r.status_code == 401
    assert client.get("/api/v1/events").json()["count"] == before
    assert _audit(engine, "denied") >= 6
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/v1/events/{event_id}/transitions", "/api/v1/events/{event_id}/whistle",
              "/api/v1/escalation/run", "/api/v1/duplicates", "/api/v1/patrols/coverage",
              "/api/v1/patrols/due", "/api/v1/reports/assessment", "/api/v1/tokens",
              "/api/v1/audit", "/api/v1/dispatch/rules"):
        assert p in paths, p


def test_roles_and_areas(client, engine):
    """Grid worker: own grid; community/street dispatcher: their area; refusals change nothing."""
    e1 = _post_event(client, engine, G1)
    e_comm = _post_event(client, engine, G_OTHER_COMMUNITY)
    e_street = _post_event(client, engine, G_OTHER_STREET)
    worker = bearer(engine, "grid_worker", worker=W1)
    other_worker = bearer(engine, "grid_worker", area=G2)
    community = bearer(engine, "community_dispatcher", area="320508001001")
    street = bearer(engine, "street_dispatcher", area="320508001")
    planner = bearer(engine, "planner")
    act = {"action": "accept", "note": "ok", "lon": 120.6, "lat": 31.3}

    def post(eid, headers, body=act):
        return client.post(f"/api/v1/events/{eid}/transitions", json=body, headers=headers)

    for eid, headers in ((e1, other_worker), (e_comm, worker), (e_comm, community),
                         (e_street, street), (e1, planner)):
        before = row(engine, eid)
        r = post(eid, headers)
        assert r.status_code == 404, r.text  # outside the area: as if it did not exist
        assert r.json()["error"]["code"] == "event_not_found"
        assert row(engine, eid) == before
        assert client.get(f"/api/v1/events/{eid}/workflow", headers=headers).status_code == 404
    assert post(e1, worker).status_code == 200
    assert post(e_comm, street).status_code == 200
    assert post(e_street, {}).status_code == 200  # the district centre: everywhere
    r = post(e1, community, {"action": "dispatch", "level": "community"})
    assert r.status_code == 200 and r.json()["area"] == "320508001001"
    assert client.get("/api/v1/me", headers=worker).json()["areas"] == [G1]
    # wrong role for centre-only endpoints
    assert client.post("/api/v1/escalation/run", json={}, headers=street).status_code == 403
    assert client.post("/api/v1/tokens", json={"role": "district_centre"},
                       headers=community).status_code == 403
    assert client.get("/api/v1/audit", headers=worker).status_code == 403
    # planners read events but do not report them
    lon, lat = grid_point(engine, G1)
    r = client.post("/api/v1/events", headers=planner, json={"item": "health.sanitation",
                                                             "lon": lon, "lat": lat})
    assert r.status_code == 403
    entries = client.get("/api/v1/audit?limit=1000").json()["entries"]
    assert {"ok", "denied"} <= {e["outcome"] for e in entries}
    # a report is audited in its own transaction, with the events it stored
    assert any(e["action"] == "event.report" and e["outcome"] == "ok"
               and e["target"].startswith("event:") for e in entries)
    assert any(e["action"] == "accept" and e["actor"] == W1 and e["outcome"] == "ok"
               for e in entries)


def test_revoked_token_is_refused(client, engine):
    """A revoked token gets 401."""
    t = auth.create_token(engine, "street_dispatcher", "320508001")
    h = {"Authorization": f"Bearer {t['token']}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert client.delete(f"/api/v1/tokens/{t['id']}").json() == {"revoked": True}
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_closed_loop_through_the_api(client, engine):
    """Report, accept, dispatch, whistle, escalate, resolve, close; illegal step is 409."""
    eid = _post_event(client, engine, G1, item="dispute.neighbour")
    base = f"/api/v1/events/{eid}"
    assert client.post(base + "/transitions", json={"action": "close"}).status_code == 409
    assert client.post(base + "/transitions", json={"action": "accept"}).status_code == 200
    r = client.post(base + "/transitions", json={"action": "dispatch"})
    assert r.json()["departments"] == ["justice"]
    leader = bearer(engine, "grid_worker", worker=LEADER)
    r = client.post(base + "/whistle", json={"note": "need the court"}, headers=leader)
    assert r.status_code == 200 and r.json()["to_level"] == "community"
    # overdue now (the run's clock is the server's: a far future ``now`` is refused)
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET due_at = now() - interval '1 minute' WHERE id = :i"),
                     {"i": eid})
    r = client.post("/api/v1/escalation/run", json={})
    assert r.status_code == 200 and r.json()["escalated"] == 1
    worker = bearer(engine, "grid_worker", area=G1)
    for action in ("start", "resolve", "close"):
        r = client.post(base + "/transitions", json={"action": action, "note": action},
                        headers=worker)
        assert r.status_code == 200, r.text
    view = client.get(base + "/workflow").json()
    assert view["status"] == "closed" and view["level"] == "street"
    assert [d["kind"] for d in view["dispatch"]] == ["handle", "notify", "whistle", "notify",
                                                     "escalate", "notify"]
    hist = client.get(base).json()["history"]
    assert [h["action"] for h in hist] == ["reported", "accept", "dispatch", "whistle",
                                           "escalated", "start", "resolve", "close"]
    r = client.get("/api/v1/dispatch/preview?item=safety.fire")
    assert r.json()["departments"] == ["fire"]
    assert client.get("/api/v1/reports/assessment?month=2026-10&format=csv").text.startswith(
        "kind,code,found")


def test_duplicates_through_the_api(client, engine):
    """The dispatcher sees the link and confirms it."""
    a = _post_event(client, engine, G1, item="safety.road")
    b = _post_event(client, engine, G1, item="safety.road")
    links = client.get("/api/v1/duplicates").json()["links"]
    assert [(x["event_id"], x["original_id"]) for x in links] == [(b, a)]
    r = client.post(f"/api/v1/events/{b}/duplicate-of/{a}", json={"decision": "confirm"})
    assert r.status_code == 200 and r.json()["to"] == "duplicate"
    assert client.get("/api/v1/duplicates").json()["count"] == 0


def test_auth_can_be_turned_off_for_demos(settings, clean_db):
    """auth_required = false: no token needed, actions are recorded as anonymous."""
    from fastapi.testclient import TestClient

    from wangge.app import create_app

    app = create_app(settings.model_copy(update={"auth_required": False}), listen=False)
    with TestClient(app) as c:
        assert c.get("/api/v1/events").status_code == 200
        assert c.get("/api/v1/me").json()["role"] == "district_centre"


def test_cli_token_create_prints_a_working_token(client, engine, settings, monkeypatch):
    """`wangge token create --role ... --area ...` prints a token the API accepts."""
    from wangge.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    r = runner.invoke(app, ["token", "create", "--role", "community_dispatcher", "--area",
                            "320508001001"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "community_dispatcher" and me["areas"] == ["320508001001"]
    r = runner.invoke(app, ["token", "create", "--role", "community_dispatcher", "--area",
                            "320508001"])
    assert r.exit_code == 1 and "wrong_area_level" in r.stderr
