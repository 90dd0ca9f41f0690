"""Issue 11, section 4: authorization gaps (real PostGIS, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from support.workflow import G1, G2, G_OTHER_STREET, W1, bearer, clear_workflow, grid_point, row
from typer.testing import CliRunner

from gis import rulebook
from gis.access import auth

COMMUNITY = "320508001001"   # holds G1 and G2
STREET = "320508001"
DISTRICT = "320508"
MISSING = 987654


@pytest.fixture()
def client(api, demo_district, engine, request):
    """The api fixture on the demo district, as the district centre."""
    try:  # TRUNCATE needs the owner role where the suite has one
        owner = request.getfixturevalue("owner_engine")
    except pytest.FixtureLookupError:
        owner = engine
    clear_workflow(owner)
    api.app.state.locator.refresh(force=True)
    api.headers["Authorization"] = "Bearer " + auth.create_token(
        engine, "district_centre", name="centre")["token"]
    return api



def _post_event(client, engine, grid, item="health.sanitation") -> int:
    """Report an event in ``grid`` as the centre; returns its id."""
    lon, lat = grid_point(engine, grid)
    r = client.post("/api/v1/events", json={"item": item, "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _as_missing(r, eid: int) -> dict:
    """The answer for ``eid`` with the id swapped for MISSING (to compare with a missing id)."""
    return {"status": r.status_code, "body": r.text.replace(str(eid), str(MISSING))}


def _audit(engine, action: str) -> list[dict]:
    """Audit rows of one action, oldest first."""
    with engine.connect() as conn:
        return [dict(x) for x in conn.execute(text(
            "SELECT token_id, actor, outcome, target, data FROM audit_log WHERE action = :a "
            "ORDER BY id"), {"a": action}).mappings()]


# -- a duplicate's original must lie in the caller's area ---------------------------------------

def test_mark_duplicate_of_an_original_outside_the_area_is_404(client, engine):
    """A grid worker cannot name an original outside its grid: 404 as for a missing event."""
    mine, mine2 = _post_event(client, engine, G1), _post_event(client, engine, G1)
    other = _post_event(client, engine, G2)
    worker = bearer(engine, "grid_worker", worker=W1)
    before = row(engine, mine)

    def mark(original: int):
        return client.post(f"/api/v1/events/{mine}/transitions", headers=worker,
                           json={"action": "mark_duplicate", "original_id": original})

    outside, missing = mark(other), mark(MISSING)
    assert outside.status_code == 404, outside.text
    assert outside.json() == {"error": {"code": "event_not_found",
                                        "message": f"no event {other}"}}
    assert _as_missing(outside, other) == _as_missing(missing, MISSING)
    r = client.post(f"/api/v1/events/{mine}/duplicate-of/{other}", headers=worker,
                    json={"decision": "confirm"})
    assert r.status_code == 404 and G2 not in r.text
    assert row(engine, mine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_duplicate WHERE original_id = :o"),
                            {"o": other}).scalar() == 0
    denied = [a for a in _audit(engine, "mark_duplicate") if a["outcome"] == "denied"]
    assert len(denied) == 2 and {a["data"]["code"] for a in denied} == {"outside_area"}
    # both inside: allowed; the district centre may link across grids
    r = mark(mine2)
    assert r.status_code == 200 and r.json()["original_id"] == mine2
    r = client.post(f"/api/v1/events/{other}/transitions",
                    json={"action": "mark_duplicate", "original_id": mine2})
    assert r.status_code == 200, r.text


def test_duplicate_links_reaching_outside_the_area_are_hidden(client, engine):
    """A possible link to an original outside the area is neither listed nor decidable."""
    mine, other = _post_event(client, engine, G1), _post_event(client, engine, G2)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO event_duplicate (event_id, original_id, distance_m, gap_s, "
                          "status) VALUES (:e, :o, 10, 60, 'possible')"),
                     {"e": mine, "o": other})
    worker = bearer(engine, "grid_worker", worker=W1)
    community = bearer(engine, "community_dispatcher", COMMUNITY)
    assert client.get("/api/v1/duplicates", headers=worker).json()["count"] == 0
    assert client.get(f"/api/v1/events/{mine}/workflow",
                      headers=worker).json()["duplicates"] == []
    r = client.post(f"/api/v1/events/{mine}/duplicate-of/{other}", headers=worker,
                    json={"decision": "dismiss"})
    missing = client.post(f"/api/v1/events/{mine}/duplicate-of/{MISSING}", headers=worker,
                          json={"decision": "dismiss"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_duplicate_link"
    assert _as_missing(r, other) == _as_missing(missing, MISSING)
    # the community dispatcher covers both events: sees and decides the link
    links = client.get("/api/v1/duplicates", headers=community).json()["links"]
    assert [(x["event_id"], x["original_id"]) for x in links] == [(mine, other)]
    r = client.post(f"/api/v1/events/{mine}/duplicate-of/{other}", headers=community,
                    json={"decision": "dismiss"})
    assert r.status_code == 200 and r.json()["status"] == "dismissed"


# -- token areas have the level of the role ------------------------------------------------------

BAD_AREAS = (
    ("grid_worker", STREET), ("grid_worker", DISTRICT), ("grid_worker", COMMUNITY),
    ("community_dispatcher", G1), ("community_dispatcher", STREET),
    ("street_dispatcher", COMMUNITY), ("street_dispatcher", DISTRICT),
    ("district_centre", STREET), ("district_centre", G1),
)


def _tokens(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM api_token")).scalar()


def test_token_area_must_have_the_roles_level(client, engine, settings, monkeypatch):
    """API and CLI refuse a grid worker with a street or district (and every wrong level)."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    from wangge.cli import app

    runner = CliRunner()
    before = _tokens(engine)
    for role, area in BAD_AREAS:
        r = client.post("/api/v1/tokens", json={"role": role, "area": area})
        assert r.status_code == 422, (role, area, r.text)
        assert r.json()["error"]["code"] == "wrong_area_level", (role, area)
        res = runner.invoke(app, ["token", "create", "--role", role, "--area", area])
        assert res.exit_code == 1 and "wrong_area_level" in res.output, (role, area, res.output)
    for role in ("planner", "department"):
        body = {"role": role, "area": G1} | ({"department": "fire"} if role == "department"
                                             else {})
        r = client.post("/api/v1/tokens", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "area_not_allowed", role
    assert _tokens(engine) == before
    for role, area in (("grid_worker", G1), ("community_dispatcher", COMMUNITY),
                       ("street_dispatcher", STREET), ("district_centre", DISTRICT),
                       ("district_centre", None)):
        r = client.post("/api/v1/tokens", json={"role": role, "area": area})
        assert r.status_code == 201, (role, area, r.text)
    res = runner.invoke(app, ["token", "create", "--role", "grid_worker", "--area", G1])
    assert res.exit_code == 0, res.output


# -- the escalation clock ------------------------------------------------------------------------

def _overdue_event(client, engine, hours_ago: float) -> int:
    """An accepted, dispatched event whose due time passed ``hours_ago`` hours ago."""
    eid = _post_event(client, engine, G1)
    for action in ("accept", "dispatch"):
        assert client.post(f"/api/v1/events/{eid}/transitions",
                           json={"action": action}).status_code == 200
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET due_at = now() - make_interval(secs => :s) "
                          "WHERE id = :i"), {"s": hours_ago * 3600, "i": eid})
    return eid


def test_escalation_now_is_bounded_by_the_server_clock(client, engine):
    """``now`` far in the future or past is refused and changes nothing; a recent replay runs."""
    eid = _overdue_event(client, engine, hours_ago=3)
    before = row(engine, eid)
    clock = datetime.now(UTC)
    for bad in ("6634-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
                (clock + timedelta(hours=1)).isoformat(),
                (clock - timedelta(days=8)).isoformat()):
        r = client.post("/api/v1/escalation/run", json={"now": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["details"][0]["field"] == "now"
        if not bad.startswith("6634"):  # (year 6634 is already refused by the time parsing)
            assert r.json()["error"]["code"] == "now_out_of_range", (bad, r.text)
    assert row(engine, eid) == before
    # a naive time is China Standard Time: two hours ago there is fine (as UTC it would be
    # six hours ahead of the clock and refused)
    naive = (clock + timedelta(hours=8) - timedelta(hours=2)).replace(tzinfo=None)
    r = client.post("/api/v1/escalation/run", json={"now": naive.isoformat()})
    assert r.status_code == 200 and r.json()["escalated"] == 1, r.text
    at = datetime.fromisoformat(r.json()["events"][0]["at"])
    assert abs(at - (clock - timedelta(hours=2))) < timedelta(seconds=5)
    r = client.post("/api/v1/escalation/run", json={})
    assert r.status_code == 200


# -- revocation takes effect at once, whoever revokes -------------------------------------------

def _wangge(settings, *args: str) -> subprocess.CompletedProcess:
    """Run the ``wangge`` command in another process on the test database."""
    env = os.environ | {"DATABASE_URL": settings.database_url,
                        "WANGGE_DATABASE_URL": settings.database_url}
    exe = Path(sys.executable).with_name("wangge")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_token_revoked_from_the_cli_is_refused_at_once(client, engine, settings):
    """A token in use, revoked by ``wangge token revoke`` in another process: the next request
    is 401 (no per-process cache); expiry likewise."""
    t = auth.create_token(engine, "street_dispatcher", STREET)
    h = {"Authorization": f"Bearer {t['token']}"}
    for _ in range(3):
        assert client.get("/api/v1/me", headers=h).status_code == 200
        assert client.get("/api/v1/events", headers=h).status_code == 200
    done = _wangge(settings, "token", "revoke", str(t["id"]))
    assert done.returncode == 0 and '"revoked": true' in done.stdout, done.stderr
    for path in ("/api/v1/me", "/api/v1/events", "/api/v1/grids"):
        r = client.get(path, headers=h)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token", path
    # expiry set by another writer (e.g. SQL by an operator) also counts at once
    w = auth.create_token(engine, "grid_worker", worker=W1)
    hw = {"Authorization": f"Bearer {w['token']}"}
    assert client.get("/api/v1/me", headers=hw).json()["areas"] == [G1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET expires_at = now() - interval '1 second' "
                          "WHERE id = :i"), {"i": w["id"]})
    assert client.get("/api/v1/events", headers=hw).status_code == 401


# -- nothing outside the area is served, nor named ----------------------------------------------

def test_dispatch_rules_do_not_show_the_server_path(client, engine):
    """GET /dispatch/rules: departments and rules, never the file path."""
    r = client.get("/api/v1/dispatch/rules", headers=bearer(engine, "grid_worker", G1))
    assert r.status_code == 200 and r.json()["departments"]
    path = str(rulebook.rules().path)
    assert "path" not in r.json() and path not in r.text and "dispatch_rules.toml" not in r.text


def test_outside_the_area_is_answered_as_missing(client, engine):
    """Every event endpoint answers an id outside the area exactly as a missing id (404), never
    naming its grid; the refusal is audited as outside_area."""
    other = _post_event(client, engine, G_OTHER_STREET, item="safety.fire")
    worker = bearer(engine, "grid_worker", worker=W1)
    community = bearer(engine, "community_dispatcher", COMMUNITY)
    planner = bearer(engine, "planner")
    police = bearer(engine, "department", department="police")
    calls = (
        ("GET", "/api/v1/events/{}", None),
        ("GET", "/api/v1/events/{}/workflow", None),
        ("POST", "/api/v1/events/{}/transitions", {"action": "accept"}),
        ("POST", "/api/v1/events/{}/transitions", {"action": "reject", "note": "x"}),
        ("POST", "/api/v1/events/{}/whistle", {"note": "help"}),
        ("POST", "/api/v1/events/{}/duplicate-of/1", {"decision": "confirm"}),
        ("POST", "/api/v1/events/{}/duplicate-of/1", {"decision": "dismiss"}),
    )
    for headers in (worker, community, planner):
        for method, path, body in calls:
            out = client.request(method, path.format(other), headers=headers, json=body)
            gone = client.request(method, path.format(MISSING), headers=headers, json=body)
            assert out.status_code == 404, (path, out.text)
            assert _as_missing(out, other) == _as_missing(gone, MISSING), path
            assert G_OTHER_STREET not in out.text and "outside" not in out.text
    assert row(engine, other)["status"] == "reported"
    # a department's acknowledgement of a record of an event it was not notified of
    assert client.post(f"/api/v1/events/{other}/transitions",
                       json={"action": "accept"}).status_code == 200
    assert client.post(f"/api/v1/events/{other}/transitions",
                       json={"action": "dispatch"}).status_code == 200
    notify = [d["id"] for d in client.get(f"/api/v1/events/{other}").json()["dispatch"]
              if d["department"] == "fire"][0]
    out = client.post(f"/api/v1/dispatches/{notify}/acknowledge", json={}, headers=police)
    gone = client.post(f"/api/v1/dispatches/{MISSING}/acknowledge", json={}, headers=police)
    assert out.status_code == 404 and _as_missing(out, notify) == _as_missing(gone, MISSING)
    assert client.get(f"/api/v1/events/{other}", headers=police).status_code == 404
    # audited as what it was
    reads = [a for a in _audit(engine, "event.read") if a["target"] == f"event:{other}"]
    assert reads and {(a["outcome"], a["data"]["code"]) for a in reads} == {
        ("denied", "outside_area")}
    views = _audit(engine, "event.workflow")
    assert len(views) == 3 and {a["data"]["code"] for a in views} == {"outside_area"}


# -- boundary changes name the caller ------------------------------------------------------------

def test_boundary_changes_record_the_caller(api, clean_db):
    """Import (commit) and rollback through the API record the planner's token, not "api"."""
    from gis.territory.synthetic import load_synthetic

    gen = load_synthetic(clean_db)
    t = auth.create_token(clean_db, "planner", name="planner-li")
    h = {"Authorization": f"Bearer {t['token']}"}
    who = f"planner-li (token #{t['id']})"
    body = api.get(f"/api/v1/boundaries/{gen}/geojson").content
    r = api.post("/api/v1/boundaries?commit=true", headers=h,
                 files={"file": ("city.geojson", body, "application/json")})
    assert r.status_code == 200 and r.json()["committed"], r.text
    new = r.json()["generation"]
    r = api.post("/api/v1/boundaries/rollback?commit=true", headers=h)
    assert r.status_code == 200 and r.json()["generation"] == gen
    with clean_db.connect() as conn:
        acts = conn.execute(text("SELECT kind, generation_id, actor FROM boundary_activation "
                                 "ORDER BY id")).all()
        desc = conn.execute(text("SELECT description FROM generation WHERE id = :g"),
                            {"g": new}).scalar()
    assert [tuple(a) for a in acts] == [("activate", gen, "demo"),  # load_synthetic's
                                        ("activate", new, who), ("rollback", gen, who)]
    assert who in desc
    imports = _audit(clean_db, "boundaries.import")
    assert [(a["token_id"], a["actor"], a["target"], a["data"]["committed"]) for a in imports] \
        == [(t["id"], "planner-li", f"generation:{new}", True)]
    rollbacks = _audit(clean_db, "boundaries.rollback")
    assert [(a["token_id"], a["data"]["generation"]) for a in rollbacks] == [(t["id"], gen)]
