"""OGC API – Features at /ogc: landing page, conformance, collections, items with paging,
CRSs, bbox, datetime, CQL2 filters, the area rule and the errors the standard prescribes."""

from __future__ import annotations

import base64

import pytest
from support.workflow import G1, G_OTHER_COMMUNITY, bearer, report

COMMUNITY = "320508001001"   # holds G1 and G2
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"


@pytest.fixture()
def events(client, engine):
    """Two events in the caller's community, one in another community."""
    loc = client.app.state.locator
    return [report(engine, loc, "health.sanitation", G1),
            report(engine, loc, "safety.fire", G1, offset_m=20),
            report(engine, loc, "health.sanitation", G_OTHER_COMMUNITY)]


def test_landing_page_links_the_openapi_document_conformance_and_data(client) -> None:
    """What QGIS and GDAL look for first."""
    links = {x["rel"]: x for x in client.get("/ogc").json()["links"]}
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["data"]["href"].endswith("/ogc/collections")
    doc = client.get("/ogc/api")
    assert doc.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    limit = next(p for p in doc.json()["paths"]["/collections/{collectionId}/items"]["get"]
                 ["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000 and limit["schema"]["default"] == 100
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf


def test_collections_list_every_layer_with_its_crss(client) -> None:
    """Streets to patrol tracks, each with CRS84, EPSG:4326, EPSG:4490 and EPSG:3857."""
    body = client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["streets", "communities", "grids", "units", "buildings", "cameras",
                   "events", "patrol_tracks", "draft_grids", "draft_units"]
    grids = body["collections"][2]
    assert "http://www.opengis.net/def/crs/EPSG/0/4490" in grids["crs"]
    assert len(grids["extent"]["spatial"]["bbox"][0]) == 4


def test_items_page_with_next_links_until_every_grid_was_read(client) -> None:
    """numberMatched, numberReturned and rel=next walk the 32 grids in pages of 10."""
    url, seen = "/ogc/collections/grids/items?limit=10", []
    while url:
        body = client.get(url).json()
        assert body["numberMatched"] == 32
        seen += [f["id"] for f in body["features"]]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert len(seen) == 32 == len(set(seen))


def test_epsg_4326_answers_latitude_first_and_3857_in_metres(client) -> None:
    """Part 2: the axis order of the CRS asked for, and Content-Crs says which."""
    plain = client.get("/ogc/collections/grids/items/" + G1).json()
    lon, lat = plain["geometry"]["coordinates"][0][0][0]
    r = client.get(f"/ogc/collections/grids/items/{G1}?crs={EPSG4326}")
    assert r.headers["content-crs"] == f"<{EPSG4326}>"
    assert r.json()["geometry"]["coordinates"][0][0][0] == pytest.approx([lat, lon])
    x, y = client.get(f"/ogc/collections/grids/items/{G1}?crs={EPSG3857}").json()[
        "geometry"]["coordinates"][0][0][0]
    assert 1.3e7 < x < 1.4e7 and 3.5e6 < y < 3.8e6


def test_bbox_in_crs84_and_in_epsg_4326_pick_the_same_grids(client) -> None:
    """A small box around one grid's corner, in both axis orders."""
    lon, lat = client.get("/ogc/collections/grids/items/" + G1).json()[
        "geometry"]["coordinates"][0][0][0]
    box = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"
    a = client.get(f"/ogc/collections/grids/items?bbox={box}").json()
    flipped = f"{lat - 1e-4},{lon - 1e-4},{lat + 1e-4},{lon + 1e-4}"
    b = client.get(f"/ogc/collections/grids/items?bbox={flipped}&bbox-crs={EPSG4326}").json()
    assert G1 in [f["id"] for f in a["features"]]
    assert sorted(f["id"] for f in a["features"]) == sorted(f["id"] for f in b["features"])
    assert a["numberMatched"] < 32


def test_events_only_in_the_callers_area_even_by_id(client, engine, events) -> None:
    """A community dispatcher reads its two events; the third answers 404 as if absent."""
    h = bearer(engine, "community_dispatcher", COMMUNITY)
    body = client.get("/ogc/collections/events/items", headers=h).json()
    assert sorted(int(f["id"]) for f in body["features"]) == sorted(events[:2])
    assert client.get(f"/ogc/collections/events/items/{events[2]}", headers=h).status_code == 404
    assert client.get("/ogc/collections/events/items").json()["numberMatched"] == 3


def test_basic_auth_with_the_token_as_password_reads_like_a_bearer(client, engine,
                                                                   events) -> None:
    """What QGIS sends when its authentication is set to basic."""
    token = bearer(engine, "community_dispatcher", COMMUNITY)["Authorization"][7:]
    basic = base64.b64encode(f"qgis:{token}".encode()).decode()
    r = client.get("/ogc/collections/events/items",
                   headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200 and r.json()["numberMatched"] == 2
    wrong = base64.b64encode(b"qgis:nope").decode()
    assert client.get("/ogc/collections/events/items",
                      headers={"Authorization": f"Basic {wrong}"}).status_code == 401


def test_datetime_and_cql2_filters_narrow_the_events(client, events) -> None:
    """An interval, a CQL2 comparison and a spatial predicate."""
    assert client.get("/ogc/collections/events/items?datetime=2000-01-01/2000-12-31"
                      ).json()["numberMatched"] == 0
    assert client.get("/ogc/collections/events/items?datetime=2000-01-01T00:00:00Z/.."
                      ).json()["numberMatched"] == 3
    r = client.get("/ogc/collections/events/items",
                   params={"filter": "item_code = 'safety.fire'"}).json()
    assert [int(f["id"]) for f in r["features"]] == [events[1]]
    lon, lat = r["features"][0]["geometry"]["coordinates"]
    poly = (f"POLYGON(({lon - 1e-4} {lat - 1e-4},{lon + 1e-4} {lat - 1e-4},"
            f"{lon + 1e-4} {lat + 1e-4},{lon - 1e-4} {lat + 1e-4},{lon - 1e-4} {lat - 1e-4}))")
    near = client.get("/ogc/collections/events/items",
                      params={"filter": f"S_INTERSECTS(geometry, {poly})"}).json()
    assert [int(f["id"]) for f in near["features"]] == [events[1]]
    assert client.get("/ogc/collections/events/items?item_code=health.sanitation"
                      ).json()["numberMatched"] == 2


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/ogc/collections/nope/items", 404, None),
    ("/ogc/collections/grids/items?crs=EPSG:9999", 400, "crs"),
    ("/ogc/collections/grids/items?bbox=1,2,3", 400, "bbox"),
    ("/ogc/collections/grids/items?bbox=a,b,c,d", 400, "bbox"),
    ("/ogc/collections/grids/items?filter=code%20%3D%3D%3D%20'x'", 400, "filter"),
    ("/ogc/collections/grids/items?filter=secret%20%3D%201", 400, "filter"),
    ("/ogc/collections/grids/items?datetime=yesterday", 400, "datetime"),
    ("/ogc/collections/grids/items?colour=red", 400, "colour"),
    ("/ogc/collections/grids/items?limit=abc", 400, "limit"),
])
def test_bad_parameters_get_the_status_the_standard_prescribes(client, url, status,
                                                                field) -> None:
    """400 naming the parameter (404 for an unknown collection)."""
    r = client.get(url)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["error"]["details"][0]["field"] == field


def test_a_limit_over_the_maximum_gives_the_maximum(client) -> None:
    """Part 1: not an error; the page holds at most the maximum."""
    body = client.get("/ogc/collections/units/items?limit=50000").json()
    assert body["numberReturned"] == 288 and body["numberMatched"] == 288


def test_collections_need_a_token(client) -> None:
    """The landing page is public; the data is not."""
    client.headers.pop("Authorization")
    assert client.get("/ogc").status_code == 200
    assert client.get("/ogc/collections/grids/items").status_code == 401
