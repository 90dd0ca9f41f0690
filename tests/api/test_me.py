"""Issue 13: the worker's own endpoints — my tasks (待办 / 已办), asking to escalate, my grid."""

from __future__ import annotations

from sqlalchemy import text
from support.territory import insert_building
from support.workflow import (
    G1,
    G2,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    LEADER,
    W1,
    W2,
    bearer,
    grid_point,
    unit_point,
)

COMMUNITY = "320508001001"   # holds G1 and G2
OTHER_COMMUNITY = "320508001002"
STREET = "320508001"




def _post_event(client, engine, grid, item="health.sanitation") -> int:
    """Report an event in ``grid`` as the centre."""
    lon, lat = grid_point(engine, grid)
    r = client.post("/api/v1/events", json={"item": item, "lon": lon, "lat": lat,
                                            "description": "垃圾堆放"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _act(client, event_id, action, headers=None, **kw):
    """One transition; asserts it was accepted."""
    r = client.post(f"/api/v1/events/{event_id}/transitions", json={"action": action} | kw,
                    headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def _tasks(client, headers, which="todo", **params) -> dict:
    r = client.get("/api/v1/me/tasks", params={"list": which} | params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_workers_tasks_move_from_todo_to_done_with_the_transitions(client, engine):
    mine = _post_event(client, engine, G1)
    other = _post_event(client, engine, G2)
    w1 = bearer(engine, "grid_worker", worker=W1)
    todo = _tasks(client, w1)
    assert todo["list"] == "todo" and todo["count"] == 1
    [item] = todo["items"]
    assert item["id"] == mine and item["grid"] == G1 and item["status"] == "reported"
    assert item["item"] == "health.sanitation" and item["class"] == "health"
    assert item["item_name"] and item["item_name"] != "health.sanitation"  # the Chinese name
    assert item["description"] == "垃圾堆放" and item["source"] == "resident"
    assert item["overdue"] is False and item["lon"] and item["lat"]
    assert "accept" in item["allowed_actions"] and "ask_escalate" in item["allowed_actions"]
    assert "escalate" not in item["allowed_actions"]
    assert "whistle" not in item["allowed_actions"]  # W1 is not the grid leader
    assert _tasks(client, w1, "done") == {"list": "done", "count": 0, "items": []}
    # another worker does not see it, and W1 does not see theirs
    w2 = _tasks(client, bearer(engine, "grid_worker", worker=W2))
    assert [i["id"] for i in w2["items"]] == [other]

    for action, kw in (("accept", {}), ("dispatch", {"level": "grid"}), ("start", {}),
                       ("resolve", {})):
        _act(client, mine, action, w1, **kw)
    assert _tasks(client, w1)["count"] == 0
    done = _tasks(client, w1, "done")
    assert [i["id"] for i in done["items"]] == [mine]
    assert done["items"][0]["status"] == "resolved"
    assert done["items"][0]["allowed_actions"] == ["close", "reopen"]


def test_the_grid_leader_may_whistle_and_paging_counts_the_whole_list(client, engine):
    ids = [_post_event(client, engine, G1) for _ in range(3)]
    leader = _tasks(client, bearer(engine, "grid_worker", area=G1), limit=2)
    assert leader["count"] == 3 and len(leader["items"]) == 2
    assert [i["id"] for i in leader["items"]] == ids[::-1][:2]  # newest change first
    assert _tasks(client, bearer(engine, "grid_worker", area=G1), offset=5)["count"] == 3
    leader = bearer(engine, "grid_worker", worker=LEADER)
    assert _tasks(client, leader)["count"] == 0  # W1 answers for G1's events, not the leader
    with engine.begin() as conn:  # a grid without a full-time worker: the leader answers
        conn.execute(text("UPDATE event SET worker_id = (SELECT id FROM worker WHERE code = :w)"
                          " WHERE id = :i"), {"w": LEADER, "i": ids[0]})
    [item] = _tasks(client, leader)["items"]
    assert item["id"] == ids[0] and "whistle" in item["allowed_actions"]
    assert "escalate" not in item["allowed_actions"]
    r = client.get("/api/v1/me/tasks?list=soon", headers=bearer(engine, "grid_worker", worker=W1))
    assert r.status_code == 422


def test_dispatchers_list_their_level_and_what_they_acted_on(client, engine):
    ev = _post_event(client, engine, G1)
    far = _post_event(client, engine, G_OTHER_COMMUNITY)
    community = bearer(engine, "community_dispatcher", area=COMMUNITY)
    assert _tasks(client, community)["count"] == 0  # at the grid level: the grid's work
    _act(client, ev, "accept")
    _act(client, ev, "dispatch", level="community")
    _act(client, far, "accept")
    _act(client, far, "dispatch", level="community")
    todo = _tasks(client, community)
    assert [i["id"] for i in todo["items"]] == [ev]
    assert "escalate" in todo["items"][0]["allowed_actions"]
    assert "ask_escalate" not in todo["items"][0]["allowed_actions"]
    other = bearer(engine, "community_dispatcher", area=OTHER_COMMUNITY)
    assert [i["id"] for i in _tasks(client, other)["items"]] == [far]
    assert _tasks(client, community, "done")["count"] == 0
    _act(client, ev, "resolve", community)
    _act(client, ev, "close", community)
    assert _tasks(client, community)["count"] == 0
    assert [i["id"] for i in _tasks(client, community, "done")["items"]] == [ev]
    assert _tasks(client, other, "done")["count"] == 0
    r = client.get("/api/v1/me/tasks", headers=bearer(engine, "planner"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"


def _history(engine, event_id) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT action, from_status, to_status, actor, note FROM event_history "
            "WHERE event_id = :i ORDER BY id"), {"i": event_id}).mappings()]


def test_a_worker_asks_to_escalate_and_dispatchers_see_the_request(client, engine):
    ev = _post_event(client, engine, G1)
    _act(client, ev, "accept")
    w1 = bearer(engine, "grid_worker", worker=W1)
    r = client.post(f"/api/v1/events/{ev}/transitions", json={"action": "escalate",
                                                              "note": "太大"}, headers=w1)
    assert r.status_code == 403  # grid workers do not escalate ...
    r = client.post(f"/api/v1/events/{ev}/escalation-request", json={"note": "需要社区协调"},
                    headers=w1)
    assert r.status_code == 201, r.text  # ... they ask
    body = r.json()
    assert body["event_id"] == ev and body["actor"] == W1 and body["note"] == "需要社区协调"
    assert body["at"]
    last = _history(engine, ev)[-1]
    assert last == {"action": "ask_escalate", "from_status": "accepted",
                    "to_status": "accepted", "actor": W1, "note": "需要社区协调"}
    with engine.connect() as conn:
        status, level = conn.execute(text("SELECT status, level FROM event WHERE id = :i"),
                                     {"i": ev}).one()
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                    "'ask_escalate' AND outcome = 'ok'")).scalar()
    assert (status, level) == ("accepted", "grid") and audited == 1

    community = bearer(engine, "community_dispatcher", area=COMMUNITY)
    r = client.get("/api/v1/escalation-requests", headers=community)
    assert r.status_code == 200, r.text
    [req] = r.json()["requests"]
    assert req["event_id"] == ev and req["actor"] == W1 and req["level"] == "grid"
    assert req["note"] == "需要社区协调" and req["item_name"]
    elsewhere = bearer(engine, "street_dispatcher", area="320508002")
    assert client.get("/api/v1/escalation-requests", headers=elsewhere).json() == {
        "requests": []}
    r = client.get("/api/v1/escalation-requests", headers=w1)
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"
    # once escalated, the request is no longer open
    _act(client, ev, "escalate", community, note="同意上报")
    assert client.get("/api/v1/escalation-requests", headers=community).json() == {
        "requests": []}


def test_asking_to_escalate_is_refused_outside_the_area_closed_or_without_a_note(client, engine):
    ev = _post_event(client, engine, G1)
    far = _post_event(client, engine, G_OTHER_STREET)
    w1 = bearer(engine, "grid_worker", worker=W1)
    before = len(_history(engine, far))
    r = client.post(f"/api/v1/events/{far}/escalation-request", json={"note": "x"}, headers=w1)
    assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"
    missing = client.post("/api/v1/events/999999/escalation-request", json={"note": "x"},
                          headers=w1)
    assert missing.json() == r.json() | {"error": r.json()["error"] | {
        "message": missing.json()["error"]["message"]}}
    assert len(_history(engine, far)) == before
    r = client.post(f"/api/v1/events/{ev}/escalation-request", json={}, headers=w1)
    assert r.status_code == 422
    r = client.post(f"/api/v1/events/{ev}/escalation-request", json={"note": "  "}, headers=w1)
    assert r.status_code == 422 and r.json()["error"]["code"] == "note_required"
    _act(client, ev, "reject", note="不属实")
    r = client.post(f"/api/v1/events/{ev}/escalation-request", json={"note": "x"}, headers=w1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    with engine.connect() as conn:
        denied = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                   "'ask_escalate' AND outcome = 'denied'")).scalar()
    assert denied >= 1


def test_me_names_the_worker_and_its_grids(client, engine):
    me = client.get("/api/v1/me", headers=bearer(engine, "grid_worker", worker=W1)).json()
    assert me["grids"] == [G1] and me["worker_name"] == "网格员" + G1[-9:]
    assert me["must_change_password"] is False
    me = client.get("/api/v1/me").json()
    assert me["role"] == "district_centre" and me["grids"] is None


def test_my_grid_gives_grids_units_and_buildings(client, engine):
    lon, lat = unit_point(engine, G1 + "001")
    bid = insert_building(engine, "b-in-g1", "幸福路 1 号", lon, lat)
    lon2, lat2 = grid_point(engine, G_OTHER_STREET)
    insert_building(engine, "b-far", None, lon2, lat2)
    r = client.get("/api/v1/me/grid", headers=bearer(engine, "grid_worker", worker=W1))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["id"] for f in body["grids"]["features"]] == [G1]
    g = body["grids"]["features"][0]
    assert g["properties"]["code"] == G1 and g["properties"]["name"]
    assert g["geometry"]["type"] == "MultiPolygon"
    assert 120 < g["geometry"]["coordinates"][0][0][0][0] < 121  # WGS84 degrees
    units = {f["id"]: f["properties"] for f in body["units"]["features"]}
    assert units and all(c.startswith(G1) for c in units)
    assert units[G1 + "001"]["buildings"] == 1 and sum(u["buildings"] for u in units.values()) == 1
    assert [f["id"] for f in body["buildings"]["features"]] == [bid]
    assert body["buildings"]["features"][0]["properties"]["address"] == "幸福路 1 号"
    assert body["truncated"] is False

    community = client.get("/api/v1/me/grid",
                           headers=bearer(engine, "community_dispatcher", area=COMMUNITY)).json()
    codes = [f["id"] for f in community["grids"]["features"]]
    assert G1 in codes and G2 in codes and all(c.startswith(COMMUNITY) for c in codes)
    assert community["units"]["features"] and community["truncated"] is False
    street = client.get("/api/v1/me/grid",
                        headers=bearer(engine, "street_dispatcher", area=STREET)).json()
    assert len(street["grids"]["features"]) > len(codes)
    assert street["units"]["features"] == [] and street["buildings"]["features"] == []
    assert street["truncated"] is True
    r = client.get("/api/v1/me/grid", headers=bearer(engine, "planner"))
    assert r.status_code == 403
