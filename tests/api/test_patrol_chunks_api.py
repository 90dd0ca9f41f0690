"""POST /api/v1/patrols/chunks, GET /api/v1/patrols/tracks[/{uid}], due units on the map."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from support.workflow import G1, G2, LEADER, W1, W2, bearer, unit_point

from gis.clock import CST

T0 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)  # 09:00 CST on the 5th
CHUNKS = "/api/v1/patrols/chunks"




def _fixes(engine, unit: str, n: int, start: datetime = T0) -> list[dict]:
    """``n`` fixes walking east through ``unit`` (naive times: CST), one every 5 s."""
    lon, lat = unit_point(engine, unit)
    return [{"lon": lon + i * 0.00002, "lat": lat, "acc": 8,
             "t": (start + timedelta(seconds=5 * i)).astimezone(CST).replace(
                 tzinfo=None).isoformat()} for i in range(n)]


def _body(uid: str, seq: int, fixes: list[dict], final: bool = False, **kw) -> dict:
    """A chunk's JSON body."""
    return {"track_uid": uid, "seq": seq, "fixes": fixes, "final": final} | kw


def _send(client, uid: str, fixes: list[dict], size: int, order: list[int], headers=None):
    """Send the fixes as chunks of ``size`` in ``order``; the answers."""
    parts = [fixes[i:i + size] for i in range(0, len(fixes), size)]
    out = []
    for k in order:
        r = client.post(CHUNKS, json=_body(uid, k, parts[k], k == len(parts) - 1, worker=W1),
                        headers=headers)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _error(r) -> tuple[int, str, list[str]]:
    """Status, error code and the fields named."""
    e = r.json()["error"]
    return r.status_code, e["code"], [d["field"] for d in e.get("details", [])]


def test_out_of_order_chunks_give_the_in_order_track(client, engine):
    """Chunks 2, 0, 1 and 0, 1, 2: the same geometry, times, length and grid."""
    fixes = _fixes(engine, G1 + "001", 30)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    ta = _send(client, a, fixes, 10, [0, 1, 2])[-1]["track"]
    last = _send(client, b, fixes, 10, [2, 0, 1])
    assert last[0]["missing"] == [0, 1] and last[-1]["missing"] == []
    tb = last[-1]["track"]
    keys = ("grid", "points", "length_m", "started_at", "ended_at", "final", "worker")
    assert [ta[k] for k in keys] == [tb[k] for k in keys]
    assert (tb["grid"], tb["points"], tb["final"], tb["worker"]) == (G1, 30, True, W1)
    ga = client.get(f"/api/v1/patrols/tracks/{a}").json()["geometry"]
    gb = client.get(f"/api/v1/patrols/tracks/{b}").json()["geometry"]
    assert ga == gb and ga["type"] == "LineString" and len(ga["coordinates"]) == 30


def test_replay_is_harmless_and_a_conflicting_replay_is_409(client, engine):
    """Sent twice: 200 replayed, nothing changed; other fixes under the same seq: 409."""
    uid = str(uuid.uuid4())
    fixes = _fixes(engine, G1 + "001", 6)
    first = client.post(CHUNKS, json=_body(uid, 0, fixes, worker=W1))
    again = client.post(CHUNKS, json=_body(uid, 0, fixes, worker=W1))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] is True and first.json()["replayed"] is False
    assert again.json()["track"] == first.json()["track"]
    before = client.get(f"/api/v1/patrols/tracks/{uid}").json()
    moved = [f | {"lon": f["lon"] + 0.001} for f in fixes]
    r = client.post(CHUNKS, json=_body(uid, 0, moved, worker=W1))
    assert _error(r)[:2] == (409, "chunk_conflict")
    assert client.get(f"/api/v1/patrols/tracks/{uid}").json() == before
    assert before["properties"]["points"] == 6


def test_single_fix_then_a_second_chunk(client, engine):
    """A first chunk of one fix: track null; after the second chunk: a track."""
    uid = str(uuid.uuid4())
    f = _fixes(engine, G1 + "001", 2)
    one = client.post(CHUNKS, json=_body(uid, 0, f[:1], worker=W1))
    assert one.status_code == 201 and one.json()["track"] is None
    assert client.get(f"/api/v1/patrols/tracks/{uid}").status_code == 404
    two = client.post(CHUNKS, json=_body(uid, 1, f[1:], worker=W1, final=True)).json()
    assert two["track"]["points"] == 2 and two["track"]["uid"] == uid


def test_a_grid_worker_posts_and_reads_only_their_own(client, engine):
    """Worker defaults to the caller's; another worker's token: 403 to post, 404 to read."""
    uid = str(uuid.uuid4())
    w1, w2 = bearer(engine, "grid_worker", worker=W1), bearer(engine, "grid_worker", worker=W2)
    f = _fixes(engine, G1 + "001", 4)
    r = client.post(CHUNKS, json=_body(uid, 0, f[:2]), headers=w1)
    assert r.status_code == 201 and r.json()["track"]["worker"] == W1
    assert _error(client.post(CHUNKS, json=_body(uid, 1, f[2:], worker=W1), headers=w2))[:2] \
        == (403, "not_your_track")
    assert _error(client.post(CHUNKS, json=_body(uid, 1, f[2:]), headers=w2))[:2] \
        == (409, "track_worker_mismatch")
    assert client.get(f"/api/v1/patrols/tracks/{uid}", headers=w1).status_code == 200
    r = client.get(f"/api/v1/patrols/tracks/{uid}", headers=w2)
    assert _error(r)[:2] == (404, "track_not_found")
    ghost = str(uuid.uuid4())  # the very answer of a track that does not exist
    assert client.get(f"/api/v1/patrols/tracks/{ghost}", headers=w1).text.replace(
        ghost, uid) == r.text
    far = bearer(engine, "community_dispatcher", area="320508002001")
    assert client.get(f"/api/v1/patrols/tracks/{uid}", headers=far).status_code == 404
    assert _error(client.post(CHUNKS, json=_body(str(uuid.uuid4()), 0, f, worker=W1),
                              headers=far))[:2] == (403, "outside_area")
    near = bearer(engine, "community_dispatcher", area="320508001001")
    assert client.get(f"/api/v1/patrols/tracks/{uid}", headers=near).status_code == 200
    r = client.post(CHUNKS, json=_body(str(uuid.uuid4()), 0, f), headers=near)
    assert _error(r) == (422, "missing", ["worker"])
    planner = bearer(engine, "planner")
    assert client.post(CHUNKS, json=_body(str(uuid.uuid4()), 0, f, worker=W1),
                       headers=planner).status_code == 403


def test_bad_chunks_are_422_naming_the_field(client, engine):
    """Coordinates, times going backwards, seq, fix count, acc, uid: the field is named."""
    f = _fixes(engine, G1 + "001", 5)
    uid = str(uuid.uuid4())
    cases = [
        (_body(uid, 0, f[:3] + [f[3] | {"lat": 95}], worker=W1), "fixes[3].lat"),
        (_body(uid, 0, [f[2], f[1]], worker=W1), "fixes[1].t"),
        (_body(uid, -1, f, worker=W1), "seq"),
        (_body(uid, 0, [], worker=W1), "fixes"),
        (_body(uid, 0, [f[0] | {"acc": -1}], worker=W1), "fixes[0].acc"),
        (_body("nope", 0, f, worker=W1), "track_uid"),
        (_body(uid, 0, f, worker=W1, crs="mars"), "crs"),
        (_body(uid, 0, [{"lon": 120.6, "lat": 31.3}], worker=W1), "fixes[0].t"),
    ]
    for body, field in cases:
        r = client.post(CHUNKS, json=body)
        assert r.status_code == 422 and field in _error(r)[2], (field, r.text)
    r = client.post(CHUNKS, json=_body(uid, 0, f, worker="nobody"))
    assert _error(r)[:2] == (422, "unknown_worker")
    assert client.get("/api/v1/patrols/tracks", params={"day": "2026-11-05"}).json()[
        "features"] == []


def test_standing_still_and_inaccurate_fixes(client, engine):
    """Many fixes at one place do not fail; fixes with acc > 100 m are dropped and counted."""
    uid = str(uuid.uuid4())
    f = _fixes(engine, G1 + "001", 1)[0]
    still = [f | {"t": (datetime.fromisoformat(f["t"]) + timedelta(seconds=i)).isoformat()}
             for i in range(500)]
    r = client.post(CHUNKS, json=_body(uid, 0, still, worker=W1))
    assert r.status_code == 201 and r.json()["track"] is None
    walk = _fixes(engine, G1 + "002", 3, T0 + timedelta(minutes=20))
    walk[1]["acc"] = 250
    out = client.post(CHUNKS, json=_body(uid, 1, walk, worker=W1, final=True)).json()
    assert out["dropped"] == 1 and out["track"]["points"] == 2 + 2


def test_tracks_of_a_day_in_china_standard_time(client, engine):
    """A track at 23:30 CST is on that day, one at 00:30 CST the next (UTC: the same day)."""
    late = datetime(2026, 11, 5, 15, 30, tzinfo=UTC)
    early = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    _send(client, a, _fixes(engine, G1 + "001", 3, late), 3, [0])
    _send(client, b, _fixes(engine, G1 + "002", 3, early), 3, [0])
    r = client.post(CHUNKS, json=_body(c, 0, _fixes(engine, G2 + "001", 3, late), worker=W2))
    assert r.status_code == 201
    w1 = bearer(engine, "grid_worker", worker=W1)

    def uids(day: str, headers=None, **params) -> list[str]:
        r = client.get("/api/v1/patrols/tracks", params={"day": day} | params, headers=headers)
        assert r.status_code == 200 and r.json()["type"] == "FeatureCollection", r.text
        return [x["properties"]["uid"] for x in r.json()["features"]]

    assert uids("2026-11-05", worker=W1) == [a] and uids("2026-11-06", worker=W1) == [b]
    assert uids("2026-11-05", w1) == [a] and uids("2026-11-05", w1, worker=W2) == []
    assert sorted(uids("2026-11-05")) == sorted([a, c])
    feat = client.get("/api/v1/patrols/tracks", params={"day": "2026-11-06"}).json()["features"][0]
    p = feat["properties"]
    assert feat["geometry"]["type"] == "LineString" and p["grid"] == G1 and p["points"] == 3
    assert datetime.fromisoformat(p["started_at"]) == early and p["length_m"] > 0
    today = client.get("/api/v1/patrols/tracks", headers=w1).json()
    assert today["day"] == datetime.now(CST).date().isoformat() and today["worker"] == W1
    assert client.get("/api/v1/patrols/tracks", params={"day": "2026-13-01"}).status_code == 422


def test_due_units_have_names_and_positions_for_the_map(client, engine):
    """GET /patrols/due as a grid worker: each due unit with name, lon/lat, last visit."""
    w1 = bearer(engine, "grid_worker", worker=W1)
    uid = str(uuid.uuid4())
    now = datetime.now(UTC).replace(microsecond=0)
    _send(client, uid, _fixes(engine, G1 + "001", 4, now - timedelta(minutes=5)), 4, [0])
    r = client.get("/api/v1/patrols/due", headers=w1)
    assert r.status_code == 200, r.text
    (rem,) = r.json()["reminders"]
    assert rem["worker"] == W1 and len(rem["units"]) == 8  # unit 001 was just visited
    assert G1 + "001" not in [u["unit"] for u in rem["units"]]
    assert [u["unit"] for u in rem["units"]] == rem["unvisited_units"]
    for u in rem["units"]:
        assert u["name"] and u["grid_code"] == G1 and u["last_visit"] is None
        ux, uy = unit_point(engine, u["unit"])
        assert abs(u["lon"] - ux) < 0.003 and abs(u["lat"] - uy) < 0.003


def test_a_grid_leader_gets_the_due_units_of_the_grids_they_answer_for(client, engine,
                                                                         owner_engine):
    """A leader of several grids (no area given): their own reminders, not 403."""
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE grid_role SET valid_to = now() - interval '1 day' "
                          "WHERE area_code = :g AND role = 'full_time'"), {"g": G2})
    r = client.get("/api/v1/patrols/due", headers=bearer(engine, "grid_worker", worker=LEADER))
    assert r.status_code == 200, r.text
    assert [d["worker"] for d in r.json()["duties"]] == [LEADER]
    (rem,) = r.json()["reminders"]
    assert rem["worker"] == LEADER and {u["grid_code"] for u in rem["units"]} == {G2}
    assert len(rem["units"]) == 9 and all(u["lon"] and u["lat"] for u in rem["units"])


def test_coverage_counts_a_track_built_from_chunks(client, engine):
    """GET /patrols/coverage: the worker visited nothing, then the chunked track's unit."""
    params = {"since": (T0 - timedelta(minutes=1)).isoformat(),
              "until": (T0 + timedelta(hours=1)).isoformat(), "area": G1, "worker": W1}
    assert client.get("/api/v1/patrols/coverage", params=params).json()["visited"] == 0
    _send(client, str(uuid.uuid4()), _fixes(engine, G1 + "001", 12), 4, [1, 2, 0])
    cov = client.get("/api/v1/patrols/coverage", params=params).json()
    assert cov["visited"] >= 1 and cov["grids"][0]["grid"] == G1
