"""GET /api/v1/grids, /grids/{code}, /locate, POST /api/v1/patrols, health, catalogue, OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import support.territory as T
from sqlalchemy import text

from gis.geo.datum import Datum, from_wgs84

CLI_KEYS = {"lon", "lat", "status", "grid", "unit", "community", "street", "worker"}


@pytest.fixture()
def client(demo_district, api):
    api.app.state.locator.refresh(force=True)
    return api


@pytest.fixture()
def hand_client(clean_db, api):
    """The API on the hand-built territory of core_helpers."""
    T.load(clean_db)
    T.load_people(clean_db)
    api.app.state.locator.refresh(force=True)
    return api


def test_grids_feature_collection(client, demo_district):
    r = client.get("/api/v1/grids")
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 32
    f = fc["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"
    props = f["properties"]
    assert props["code"] == f["id"] and props["generation_id"] == demo_district
    assert props["area_m2"] > 0 and props["kind"] in ("basic", "industrial")
    codes = [x["properties"]["code"] for x in fc["features"]]
    assert codes == sorted(codes) and len(set(codes)) == 32
    assert any(x["properties"]["kind"] == "industrial" for x in fc["features"])


def test_grid_detail_people_and_open_events(hand_client, engine):
    c = hand_client
    for lon, lat in ((120.602, 31.302), (120.603, 31.303), (120.65, 31.31)):
        assert c.post("/api/v1/events", json={"item": "safety.fire", "lon": lon,
                                              "lat": lat}).status_code == 201
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET status = 'closed' WHERE id = 2"))
    r = c.get(f"/api/v1/grids/{T.G1}")
    assert r.status_code == 200
    f = r.json()
    assert f["id"] == T.G1 and f["geometry"]["type"] == "MultiPolygon"
    p = f["properties"]
    assert p["community_code"] == T.C and p["street_code"] == T.S and p["units"] == 2
    people = {(x["code"], x["role"]) for x in p["people"]}
    assert people == {("W1", "full_time"), ("L1", "grid_leader")}
    assert p["open_events"]["total"] == 1 and p["open_events"]["by_status"] == {"reported": 1}
    assert [e["id"] for e in p["open_events"]["latest"]] == [1]
    # an expired role is not among the people
    g3 = c.get(f"/api/v1/grids/{T.G3}").json()["properties"]
    assert {x["code"] for x in g3["people"]} == {"L3"}
    port = c.get(f"/api/v1/grids/{T.G6}").json()["properties"]
    assert port["kind"] == "port" and port["open_events"]["total"] == 1 and port["people"] == []
    r = c.get("/api/v1/grids/999999999999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "grid_not_found"


def test_locate_same_keys_as_cli(hand_client):
    c = hand_client
    r = c.get("/api/v1/locate", params={"lon": 120.602, "lat": 31.302})
    assert r.status_code == 200
    d = r.json()
    assert CLI_KEYS <= d.keys()
    assert (d["status"], d["grid"], d["unit"], d["community"], d["street"], d["worker"]) == (
        "inside", T.G1, T.U1A, T.C, T.S, "W1")
    x, y = from_wgs84(120.602, 31.302, Datum.BD09)
    d = c.get("/api/v1/locate", params={"lon": x, "lat": y, "crs": "bd09"}).json()
    assert d["unit"] == T.U1A and abs(d["lon"] - 120.602) < 1e-8 and abs(d["lat"] - 31.302) < 1e-8
    d = c.get("/api/v1/locate", params={"lon": 121.5, "lat": 31.3}).json()
    assert d["status"] == "unassigned" and d["grid"] is None and CLI_KEYS <= d.keys()
    d = c.get("/api/v1/locate", params={"lon": 120.5995, "lat": 31.305}).json()
    assert d["status"] == "outside" and d["grid"] == T.G1 and d["distance_m"] > 0


def test_locate_bad_input(hand_client):
    c = hand_client

    def bad(params, field, code=None):
        r = c.get("/api/v1/locate", params=params)
        assert r.status_code == 422, r.text
        e = r.json()["error"]
        assert field in [d["field"] for d in e["details"]], e
        if code:
            assert e["code"] == code
        return e

    bad({"lon": 120.6}, "lat", "missing_coordinate")
    bad({"lat": 31.3}, "lon", "missing_coordinate")
    bad({"lon": "abc", "lat": 31.3}, "lon")
    bad({"lon": "nan", "lat": 31.3}, "lon", "not_finite")
    bad({"lon": 120.6, "lat": "inf"}, "lat", "not_finite")
    bad({"lon": 120.6, "lat": 99}, "lat", "out_of_range")
    bad({"lon": 31.305, "lat": 120.602}, "lon", "swapped_coordinates")
    bad({"lon": 120.6, "lat": 31.3, "crs": "mars"}, "crs", "unknown_datum")
    bad({}, "lon", "missing_coordinate")
    bad({"address": "nowhere at all"}, "address", "unknown_address")
    bad({"building_id": "424242"}, "building_id", "unknown_building")


def test_locate_building_and_address(hand_client, engine):
    bid = T.insert_building(engine, "B-9", "9 Pingjiang Road", 120.602, 31.302)
    d = hand_client.get("/api/v1/locate", params={"building_id": str(bid)}).json()
    assert (d["method"], d["unit"]) == ("building", T.U1A)
    d = hand_client.get("/api/v1/locate", params={"address": "9 PINGJIANG ROAD"}).json()
    assert (d["method"], d["grid"]) == ("address", T.G1)


def test_patrol_good(hand_client, engine):
    t0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    pts = [{"lon": 120.601 + 0.001 * i, "lat": 31.302, "t": (t0 + timedelta(minutes=i)).isoformat()}
           for i in range(4)]
    r = hand_client.post("/api/v1/patrols", json={"worker": "W1", "points": pts})
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["grid"] == T.G1 and b["points"] == 4 and b["crs"] == "wgs84"
    assert 270 < b["length_m"] < 300                      # 3 x ~95 m
    with engine.connect() as conn:
        row = conn.execute(text("SELECT grid_code, ST_NPoints(geom) AS n, ST_M(ST_StartPoint(geom))"
                                " AS m0, ST_M(ST_EndPoint(geom)) AS m1, started_at FROM "
                                "patrol_track WHERE id = :i"), {"i": b["id"]}).one()
    assert row.grid_code == T.G1 and row.n == 4
    assert row.m0 == t0.timestamp() and row.m1 == (t0 + timedelta(minutes=3)).timestamp()
    # GCJ-02 input is converted: the stored line runs over the same WGS84 points
    gpts = []
    for p in pts:
        x, y = from_wgs84(p["lon"], p["lat"], Datum.GCJ02)
        gpts.append({**p, "lon": x, "lat": y})
    r = hand_client.post("/api/v1/patrols", json={"worker": "W1", "points": gpts, "crs": "gcj02"})
    assert r.status_code == 201 and r.json()["grid"] == T.G1
    with engine.connect() as conn:
        x = conn.execute(text("SELECT ST_X(ST_StartPoint(geom)) FROM patrol_track WHERE id = :i"),
                         {"i": r.json()["id"]}).scalar_one()
    assert abs(x - 120.601) < 1e-7


def test_patrol_bad(hand_client, engine):
    t0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

    def pts(n=3, **over):
        out = [{"lon": 120.601 + 0.001 * i, "lat": 31.302,
                "t": (t0 + timedelta(minutes=i)).isoformat()} for i in range(n)]
        for k, v in over.items():
            i, f = k.split("_")
            out[int(i[1:])][f] = v
        return out

    def bad(body, field, raw=False):
        if raw:
            r = hand_client.post("/api/v1/patrols", content=body,
                                 headers={"content-type": "application/json"})
        else:
            r = hand_client.post("/api/v1/patrols", json=body)
        assert r.status_code == 422, r.text
        fields = [d["field"] for d in r.json()["error"]["details"]]
        assert field in fields, (field, fields)

    bad({"worker": "W1", "points": pts(1)}, "points")
    bad({"worker": "NOBODY", "points": pts()}, "worker")
    bad({"worker": "W1", "points": pts(p1_lon=200.0)}, "points[1].lon")
    bad({"worker": "W1", "points": pts(p2_lat="north")}, "points[2].lat")
    bad({"worker": "W1", "points": pts(p2_t=t0.isoformat())}, "points[2].t")
    bad({"worker": "W1", "points": pts(), "crs": "nope"}, "crs")
    bad({"worker": "W1", "points": pts(), "speed": 3}, "speed")
    bad({"points": pts()}, "worker")
    same = [{"lon": 120.601, "lat": 31.302, "t": t0.isoformat()}] * 3
    bad({"worker": "W1", "points": same}, "points")
    raw = json.dumps({"worker": "W1", "points": pts()}).replace("120.601", "NaN", 1)
    bad(raw, "points[0].lon", raw=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_track")).scalar_one() == 0


def test_health_catalogue_openapi(client):
    h = client.get("/api/v1/health").json()
    assert h["status"] == "ok" and h["grids"] == 32 and h["units"] == 288
    cat = client.get("/api/v1/catalogue").json()
    codes = {c["code"] for c in cat["classes"]}
    assert codes == {"crime", "dispute", "safety", "health"}
    assert any(i["code"] == "safety.fire" for c in cat["classes"] for i in c["items"])
    o = client.get("/openapi.json")
    assert o.status_code == 200
    doc = o.json()
    for path in ("/api/v1/events", "/api/v1/locate", "/api/v1/grids", "/api/v1/grids/{code}",
                 "/api/v1/patrols", "/api/v1/events/{event_id}"):
        assert path in doc["paths"], path
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', o.text))
    assert refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])
