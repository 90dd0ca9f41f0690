"""POST/GET /api/v1/events: good paths, every 422, atomic batches, building and address."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import support.territory as T
from fastapi.testclient import TestClient
from sqlalchemy import text

from wangge.app import create_app

URL = "/api/v1/events"


@pytest.fixture()
def client(demo_district, api):
    """The API on the demo district (locator refreshed)."""
    api.app.state.locator.refresh(force=True)
    return api


@pytest.fixture()
def inside(client):
    """(lon, lat) of the centre of a unit of the demo district, and its location."""
    snap = client.app.state.locator.snapshot
    geom = snap.unit_geoms[40]
    c = geom.representative_point()
    return c.x, c.y, snap.unit_codes[40], snap.grid_codes[int(snap.unit_grid[40])]


def count(engine, table: str = "event") -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def err(r) -> dict:
    """The error body of a 422, with ``fields`` for convenience."""
    assert r.status_code == 422, (r.status_code, r.text)
    e = r.json()["error"]
    e["fields"] = [d["field"] for d in e.get("details", [])]
    return e


# -- good paths ----------------------------------------------------------------------------

def test_post_one_event(client, engine, inside):
    lon, lat, unit, grid = inside
    r = client.post(URL, json={"item": "safety.fire", "source": "worker", "lon": lon, "lat": lat,
                               "description": "e-bike charging in the stairwell",
                               "reporter": "W1"})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert r.headers["location"] == f"{URL}/{ev['id']}"
    assert ev["item"] == "safety.fire" and ev["class"] == "safety" and ev["status"] == "reported"
    loc = ev["location"]
    assert (loc["status"], loc["grid"], loc["unit"]) == ("inside", grid, unit)
    assert loc["worker"] is not None and loc["community"] == grid[:12]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT grid_code, unit_code, location_status, input_crs, "
                                "ST_X(geom) AS x, worker_id FROM event WHERE id = :i"),
                           {"i": ev["id"]}).one()
        hist = conn.execute(text("SELECT action, to_status, data FROM event_history "
                                 "WHERE event_id = :i"), {"i": ev["id"]}).all()
    assert (row.grid_code, row.unit_code, row.location_status, row.input_crs) == (
        grid, unit, "inside", "wgs84")
    assert abs(row.x - lon) < 1e-9 and row.worker_id is not None
    assert len(hist) == 1 and hist[0].action == "reported" and hist[0].to_status == "reported"
    assert hist[0].data["grid"] == grid
    # GET one, with its history
    got = client.get(f"{URL}/{ev['id']}").json()
    assert got["id"] == ev["id"] and got["grid_code"] == grid and len(got["history"]) == 1
    assert got["worker"] == loc["worker"]
    assert client.get(f"{URL}/999999").status_code == 404


def test_post_batch_all_forms(client, engine, inside):
    lon, lat, _unit, grid = inside
    reps = [{"item": "safety.fire", "lon": lon, "lat": lat},
            {"item": "dispute.neighbour", "lon": lon + 0.0001, "lat": lat}]
    r = client.post(URL, json={"events": reps})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 2 and all(e["location"]["grid"] == grid for e in body["events"])
    r = client.post(URL, json=reps)          # a bare list is a batch too
    assert r.status_code == 201 and r.json()["count"] == 2
    assert count(engine) == 4 and count(engine, "event_history") == 4


def test_gcj02_report_is_converted(client, engine, inside):
    from gis.geo.datum import Datum, from_wgs84

    lon, lat, unit, _grid = inside
    x, y = from_wgs84(lon, lat, Datum.GCJ02)
    r = client.post(URL, json={"item": "safety.fire", "lon": x, "lat": y, "crs": "GCJ-02"})
    assert r.status_code == 201, r.text
    loc = r.json()["location"]
    assert loc["unit"] == unit and abs(loc["lon"] - lon) < 1e-7
    with engine.connect() as conn:
        row = conn.execute(text("SELECT input_lon, input_crs FROM event")).one()
    assert row.input_crs == "gcj02" and row.input_lon == x


def test_outside_and_unassigned_are_stored(client, engine):
    snap = client.app.state.locator.snapshot
    minx = min(g.bounds[0] for g in snap.grid_geoms)
    miny, maxy = (min(g.bounds[1] for g in snap.grid_geoms),
                  max(g.bounds[3] for g in snap.grid_geoms))
    y = (miny + maxy) / 2
    r = client.post(URL, json={"item": "safety.fire", "lon": minx - 0.001, "lat": y})
    assert r.status_code == 201
    loc = r.json()["location"]
    assert loc["status"] == "outside" and loc["grid"] and 80 < loc["distance_m"] < 110
    r = client.post(URL, json={"item": "safety.fire", "lon": minx - 0.05, "lat": y})
    assert r.status_code == 201 and r.json()["location"]["status"] == "unassigned"
    listed = client.get(URL, params={"location_status": "unassigned"}).json()
    assert listed["count"] == 1 and listed["events"][0]["grid_code"] is None


def test_building_address_and_no_location(client, engine, inside):
    lon, lat, unit, grid = inside
    bid = T.insert_building(engine, "B-40", "40 Canal Street", lon, lat, d=0.00002)
    r = client.post(URL, json={"item": "safety.fire", "building_id": bid})
    assert r.status_code == 201, r.text
    loc = r.json()["location"]
    assert (loc["method"], loc["unit"], loc["grid"]) == ("building", unit, grid)
    r = client.post(URL, json={"item": "safety.fire", "building_id": "B-40"})
    assert r.status_code == 201 and r.json()["location"]["unit"] == unit
    r = client.post(URL, json={"item": "safety.fire", "address": "40 canal street"})
    assert r.status_code == 201 and r.json()["location"]["method"] == "address"
    assert r.json()["location"]["grid"] == grid
    r = client.post(URL, json={"item": "safety.fire", "address": "1 Unknown Lane"})
    assert r.status_code == 201
    assert (r.json()["location"]["status"], r.json()["location"]["method"]) == (
        "unassigned", "address")
    r = client.post(URL, json={"item": "safety.fire", "description": "somewhere"})
    assert r.status_code == 201 and r.json()["location"]["status"] == "unassigned"
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT location_method, building_id, grid_code, "
                                 "location_status FROM event ORDER BY id")).all()
    assert [r.location_method for r in rows] == ["building", "building", "address", "address",
                                                 "none"]
    assert rows[0].building_id == bid and rows[0].grid_code == grid
    assert rows[4].location_status == "unassigned" and rows[4].grid_code is None
    e = err(client.post(URL, json={"item": "safety.fire", "building_id": 987654}))
    assert e["fields"] == ["building_id"]


# -- listing -------------------------------------------------------------------------------

def test_list_filters_and_cursor(client, engine):
    snap = client.app.state.locator.snapshot
    pts = []
    for k in (0, 100, 200):
        c = snap.unit_geoms[k].representative_point()
        pts.append((c.x, c.y, snap.grid_codes[int(snap.unit_grid[k])]))
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    reps = []
    for i in range(9):
        x, y, _g = pts[i % 3]
        reps.append({"item": ("safety.fire", "dispute.neighbour", "crime.theft")[i % 3],
                     "lon": x, "lat": y, **({"reported_at": old} if i == 8 else {})})
    assert client.post(URL, json={"events": reps}).status_code == 201
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM event ORDER BY id"))]
        conn.execute(text("UPDATE event SET status = 'closed' WHERE id = :i"), {"i": ids[0]})
    g0 = pts[0][2]
    by_grid = client.get(URL, params={"grid": g0}).json()
    assert by_grid["count"] == 3 and {e["grid_code"] for e in by_grid["events"]} == {g0}
    assert client.get(URL, params={"status": "closed"}).json()["count"] == 1
    assert client.get(URL, params={"status": "reported,closed"}).json()["count"] == 9
    assert client.get(URL, params=[("status", "reported"), ("status", "closed")]
                      ).json()["count"] == 9
    assert client.get(URL, params={"category": "dispute"}).json()["count"] == 3   # class
    assert client.get(URL, params={"category": "crime.theft"}).json()["count"] == 3  # item
    assert client.get(URL, params={"category": "nothing"}).json()["count"] == 0
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert client.get(URL, params={"since": since}).json()["count"] == 8
    assert client.get(URL, params={"until": since}).json()["count"] == 1
    x, y, _ = pts[1]
    box = f"{x - 1e-5},{y - 1e-5},{x + 1e-5},{y + 1e-5}"
    in_box = client.get(URL, params={"bbox": box}).json()
    assert in_box["count"] == 3 and all(abs(e["lon"] - x) < 1e-9 for e in in_box["events"])
    # pagination: newest first, 4 per page, cursor until exhausted
    seen, cursor = [], None
    for _ in range(5):
        page = client.get(URL, params={"limit": 4, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    # bad filters
    assert err(client.get(URL, params={"status": "lost"}))["fields"] == ["status"]
    assert err(client.get(URL, params={"bbox": "1,2,3"}))["fields"] == ["bbox"]
    assert err(client.get(URL, params={"bbox": "5,5,1,1"}))["fields"] == ["bbox"]
    assert err(client.get(URL, params={"limit": 0}))["fields"] == ["limit"]
    assert err(client.get(URL, params={"since": "yesterday"}))["fields"] == ["since"]


# -- bad input -----------------------------------------------------------------------------

def post_raw(client, body: str | bytes, **headers):
    return client.post(URL, content=body, headers={"content-type": "application/json",
                                                     **headers})


def test_nan_infinity_and_non_numbers(client, engine, inside):
    lon, lat, _u, _g = inside
    e = err(post_raw(client, f'{{"item": "safety.fire", "lon": NaN, "lat": {lat}}}'))
    assert e["fields"] == ["lon"] and "finite" in e["details"][0]["reason"]
    e = err(post_raw(client, f'{{"item": "safety.fire", "lon": {lon}, "lat": Infinity}}'))
    assert e["fields"] == ["lat"] and "finite" in e["details"][0]["reason"]
    e = err(post_raw(client, f'{{"item": "safety.fire", "lon": {lon}, "lat": -Infinity}}'))
    assert e["fields"] == ["lat"]
    e = err(client.post(URL, json={"item": "safety.fire", "lon": "east", "lat": lat}))
    assert e["fields"] == ["lon"] and "number" in e["details"][0]["reason"]
    e = err(client.post(URL, json={"item": "safety.fire", "lon": [1], "lat": lat}))
    assert e["fields"] == ["lon"]
    assert count(engine) == 0


def test_out_of_range_and_swapped(client, engine, inside):
    lon, lat, _u, _g = inside
    e = err(client.post(URL, json={"item": "safety.fire", "lon": 181.0, "lat": lat}))
    assert e["fields"] == ["lon"] and e["code"] == "out_of_range"
    e = err(client.post(URL, json={"item": "safety.fire", "lon": lon, "lat": 95.5}))
    assert e["fields"] == ["lat"] and "range" in e["details"][0]["reason"]
    e = err(client.post(URL, json={"item": "safety.fire", "lon": lat, "lat": lon}))
    assert e["code"] == "swapped_coordinates" and e["fields"] == ["lon", "lat"]
    assert "swapped" in e["details"][0]["reason"]
    # a point in nowhere is not "swapped": it is stored unassigned
    r = client.post(URL, json={"item": "safety.fire", "lon": 10.0, "lat": 10.0})
    assert r.status_code == 201 and r.json()["location"]["status"] == "unassigned"
    assert count(engine) == 1


def test_unknown_item_datum_field_and_half_coordinates(client, engine, inside):
    lon, lat, _u, _g = inside
    e = err(client.post(URL, json={"item": "safety.nope", "lon": lon, "lat": lat}))
    assert e["fields"] == ["item"] and e["code"] == "unknown_item"
    e = err(client.post(URL, json={"item": "safety.fire", "lon": lon, "lat": lat,
                                   "crs": "epsg:3857"}))
    assert e["fields"] == ["crs"] and e["code"] == "unknown_datum"
    e = err(client.post(URL, json={"item": "safety.fire", "lon": lon}))
    assert e["fields"] == ["lat"] and e["code"] == "missing_coordinate"
    e = err(client.post(URL, json={"item": "safety.fire", "lat": lat}))
    assert e["fields"] == ["lon"]
    e = err(client.post(URL, json={"item": "safety.fire", "lon": lon, "lat": lat, "colour": 1}))
    assert e["fields"] == ["colour"]
    e = err(client.post(URL, json={"lon": lon, "lat": lat}))
    assert e["fields"] == ["item"]
    e = err(client.post(URL, json={"item": "safety.fire", "source": "pigeon"}))
    assert e["fields"] == ["source"]
    e = err(client.post(URL, json={"item": "safety.fire",
                                   "reported_at": (datetime.now(UTC) + timedelta(days=1))
                                   .isoformat()}))
    assert e["fields"] == ["reported_at"]
    e = err(client.post(URL, json={"events": [{"item": "safety.fire"}], "colour": 1}))
    assert e["fields"] == ["colour"]
    assert count(engine) == 0


def test_malformed_json_and_wrong_shapes(client, engine):
    e = err(post_raw(client, '{"item": "safety.fire", "lon": 120.'))
    assert e["fields"] == ["body"] and "JSON" in e["details"][0]["reason"]
    assert err(post_raw(client, b"\xff\xfe"))["fields"] == ["body"]
    assert err(post_raw(client, "42"))["fields"] == ["body"]
    assert err(post_raw(client, '{"events": 5}'))["fields"] == ["events"]
    assert err(post_raw(client, "[]"))["fields"] == ["events"]
    assert err(post_raw(client, '["x"]'))["fields"] == ["events[0]"]
    assert count(engine) == 0


def test_bad_event_in_batch_stores_nothing(client, engine, inside):
    lon, lat, _u, _g = inside
    client.post(URL, json={"item": "safety.fire", "lon": lon, "lat": lat})
    before = (count(engine), count(engine, "event_history"))
    good = {"item": "safety.fire", "lon": lon, "lat": lat}
    for bad, field in (({"item": "nope", "lon": lon, "lat": lat}, "events[2].item"),
                       ({"item": "safety.fire", "lon": 200.0, "lat": lat}, "events[2].lon"),
                       ({"item": "safety.fire", "lon": lon, "lat": lat, "crs": "x"},
                        "events[2].crs"),
                       ({"item": "safety.fire", "lon": "x", "lat": lat}, "events[2].lon"),
                       ({"item": "safety.fire", "building_id": 424242},
                        "events[2].building_id")):
        e = err(client.post(URL, json={"events": [good, good, bad, good]}))
        assert field in e["fields"], (field, e)
        assert (count(engine), count(engine, "event_history")) == before
    # NaN inside a batch, sent raw
    raw = (json.dumps({"events": [good]})[:-2]
           + f', {{"item": "safety.fire", "lon": NaN, "lat": {lat}}}]}}')
    e = err(post_raw(client, raw))
    assert e["fields"] == ["events[1].lon"]
    assert (count(engine), count(engine, "event_history")) == before


def test_oversized_batch_and_body(settings, clean_db, demo_district, inside):
    lon, lat, _u, _g = inside
    small = settings.model_copy(update={"max_batch": 3, "max_body_bytes": 2048,
                                        "auth_required": False})
    app = create_app(small, listen=False)
    with TestClient(app) as c:
        rep = {"item": "safety.fire", "lon": lon, "lat": lat}
        e = err(c.post(URL, json={"events": [rep] * 4}))
        assert e["fields"] == ["events"] and e["code"] == "batch_too_large" and "3" in e["message"]
        assert c.post(URL, json={"events": [rep] * 3}).status_code == 201
        e = err(c.post(URL, json={**rep, "description": "x" * 3000}))
        assert e["fields"] == ["body"] and e["code"] == "body_too_large"
        # a streamed body (no content-length) is cut off as well
        def chunks():
            yield b'{"item": "safety.fire", "description": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'
        r = c.post(URL, content=chunks(), headers={"content-type": "application/json"})
        assert err(r)["code"] == "body_too_large"
    assert count(clean_db) == 3


def test_naive_times_are_china_standard_time(client, inside):
    """reported_at and since/until without a zone are all UTC+8, as phones in China send them."""
    lon, lat, _u, _g = inside
    r = client.post(URL, json={"item": "safety.fire", "lon": lon, "lat": lat,
                               "reported_at": "2026-05-01T10:00:00"})
    assert r.status_code == 201
    got = client.get(f"{URL}/{r.json()['id']}").json()
    assert datetime.fromisoformat(got["reported_at"]) == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    assert client.get(URL, params={"since": "2026-05-01T09:30:00"}).json()["count"] == 1
    assert client.get(URL, params={"since": "2026-05-01T10:30:00"}).json()["count"] == 0
    assert client.get(URL, params={"until": "2026-05-01T10:00:01"}).json()["count"] == 1
    assert client.get(URL, params={"since": "2026-05-01T02:30:00Z"}).json()["count"] == 0
