"""Vector tiles (MVT, ST_AsMVT) at /tiles/{layer}/{z}/{x}/{y}.pbf and their TileJSON: decoded
with mapbox-vector-tile and checked against PostGIS; events only in the caller's area."""

from __future__ import annotations

import base64
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, text
from support.workflow import G1, G_OTHER_COMMUNITY, bearer, grid_point, report

COMMUNITY = "320508001001"  # holds G1, not G_OTHER_COMMUNITY
EXTENT, MARGIN = 4096, 64 / 4096
MVT = "application/vnd.mapbox-vector-tile"
ACTIVE = "(SELECT id FROM generation WHERE status = 'active')"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile holding a point."""
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def decode(body: bytes) -> dict:
    """The tile's layers (y pointing down, as tile coordinates are stored)."""
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def features(client, layer: str, zxy: tuple[int, int, int], **kw) -> list[dict]:
    """The features of one layer's tile (none for an empty 204 tile)."""
    r = client.get(f"/tiles/{layer}/{zxy[0]}/{zxy[1]}/{zxy[2]}.pbf", **kw)
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204:
        assert r.content == b""
        return []
    assert r.headers["content-type"] == MVT
    return decode(r.content)[layer]["features"]


def in_tile(engine: Engine, sql: str, zxy: tuple[int, int, int], margin: float = MARGIN,
            **binds) -> list:
    """Rows of ``sql``, which names the tile's envelope in EPSG:4326 as ``env``."""
    env = "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :m), 4326)"
    with engine.connect() as conn:
        return conn.execute(text(sql.replace("{env}", env)),
                            {"z": zxy[0], "x": zxy[1], "y": zxy[2], "m": margin,
                             **binds}).all()


@pytest.fixture()
def objects(client, engine, owner_engine):
    """Three buildings and two cameras around G1's first unit."""
    lon, lat = grid_point(engine, G1)
    with owner_engine.begin() as conn:
        for i in range(3):
            conn.execute(text(
                "INSERT INTO building (source_id, name, floors, height_m, geom) VALUES (:s, :n, "
                ":f, :h, ST_Multi(ST_Expand(ST_Point(:x, :y, 4326), 0.00005)))"),
                {"s": f"b{i}", "n": f"{i + 1}号楼", "f": 6 + i, "h": 18.5 + 3 * i,
                 "x": lon + 0.0003 * i, "y": lat})
        for code, status in (("CAM-1", "online"), ("CAM-2", "fault")):
            conn.execute(text(
                "INSERT INTO camera (code, name, kind, status, direction_deg, geom) VALUES "
                "(:c, :c, 'dome', :s, 90, ST_Point(:x, :y, 4326))"),
                {"c": code, "s": status, "x": lon + 0.0002, "y": lat + 0.0001})
    return lon, lat


@pytest.fixture()
def events(client, engine):
    """Two events in G1 (community 320508001001) and one in another community."""
    loc = client.app.state.locator
    return [report(engine, loc, "health.sanitation", G1),
            report(engine, loc, "safety.fire", G1, offset_m=20),
            report(engine, loc, "health.sanitation", G_OTHER_COMMUNITY)]


@pytest.mark.parametrize(("layer", "table", "zoom", "props"), [
    ("grids", "grid", 14, ("code", "name", "community_code", "kind")),
    ("units", "unit", 16, ("code", "name", "grid_code")),
])
def test_a_territory_tile_holds_exactly_the_active_areas_intersecting_its_envelope(
        client, engine, layer, table, zoom, props) -> None:
    """Codes, properties and feature ids equal PostGIS's rows; clipped areas agree."""
    zxy = tile_of(*grid_point(engine, G1), zoom)
    feats = features(client, layer, zxy)
    cols = ", ".join(props)
    rows = in_tile(engine, f"SELECT id, {cols}, ST_Area(ST_Intersection(ST_Transform(geom, "
                   "3857), ST_Transform({env}, 3857))) FROM " + table + " WHERE generation_id = "
                   f"{ACTIVE} AND ST_Intersects(geom, {{env}})", zxy)
    assert len(rows) >= 2 and len(feats) == len(rows)
    got = {f["id"]: f for f in feats}
    side = 2 * 20037508.342789244 / (1 << zoom) / EXTENT  # metres of one tile unit
    for r in rows:
        f = got[r[0]]
        assert f["properties"] == dict(zip(props, r[1:-1], strict=True))
        assert _area(f["geometry"]) * side * side == pytest.approx(r[-1], rel=0.02, abs=side)


def _area(geometry: dict) -> float:
    """Area of a decoded (Multi)Polygon in tile units (shoelace; holes subtract)."""
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [
        geometry["coordinates"]]
    total = 0.0
    for rings in polys:
        for k, ring in enumerate(rings):
            pairs = zip(ring, ring[1:], strict=False)
            a = abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs) / 2)
            total += a if k == 0 else -a
    return total


def test_buildings_are_public_with_their_properties(client, engine, objects) -> None:
    """No token needed; id, name, floors and height as stored."""
    zxy = tile_of(*objects, 17)
    feats = features(client, "buildings", zxy, headers={"Authorization": ""})
    rows = in_tile(engine, "SELECT id, name, floors, height_m FROM building "
                   "WHERE ST_Intersects(geom, {env})", zxy)
    assert len(rows) == 3
    assert {f["id"]: f["properties"] for f in feats} == {
        r[0]: {"id": r[0], "name": r[1], "floors": r[2], "height_m": r[3]} for r in rows}


def test_cameras_need_a_token_and_carry_code_and_status(client, objects) -> None:
    """401 without a token; with one, both cameras and their status."""
    z, x, y = tile_of(*objects, 16)
    r = client.get(f"/tiles/cameras/{z}/{x}/{y}.pbf", headers={"Authorization": ""})
    assert r.status_code == 401 and r.json()["error"]["code"]
    feats = features(client, "cameras", (z, x, y))
    assert sorted((f["properties"]["code"], f["properties"]["status"]) for f in feats) == [
        ("CAM-1", "online"), ("CAM-2", "fault")]
    assert {f["properties"]["kind"] for f in feats} == {"dome"}


def _visible_in_tile(engine: Engine, prefix: str | None, zxy: tuple[int, int, int]) -> int:
    """Events of grids starting with ``prefix`` (None: all) inside the tile (no margin)."""
    return in_tile(engine, "SELECT count(*) FROM event WHERE geom IS NOT NULL AND "
                   "(CAST(:p AS text) IS NULL OR grid_code LIKE :p || '%') AND "
                   "ST_Intersects(geom, {env})", zxy, margin=0.0, p=prefix)[0][0]


@pytest.mark.parametrize("zoom", [9, 12, 14])
def test_low_zoom_event_bins_count_only_the_callers_events(client, engine, events,
                                                           zoom) -> None:
    """Below zoom 15: points with a count summing to the caller's events in the tile; the
    district centre's sum includes the other community's event."""
    zxy = tile_of(*grid_point(engine, G1), zoom)
    dispatcher = bearer(engine, "community_dispatcher", COMMUNITY)
    mine = features(client, "events", zxy, headers=dispatcher)
    assert all(set(f["properties"]) == {"count"} for f in mine)
    assert sum(f["properties"]["count"] for f in mine) == _visible_in_tile(
        engine, COMMUNITY, zxy) == 2
    everyone = features(client, "events", zxy)
    assert sum(f["properties"]["count"] for f in everyone) == _visible_in_tile(
        engine, None, zxy)


def test_bins_count_each_event_once_over_the_tiles_covering_the_district(
        client, engine) -> None:
    """One event in each grid: every tile's counts equal PostGIS's events in the tile, and
    the tiles covering the district at zooms 12 to 14 count each event exactly once."""
    loc = client.app.state.locator
    with engine.connect() as conn:
        codes = conn.execute(text(f"SELECT code FROM grid WHERE generation_id = {ACTIVE}")
                             ).scalars().all()
        w, s, e, n = conn.execute(text(
            f"SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM (SELECT "
            f"ST_Extent(geom)::geometry x FROM grid WHERE generation_id = {ACTIVE}) g")).one()
    for code in codes:
        report(engine, loc, "health.sanitation", code)
    for z in (12, 13, 14):
        _z, x0, y0 = tile_of(w, n, z)
        _z, x1, y1 = tile_of(e, s, z)
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        counts = {t: sum(f["properties"]["count"] for f in features(client, "events", t))
                  for t in tiles}
        assert counts == {t: _visible_in_tile(engine, None, t) for t in tiles}
        assert sum(counts.values()) == len(codes)


def test_high_zoom_events_are_individual_and_only_the_callers(client, engine, events) -> None:
    """From zoom 15: id, item and status of each of the caller's events; the other
    community's event is absent from its tile for the dispatcher, present for the centre."""
    dispatcher = bearer(engine, "community_dispatcher", COMMUNITY)
    zxy = tile_of(*grid_point(engine, G1), 15)
    feats = features(client, "events", zxy, headers=dispatcher)
    assert sorted(f["id"] for f in feats) == sorted(events[:2])
    assert {f["properties"]["item_code"] for f in feats} == {"health.sanitation", "safety.fire"}
    assert {f["properties"]["status"] for f in feats} == {"reported"}
    other = tile_of(*grid_point(engine, G_OTHER_COMMUNITY), 17)
    assert events[2] not in [f["id"] for f in features(client, "events", other,
                                                        headers=dispatcher)]
    assert events[2] in [f["id"] for f in features(client, "events", other)]


def test_a_department_sees_in_tiles_only_the_events_it_was_notified_of(client, engine,
                                                                       events) -> None:
    """The fire event dispatched (fire notified): the fire department's tiles hold it alone,
    individually and in the bins; the police department's hold nothing."""
    for action in ("accept", "dispatch"):
        r = client.post(f"/api/v1/events/{events[1]}/transitions", json={"action": action})
        assert r.status_code == 200, r.text
    fire = bearer(engine, "department", department="fire")
    police = bearer(engine, "department", department="police")
    high = tile_of(*grid_point(engine, G1), 15)
    assert [f["id"] for f in features(client, "events", high, headers=fire)] == [events[1]]
    assert features(client, "events", high, headers=police) == []
    low = tile_of(*grid_point(engine, G1), 10)
    assert [f["properties"]["count"] for f in features(client, "events", low,
                                                       headers=fire)] == [1]


def test_event_tiles_take_the_token_from_a_header_never_the_url(client, engine,
                                                                events) -> None:
    """Basic auth (QGIS) works; a token as a query parameter is not read (401)."""
    token = bearer(engine, "community_dispatcher", COMMUNITY)["Authorization"][7:]
    z, x, y = tile_of(*grid_point(engine, G1), 15)
    basic = "Basic " + base64.b64encode(f"qgis:{token}".encode()).decode()
    assert len(features(client, "events", (z, x, y), headers={"Authorization": basic})) == 2
    r = client.get(f"/tiles/events/{z}/{x}/{y}.pbf?token={token}",
                   headers={"Authorization": ""})
    assert r.status_code == 401
    assert client.get("/tiles/events.json", headers={"Authorization": ""}).status_code == 401


def test_event_tiles_are_private_and_short_lived(client, engine, events) -> None:
    """private, max-age of seconds, Vary: Authorization; no shared cache keeps them."""
    z, x, y = tile_of(*grid_point(engine, G1), 12)
    r = client.get(f"/tiles/events/{z}/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private, max-age=")
    assert int(r.headers["cache-control"].rsplit("=", 1)[1]) <= 60
    assert r.headers["vary"] == "Authorization"


def test_territory_tiles_revalidate_until_a_boundary_changes(client, engine,
                                                             owner_engine) -> None:
    """Public with an ETag: If-None-Match gets 304; after a grid is renamed the same ETag
    gets the new tile with the new name and a new ETag."""
    z, x, y = tile_of(*grid_point(engine, G1), 14)
    url = f"/tiles/grids/{z}/{x}/{y}.pbf"
    first = client.get(url)
    assert first.headers["cache-control"].startswith("public, max-age=")
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    with owner_engine.begin() as conn:
        conn.execute(text(f"UPDATE grid SET name = '新名字' WHERE code = :c AND generation_id = "
                          f"{ACTIVE}"), {"c": G1})
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    names = {f["properties"]["code"]: f["properties"]["name"]
             for f in decode(changed.content)["grids"]["features"]}
    assert names[G1] == "新名字"


def test_building_tiles_carry_an_etag_of_their_content(client, objects) -> None:
    """Same bytes, same ETag (304 on revalidation); cameras' is private."""
    z, x, y = tile_of(*objects, 17)
    r = client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf")
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf",
                      headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    cams = client.get(f"/tiles/cameras/{z}/{x}/{y}.pbf")
    assert cams.headers["cache-control"].startswith("private, ") and cams.headers["etag"]


def test_empty_tiles_and_tiles_below_the_layers_minzoom_are_204(client, engine) -> None:
    """A tile over the Atlantic, and the grids at zoom 5 (minzoom 10): 204, no body."""
    _z, x, y = tile_of(*grid_point(engine, G1), 5)
    for url in ("/tiles/grids/14/7000/7000.pbf", f"/tiles/grids/5/{x}/{y}.pbf"):
        r = client.get(url)
        assert r.status_code == 204 and r.content == b""
        assert r.headers["cache-control"].startswith("public")


def test_tilejson_names_the_template_zooms_bounds_and_fields(client, engine) -> None:
    """TileJSON 3.0.0 per layer; bounds = the active district's extent."""
    body = client.get("/tiles/grids.json", headers={"Authorization": ""}).json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}.pbf")
    assert (body["minzoom"], body["maxzoom"]) == (10, 16)
    with engine.connect() as conn:
        ext = conn.execute(text(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                f"(SELECT ST_Extent(geom)::geometry e FROM district WHERE "
                                f"generation_id = {ACTIVE}) d")).one()
    assert body["bounds"] == pytest.approx(list(ext))
    layer = body["vector_layers"][0]
    assert layer["id"] == "grids"
    assert layer["fields"] == {"code": "String", "name": "String",
                               "community_code": "String", "kind": "String"}
    ev = client.get("/tiles/events.json").json()
    assert {"count", "id", "item_code", "status"} <= set(ev["vector_layers"][0]["fields"])
    assert ev["minzoom"] == 0


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/tiles/grids/3/8/0.pbf", 404, "tile_not_found"),     # x beyond 2^3
    ("/tiles/grids/3/0/8.pbf", 404, "tile_not_found"),     # y beyond 2^3
    ("/tiles/grids/23/0/0.pbf", 422, "invalid_input"),     # deeper than zoom 22
    ("/tiles/grids/-1/0/0.pbf", 422, "invalid_input"),
    ("/tiles/grids/a/0/0.pbf", 422, "invalid_input"),
    ("/tiles/roads/10/0/0.pbf", 404, "no_such_layer"),
    ("/tiles/roads.json", 404, "no_such_layer"),
])
def test_bad_tile_addresses_answer_the_project_error_body(client, path, status, code) -> None:
    """Out of the pyramid, not a number, an unknown layer: the error body naming it."""
    r = client.get(path)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
