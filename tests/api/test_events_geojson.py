"""GET /api/v1/events as GeoJSON: asked by Accept or f=geojson; same filters, scope and paging."""

from __future__ import annotations

from support.workflow import G1, G_OTHER_STREET, bearer, report

URL = "/api/v1/events"
GEOJSON = "application/geo+json"


def _store(client, engine) -> list[int]:
    """Three events in G1 (two fires, one theft) and one fire in another street; their ids."""
    loc = client.app.state.locator
    ids = [report(engine, loc, "safety.fire", G1), report(engine, loc, "crime.theft", G1),
           report(engine, loc, "safety.fire", G1, unit=G1 + "002")]
    ids.append(report(engine, loc, "safety.fire", G_OTHER_STREET))
    return ids


def _check_collection(body: dict) -> None:
    """The RFC 7946 shape of a FeatureCollection of events (WGS84 points)."""
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    for f in body["features"]:
        assert f["type"] == "Feature" and isinstance(f["id"], int)
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert (lon, lat) == (f["properties"]["lon"], f["properties"]["lat"])
        assert 73 < lon < 136 and 3 < lat < 54
        assert f["properties"]["id"] == f["id"]


def test_accept_header_answers_a_feature_collection_of_the_listing(client, engine) -> None:
    ids = _store(client, engine)
    plain = client.get(URL).json()
    r = client.get(URL, headers={"Accept": GEOJSON})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    _check_collection(body)
    assert [f["id"] for f in body["features"]] == [e["id"] for e in plain["events"]]
    assert sorted(f["id"] for f in body["features"]) == sorted(ids)
    first = next(f for f in body["features"] if f["id"] == plain["events"][0]["id"])
    assert first["properties"]["item_code"] == plain["events"][0]["item_code"]
    assert first["properties"]["grid_code"] == plain["events"][0]["grid_code"]


def test_f_geojson_keeps_the_filters(client, engine) -> None:
    _store(client, engine)
    r = client.get(URL, params={"f": "geojson", "category": "safety.fire", "grid": G1})
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    _check_collection(body)
    assert len(body["features"]) == 2
    assert {f["properties"]["item_code"] for f in body["features"]} == {"safety.fire"}
    assert {f["properties"]["grid_code"] for f in body["features"]} == {G1}


def test_f_json_wins_over_the_accept_header_and_no_ask_stays_json(client, engine) -> None:
    _store(client, engine)
    r = client.get(URL, params={"f": "json"}, headers={"Accept": GEOJSON})
    assert r.headers["content-type"].startswith("application/json")
    assert "events" in r.json()
    assert "events" in client.get(URL).json()


def test_pages_follow_the_next_link_to_every_event(client, engine) -> None:
    ids = _store(client, engine)
    seen: list[int] = []
    url, params = URL, {"f": "geojson", "limit": 3}
    for _page in range(5):
        body = client.get(url, params=params).json()
        _check_collection(body)
        seen += [f["id"] for f in body["features"]]
        assert {"self"} <= {link["rel"] for link in body["links"]}
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            assert body["next_cursor"] is None
            break
        assert f"cursor={body['next_cursor']}" in nxt[0] and "f=geojson" in nxt[0]
        url, params = nxt[0], None
    assert seen == sorted(ids, reverse=True)


def test_the_area_scope_holds_for_geojson(client, engine) -> None:
    ids = _store(client, engine)
    community = bearer(engine, "community_dispatcher", area=G1[:12], name="c1")
    body = client.get(URL, params={"f": "geojson"}, headers=community).json()
    _check_collection(body)
    assert sorted(f["id"] for f in body["features"]) == sorted(ids[:3])


def test_a_bad_format_is_refused_naming_f(client) -> None:
    r = client.get(URL, params={"f": "kml"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "f"
