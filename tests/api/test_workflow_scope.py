"""Reads limited by area, department acknowledgements, own patrol tracks, token expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import (
    G1,
    G2,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    W1,
    W2,
    bearer,
    grid_point,
)
from typer.testing import CliRunner

from gis.access import auth
from gis.intake import events
from gis.territory import grids

COMMUNITY = "320508001001"   # holds G1 and G2
STREET = "320508001"         # holds COMMUNITY and G_OTHER_COMMUNITY




def _post_event(client, engine, grid, item="health.sanitation") -> int:
    """Report an event in ``grid`` (None: without a location, i.e. unassigned)."""
    body = {"item": item}
    if grid is not None:
        lon, lat = grid_point(engine, grid)
        body |= {"lon": lon, "lat": lat}
    r = client.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _ids(client, headers, query="") -> list[int]:
    """Event ids listed for a caller."""
    r = client.get("/api/v1/events" + query, headers=headers)
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["events"]]


@pytest.fixture()
def spread(client, engine):
    """One event in each kind of place, oldest first: G1, G2, other community, other street,
    unassigned."""
    ids = {k: _post_event(client, engine, g) for k, g in (
        ("g1", G1), ("g2", G2), ("comm", G_OTHER_COMMUNITY), ("street", G_OTHER_STREET),
        ("none", None))}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT grid_code FROM event WHERE id = :i"),
                            {"i": ids["none"]}).scalar() is None
    return ids


def test_event_lists_are_filtered_by_area(client, engine, spread):
    """Worker: own grid; community/street: their area; centre: all (unassigned too);
    planner: none."""
    s = spread
    worker = bearer(engine, "grid_worker", worker=W1)
    callers = {
        "worker": (worker, [s["g1"]]),
        "community": (bearer(engine, "community_dispatcher", COMMUNITY), [s["g2"], s["g1"]]),
        "street": (bearer(engine, "street_dispatcher", STREET), [s["comm"], s["g2"], s["g1"]]),
        "centre": ({}, [s["none"], s["street"], s["comm"], s["g2"], s["g1"]]),
        "planner": (bearer(engine, "planner"), []),
    }
    for name, (headers, want) in callers.items():
        assert _ids(client, headers) == want, name
    # the filter is in the query: the worker's only event is the oldest, and limit=1 still
    # finds it (a filter after LIMIT would return an empty page)
    assert _ids(client, worker, "?limit=1") == [s["g1"]]
    community = callers["community"][0]
    assert _ids(client, community, f"?grid={G_OTHER_COMMUNITY}") == []
    assert _ids(client, community, "?limit=1") == [s["g2"]]
    r = client.get(f"/api/v1/events?limit=1&cursor={s['g2']}", headers=community).json()
    assert [e["id"] for e in r["events"]] == [s["g1"]]
    # without a principal (CLI, dashboard) there is no filter
    assert len(events.list_events(engine)) == 5


def test_one_event_outside_the_area_is_404(client, engine, spread):
    """GET /events/{id}: outside the area answered as a missing id (audited), inside is 200."""
    s = spread
    worker = bearer(engine, "grid_worker", worker=W1)
    community = bearer(engine, "community_dispatcher", COMMUNITY)
    street = bearer(engine, "street_dispatcher", STREET)
    planner = bearer(engine, "planner")
    for eid, headers in ((s["g2"], worker), (s["comm"], community), (s["street"], street),
                         (s["none"], street), (s["g1"], planner), (s["none"], worker)):
        r = client.get(f"/api/v1/events/{eid}", headers=headers)
        assert r.status_code == 404, (eid, r.text)
        assert r.json() == {"error": {"code": "event_not_found", "message": f"no event {eid}"}}
    for eid, headers in ((s["g1"], worker), (s["g2"], community), (s["comm"], street),
                         (s["none"], {})):
        r = client.get(f"/api/v1/events/{eid}", headers=headers)
        assert r.status_code == 200 and r.json()["id"] == eid
        assert r.json()["history"][0]["action"] == "reported"
    assert client.get("/api/v1/events/999999", headers=worker).status_code == 404
    denied = [e for e in client.get("/api/v1/audit?limit=1000").json()["entries"]
              if e["action"] == "event.read"]
    assert len(denied) == 6 and {e["outcome"] for e in denied} == {"denied"}
    # without a principal (CLI) any event is readable
    assert events.get_event(engine, s["street"])["id"] == s["street"]


def test_grid_detail_shows_only_visible_events(client, engine, spread):
    """Geometry for every token; open events only inside the caller's area."""
    worker = bearer(engine, "grid_worker", worker=W1)
    planner = bearer(engine, "planner")
    for headers, grid, total, filtered in (({}, G2, 1, False), (worker, G1, 1, True),
                                           (worker, G2, 0, True), (planner, G1, 0, True)):
        r = client.get(f"/api/v1/grids/{grid}", headers=headers)
        assert r.status_code == 200, r.text
        p = r.json()["properties"]
        assert r.json()["geometry"]["type"] == "MultiPolygon"
        assert p["open_events"]["total"] == total and len(p["open_events"]["latest"]) == total
        assert p["open_events"]["filtered"] is filtered
    assert len(client.get("/api/v1/grids", headers=planner).json()["features"]) == 32
    assert grids.grid_detail(engine, G2)["properties"]["open_events"]["total"] == 1


def _dispatch(client, eid) -> list[dict]:
    """Accept and dispatch an event as the centre; its dispatch records."""
    for action in ("accept", "dispatch"):
        r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": action})
        assert r.status_code == 200, r.text
    return client.get(f"/api/v1/events/{eid}").json()["dispatch"]


def test_department_acknowledges_its_notification(client, engine):
    """A fire token sees and acknowledges the fire notification once; history and audit."""
    fire_ev = _post_event(client, engine, G1, item="safety.fire")
    other = _post_event(client, engine, G2)
    recs = _dispatch(client, fire_ev)
    assert [(d["kind"], d["department"]) for d in recs] == [("handle", None), ("notify", "fire")]
    handle, notify = recs[0]["id"], recs[1]["id"]
    fire = bearer(engine, "department", department="fire")
    police = bearer(engine, "department", department="police")
    me = client.get("/api/v1/me", headers=fire).json()
    assert me["role"] == "department" and me["department"] == "fire"
    # what a department reads: its notifications and their events, nothing else
    pend = client.get("/api/v1/dispatches?pending=true", headers=fire).json()
    assert [d["id"] for d in pend["dispatches"]] == [notify]
    assert client.get("/api/v1/dispatches", headers=police).json()["count"] == 0
    assert client.get("/api/v1/dispatches?department=police",
                      headers=fire).status_code == 403
    assert _ids(client, fire) == [fire_ev] and _ids(client, police) == []
    assert client.get(f"/api/v1/events/{other}", headers=fire).status_code == 404
    # refusals change nothing
    for did, headers, status, code in (
            (notify, police, 404, "dispatch_not_found"),  # as if it did not exist
            (notify, bearer(engine, "community_dispatcher", COMMUNITY), 403, "wrong_role"),
            (notify, bearer(engine, "grid_worker", worker=W1), 403, "wrong_role"),
            (handle, fire, 409, "not_a_notification"),
            (999999, fire, 404, "dispatch_not_found")):
        r = client.post(f"/api/v1/dispatches/{did}/acknowledge", json={}, headers=headers)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert client.get(f"/api/v1/events/{fire_ev}").json()["dispatch"][1]["acknowledged_at"] \
        is None
    r = client.post(f"/api/v1/dispatches/{notify}/acknowledge",
                    json={"note": "engine 3 on its way"}, headers=fire)
    assert r.status_code == 200, r.text
    assert r.json()["department"] == "fire" and r.json()["actor"] == "department:fire"
    at = r.json()["acknowledged_at"]
    r = client.post(f"/api/v1/dispatches/{notify}/acknowledge", headers=fire)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_acknowledged"
    # the acknowledgement appears in the event's detail (dispatch records and history)
    detail = client.get(f"/api/v1/events/{fire_ev}", headers=fire).json()
    assert datetime.fromisoformat(detail["dispatch"][1]["acknowledged_at"]) == \
        datetime.fromisoformat(at)
    assert detail["dispatch"][0]["acknowledged_at"] is None
    h = detail["history"][-1]
    assert h["action"] == "acknowledge" and h["actor"] == "department:fire"
    assert h["from_status"] == h["to_status"] == "dispatched" == detail["status"]
    assert h["note"] == "engine 3 on its way" and h["data"]["dispatch_id"] == notify
    view = client.get(f"/api/v1/events/{fire_ev}/workflow").json()
    assert view["dispatch"][1]["acknowledged_at"] is not None
    assert client.get("/api/v1/dispatches?pending=true", headers=fire).json()["count"] == 0
    # departments do not move events, nor see the area reports
    r = client.post(f"/api/v1/events/{fire_ev}/transitions", json={"action": "start"},
                    headers=fire)
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"
    assert client.get("/api/v1/escalation/overdue", headers=fire).status_code == 403
    entries = client.get("/api/v1/audit?limit=1000").json()["entries"]
    acks = [e for e in entries if e["action"] == "dispatch.acknowledge"]
    assert sorted(e["outcome"] for e in acks) == ["denied"] * 3 + ["ok"] + ["refused"] * 3


def test_centre_acknowledges_on_behalf_of_a_department(client, engine):
    """The district centre may record a department's acknowledgement (e.g. by phone)."""
    eid = _post_event(client, engine, G1, item="dispute.neighbour")
    recs = _dispatch(client, eid)
    notify = [d for d in recs if d["department"] == "justice"][0]["id"]
    r = client.post(f"/api/v1/dispatches/{notify}/acknowledge")
    assert r.status_code == 200 and r.json()["actor"] == "centre"
    community = bearer(engine, "community_dispatcher", COMMUNITY)
    rows = client.get("/api/v1/dispatches", headers=community).json()["dispatches"]
    assert [(d["id"], d["acknowledged_at"] is not None) for d in rows] == [(notify, True)]
    street_other = bearer(engine, "community_dispatcher", "320508001002")
    assert client.get("/api/v1/dispatches", headers=street_other).json()["count"] == 0
    assert client.get("/api/v1/dispatches", headers=bearer(engine, "planner")).status_code == 403


def test_department_tokens_are_checked(client, engine):
    """A department token names a known department and nothing else."""
    for kw, code in (({}, "department_required"),
                     ({"department": "nope"}, "unknown_department"),
                     ({"department": "fire", "area": COMMUNITY}, "area_not_allowed")):
        r = client.post("/api/v1/tokens", json={"role": "department"} | kw)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    r = client.post("/api/v1/tokens", json={"role": "planner", "department": "fire"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "department_not_allowed"
    r = client.post("/api/v1/tokens", json={"role": "department", "department": "fire"})
    assert r.status_code == 201 and r.json()["department"] == "fire"


def _track(engine, grid) -> list[dict]:
    """Two fixes inside ``grid``."""
    lon, lat = grid_point(engine, grid)
    return [{"lon": lon, "lat": lat, "t": "2026-11-01T09:00:00+08:00"},
            {"lon": lon + 0.00003, "lat": lat, "t": "2026-11-01T09:05:00+08:00"}]


def _tracks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM patrol_track")).scalar()


def test_patrol_tracks_only_for_own_or_area_workers(client, engine):
    """Grid worker: own tracks only; dispatcher: workers of their area; centre: anyone."""
    w_other = "L320508001002"  # grid leader in the other community of the street
    cases = (
        (bearer(engine, "grid_worker", worker=W1), W2, 403, "not_your_track"),
        (bearer(engine, "grid_worker", area=G1), W1, 403, "not_your_track"),
        (bearer(engine, "community_dispatcher", COMMUNITY), w_other, 403, "outside_area"),
        (bearer(engine, "department", department="fire"), W1, 403, "wrong_role"),
        (bearer(engine, "planner"), W1, 403, "wrong_role"),
        (bearer(engine, "grid_worker", worker=W1), W1, 201, None),
        (bearer(engine, "community_dispatcher", COMMUNITY), W2, 201, None),
        (bearer(engine, "street_dispatcher", STREET), w_other, 201, None),
        ({}, "W" + G_OTHER_STREET, 201, None),
    )
    for headers, worker, status, code in cases:
        before = _tracks(engine)
        r = client.post("/api/v1/patrols", headers=headers,
                        json={"worker": worker, "points": _track(engine, G1)})
        assert r.status_code == status, (worker, r.text)
        if code:
            assert r.json()["error"]["code"] == code
            assert _tracks(engine) == before
        else:
            assert _tracks(engine) == before + 1
    # an unknown worker is still the intake's 422 for a dispatcher
    r = client.post("/api/v1/patrols", headers=bearer(engine, "street_dispatcher", STREET),
                    json={"worker": "nobody", "points": _track(engine, G1)})
    assert r.status_code == 422


def test_cli_token_expires(client, engine, settings, monkeypatch):
    """--expires DAYS or an ISO time; past or nonsense values are refused; expired = 401."""
    from wangge.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    runner = CliRunner()

    def create(*args):
        return runner.invoke(app, ["token", "create", "--role", "planner", *args])

    t0 = datetime.now(UTC)
    r = create("--expires", "30")
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert "expires" in r.stderr
    with engine.connect() as conn:
        exp = conn.execute(text("SELECT expires_at FROM api_token WHERE token_hash = :h"),
                           {"h": auth.hash_token(token)}).scalar()
    assert timedelta(days=30) <= exp - t0 <= timedelta(days=30, minutes=5)
    r = create("--expires", "2031-01-02T03:04:05")
    assert r.exit_code == 0, r.output
    with engine.connect() as conn:
        exp = conn.execute(text("SELECT expires_at FROM api_token ORDER BY id DESC LIMIT 1"))
        assert exp.scalar() == datetime(2031, 1, 1, 19, 4, 5, tzinfo=UTC)  # naive = UTC+8
    r = create()
    assert r.exit_code == 0 and "never expires" in r.stderr
    for bad, code in (("0", "out_of_range"), ("-2", "out_of_range"),
                      ("2020-01-01", "expired"), ("soon", "bad_time")):
        r = create("--expires", bad)
        assert r.exit_code == 1 and code in r.stderr, (bad, r.output)
    r = runner.invoke(app, ["token", "create", "--role", "department", "--department",
                            "fire", "--expires", "1"])
    assert r.exit_code == 0, r.output
    fire = {"Authorization": "Bearer " + r.stdout.strip().splitlines()[0]}
    assert client.get("/api/v1/me", headers=fire).json()["department"] == "fire"
    # once expired (moved into the past here) the token is refused
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET expires_at = now() - interval '1 second' "
                          "WHERE role = 'department'"))
    assert client.get("/api/v1/me", headers=fire).status_code == 401
