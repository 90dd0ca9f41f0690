"""Open311 GeoReport v2 at /open311/v2: services, a request's round trip, filters, XML, errors,
api keys and the area; every answer checked against the GeoReport v2 JSON Schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
import support.territory as T
from sqlalchemy import text
from support.open311_schema import check
from support.workflow import CENTRE, G1, G_OTHER_STREET, clear_workflow, grid_point

from gis.access import auth
from gis.clock import CST
from gis.geo.datum import wgs84_to_gcj02
from gis.workflow import transitions

BASE = "/open311/v2"


@pytest.fixture()
def client(api, demo_district, engine, owner_engine):
    """The API on the demo district, no token in its headers, no workflow rows."""
    clear_workflow(owner_engine)
    api.app.state.locator.refresh(force=True)
    api.headers.pop("Authorization", None)  # a key is given per request
    return api


def _key(engine, role: str, area: str | None = None, name: str = "", worker=None) -> str:
    """A new token."""
    return auth.create_token(engine, role, area, worker, name)["token"]


@pytest.fixture()
def hotline(engine) -> str:
    """The 12345 hotline's key: a district-centre script token."""
    return _key(engine, "district_centre", name="12345-hotline")


@pytest.fixture()
def street_key(engine) -> str:
    """A street's own system (its area: the street of G1)."""
    return _key(engine, "street_dispatcher", G1[:9], name="street-system")


def _events(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event")).scalar_one()


def _post(client, key: str, fmt: str = ".json", **fields):
    """POST requests, form-encoded as the spec has it."""
    return client.post(f"{BASE}/requests{fmt}", data={"api_key": key, **fields})


def _post_at(client, engine, key: str, grid: str = G1, item: str = "safety.fire",
             **fields) -> dict:
    """Post a request at a point of ``grid``; the checked answer's one element."""
    lon, lat = grid_point(engine, grid)
    r = _post(client, key, service_code=item, lat=str(lat), long=str(lon), **fields)
    assert r.status_code == 200, r.text
    return check("posted", r.json())[0]


def _get(client, path: str, key: str | None = None, **params):
    """GET an Open311 path with the api_key parameter."""
    if key is not None:
        params["api_key"] = key
    return client.get(f"{BASE}/{path}", params=params)


def _requests(client, key: str, **params) -> list[dict]:
    """GET requests.json, checked."""
    r = _get(client, "requests.json", key, **params)
    assert r.status_code == 200, r.text
    return check("requests", r.json())


def _error(r, status: int, *words: str) -> str:
    """The spec's error list of a refusal: its status, code and a description naming
    ``words``."""
    assert r.status_code == status, (r.status_code, r.text)
    errors = check("errors", r.json())
    assert errors[0]["code"] == status
    for w in words:
        assert w in errors[0]["description"], errors
    return errors[0]["description"]


def _xml(r) -> ET.Element:
    """The parsed XML answer (UTF-8 with its declaration)."""
    assert r.headers["content-type"].startswith("text/xml"), r.headers
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(r.content)


# -- discovery and services -----------------------------------------------------------------

def test_service_discovery_points_at_the_endpoint(client) -> None:
    doc = check("discovery", client.get("/open311/discovery.json").json())
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith(BASE) and "text/xml" in endpoint["formats"]
    assert client.get(endpoint["url"] + "/services.json").status_code == 200
    root = _xml(client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == endpoint["formats"]
    assert root.findtext("endpoints/endpoint/url") == endpoint["url"]


# -- services -------------------------------------------------------------------------------

def test_services_list_the_catalogue_with_chinese_names(client, engine) -> None:
    services = check("services", _get(client, "services.json").json())
    with engine.connect() as conn:
        active = conn.execute(text("SELECT count(*) FROM event_item WHERE active")).scalar_one()
    assert len(services) == active
    fire = next(s for s in services if s["service_code"] == "safety.fire")
    assert fire["service_name"] == "消防隐患" and fire["group"] == "安全隐患"
    assert fire["type"] == "realtime" and fire["metadata"] is True
    assert check("services", _get(client, "services").json()) == services


def test_services_in_xml(client) -> None:
    root = _xml(_get(client, "services.xml"))
    assert root.tag == "services"
    fire = next(s for s in root.findall("service") if s.findtext("service_code") == "safety.fire")
    assert fire.findtext("service_name") == "消防隐患"
    assert fire.findtext("metadata") == "true" and fire.findtext("type") == "realtime"


def test_service_definition_offers_the_datum_of_lat_long(client) -> None:
    d = check("service_definition", _get(client, "services/safety.fire.json").json())
    assert d["service_code"] == "safety.fire"
    crs = d["attributes"][0]
    assert crs["code"] == "crs" and crs["datatype"] == "singlevaluelist"
    assert {v["key"] for v in crs["values"]} == {"wgs84", "gcj02", "bd09", "cgcs2000"}
    root = _xml(_get(client, "services/safety.fire.xml"))
    assert root.tag == "service_definition"
    keys = [v.findtext("key") for v in root.iter("value")]
    assert "gcj02" in keys and root.findtext("attributes/attribute/code") == "crs"


def test_an_unknown_service_is_404_in_the_spec_s_error_list(client) -> None:
    _error(_get(client, "services/no.such.json"), 404, "no.such")
    root = _xml(_get(client, "services/no.such.xml"))
    assert root.tag == "errors" and root.findtext("error/code") == "404"


# -- a request's round trip -----------------------------------------------------------------

def test_a_posted_request_reads_back_with_the_spec_s_fields(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    posted = _post_at(client, engine, hotline, description="楼道电动车充电",
                      media_url="https://example.org/p/1.jpg", account_id="A-7")
    assert G1 in posted["service_notice"] and posted["account_id"] == "A-7"
    rid = posted["service_request_id"]
    got = check("requests", _get(client, f"requests/{rid}.json", hotline).json())
    assert len(got) == 1
    req = got[0]
    assert (req["service_request_id"], req["status"], req["service_code"]) == (
        rid, "open", "safety.fire")
    assert req["service_name"] == "消防隐患" and req["description"] == "楼道电动车充电"
    assert abs(req["lat"] - lat) < 1e-9 and abs(req["long"] - lon) < 1e-9
    assert req["media_url"] == "https://example.org/p/1.jpg"
    assert req["requested_datetime"].endswith("+08:00")
    assert req["updated_datetime"].endswith("+08:00")
    assert req["expected_datetime"].endswith("+08:00")
    assert req["status_notes"].startswith("已上报") and req["agency_responsible"]
    with engine.connect() as conn:
        ev = conn.execute(text("SELECT source, grid_code, status FROM event WHERE id = :i"),
                          {"i": int(rid)}).one()
    assert tuple(ev) == ("hotline", G1, "reported")
    token = check("tokens", _get(client, f"tokens/{posted['token']}.json", hotline).json())
    assert token == [{"service_request_id": rid, "token": posted["token"]}]


def test_a_request_in_gcj02_lands_where_it_is(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    glon, glat = wgs84_to_gcj02(lon, lat)
    r = _post(client, hotline, service_code="safety.fire", lat=str(glat), long=str(glon),
              **{"attribute[crs]": "gcj02"})
    rid = check("posted", r.json())[0]["service_request_id"]
    req = _requests(client, hotline, service_request_id=rid)[0]
    assert abs(req["lat"] - lat) < 1e-5 and abs(req["long"] - lon) < 1e-5


def test_a_request_by_address_or_building_is_located_there(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    bid = T.insert_building(engine, "B-40", "40 Canal Street", lon, lat, d=0.00002)
    by_id = check("posted", _post(client, hotline, service_code="safety.fire",
                                  address_id="B-40").json())[0]
    by_address = check("posted", _post(client, hotline, service_code="safety.fire",
                                       address_string="40 canal street").json())[0]
    for posted in (by_id, by_address):
        assert G1 in posted["service_notice"]
    req = _requests(client, hotline, service_request_id=by_id["service_request_id"])[0]
    assert req["address_id"] == str(bid) and abs(req["lat"] - lat) < 1e-4
    assert _requests(client, hotline, service_request_id=by_address["service_request_id"])[0][
        "address"] == "40 canal street"
    lost = check("posted", _post(client, hotline, service_code="safety.fire",
                                 address_string="1 Unknown Lane").json())[0]
    assert "未能定位" in lost["service_notice"]  # stored, for the centre to place by hand
    unknown = _post(client, hotline, service_code="safety.fire", address_id="B-404")
    _error(unknown, 400, "B-404")
    assert _events(engine) == 3


def test_a_second_report_nearby_is_flagged_as_a_possible_duplicate(client, engine,
                                                                  hotline) -> None:
    first = _post_at(client, engine, hotline)
    second = _post_at(client, engine, hotline)
    assert "重复" in second["service_notice"]
    assert first["service_request_id"] in second["service_notice"]
    assert "重复" not in first["service_notice"]


def test_a_json_body_and_a_retried_request_land_once(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    body = {"api_key": hotline, "service_code": "safety.fire", "lat": lat, "long": lon,
            "media_url": "https://example.org/p/2.jpg"}
    key = {"Idempotency-Key": "hotline-call-0001"}
    first = check("posted", client.post(f"{BASE}/requests.json", json=body, headers=key).json())
    again = check("posted", client.post(f"{BASE}/requests.json", json=body, headers=key).json())
    assert again[0]["service_request_id"] == first[0]["service_request_id"]
    assert _events(engine) == 1
    with engine.connect() as conn:
        channel = conn.execute(text("SELECT count(*) FROM event_history "
                                    "WHERE action = 'open311'")).scalar_one()
    assert channel == 1


def _close(engine, event_id: int) -> None:
    """Take an event round the closed loop to closed (as the district centre)."""
    for action in ("accept", "dispatch", "resolve", "close"):
        transitions.transition(engine, event_id, action, CENTRE, note=f"{action} 已办结")


def test_filters_by_date_and_status_follow_the_closed_loop(client, engine, hotline) -> None:
    a = _post_at(client, engine, hotline)["service_request_id"]
    b = _post_at(client, engine, hotline, item="crime.theft")["service_request_id"]
    now = datetime.now(CST)
    span = {"start_date": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
            "end_date": (now + timedelta(hours=1)).isoformat(timespec="seconds")}
    assert {r["service_request_id"] for r in _requests(client, hotline, **span)} == {a, b}
    assert _requests(client, hotline, status="closed", **span) == []
    _close(engine, int(a))
    closed = _requests(client, hotline, status="closed", **span)
    assert [r["service_request_id"] for r in closed] == [a]
    assert closed[0]["status"] == "closed" and closed[0]["status_notes"].startswith("已结案")
    assert "close 已办结" in closed[0]["status_notes"]
    assert [r["service_request_id"] for r in _requests(client, hotline, status="open")] == [b]
    both = _requests(client, hotline, status="open,closed", **span)
    assert {r["service_request_id"] for r in both} == {a, b}
    later = {"start_date": (now + timedelta(hours=1)).isoformat(timespec="seconds")}
    assert _requests(client, hotline, **later) == []
    earlier = {"end_date": (now - timedelta(hours=1)).isoformat(timespec="seconds")}
    assert _requests(client, hotline, **earlier) == []
    codes = _requests(client, hotline, service_code="crime.theft")
    assert [r["service_request_id"] for r in codes] == [b]
    ids = _requests(client, hotline, service_request_id=f"{a},{b}", status="open")
    assert {r["service_request_id"] for r in ids} == {a, b}  # ids: other filters ignored


def test_requests_in_xml(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    r = _post(client, hotline, fmt=".xml", service_code="safety.fire", lat=str(lat),
              long=str(lon))
    posted = _xml(r)
    assert posted.tag == "service_requests"
    rid = posted.findtext("request/service_request_id")
    assert rid and posted.findtext("request/token")
    root = _xml(_get(client, "requests.xml", hotline))
    reqs = root.findall("request")
    assert [q.findtext("service_request_id") for q in reqs] == [rid]
    assert reqs[0].findtext("status") == "open" and reqs[0].findtext("service_code") == \
        "safety.fire"
    assert abs(float(reqs[0].findtext("lat")) - lat) < 1e-9
    one = _xml(_get(client, f"requests/{rid}.xml", hotline))
    assert one.findtext("request/requested_datetime").endswith("+08:00")


# -- bad input: the spec's error, nothing stored --------------------------------------------

@pytest.mark.parametrize(("charset", "escaped"), [
    (None, False), (None, True), ("GBK", False), ("GBK", True)])
def test_chinese_in_a_form_reads_back_as_sent(client, engine, hotline, charset,
                                              escaped) -> None:
    """Form fields as curl sends them (raw bytes) or escaped, in UTF-8 or a named GBK."""
    from urllib.parse import quote_plus

    lon, lat = grid_point(engine, G1)
    enc = charset or "utf-8"
    pairs = {"api_key": hotline, "service_code": "safety.fire", "lat": str(lat),
             "long": str(lon), "description": "楼道堆放杂物", "first_name": "张"}
    body = "&".join(f"{k}={quote_plus(v, encoding=enc) if escaped else v}"
                    for k, v in pairs.items()).encode(enc)
    ctype = "application/x-www-form-urlencoded" + (f"; charset={charset}" if charset else "")
    r = client.post(f"{BASE}/requests.json", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    rid = check("posted", r.json())[0]["service_request_id"]
    got = _get(client, f"requests/{rid}.json", hotline).json()[0]
    assert got["description"] == "楼道堆放杂物"


def test_a_form_not_in_its_charset_is_400_and_stores_nothing(client, engine, hotline) -> None:
    body = f"api_key={hotline}&service_code=safety.fire&description=".encode() + "杂物".encode(
        "gbk")
    r = client.post(f"{BASE}/requests.json", content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    _error(r, 400, "utf-8", "charset")
    assert _events(engine) == 0


def test_a_request_without_a_location_is_400_and_stores_nothing(client, engine,
                                                                hotline) -> None:
    r = _post(client, hotline, service_code="safety.fire", description="no place")
    _error(r, 400, "location", "lat and long", "address_string")
    _error(_post(client, hotline, service_code="safety.fire", lat="31.3"), 400, "long")
    root = _xml(_post(client, hotline, fmt=".xml", service_code="safety.fire"))
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    assert "location" in root.findtext("error/description")
    assert _events(engine) == 0


def test_an_unknown_service_code_is_400_and_stores_nothing(client, engine, hotline) -> None:
    lon, lat = grid_point(engine, G1)
    r = _post(client, hotline, service_code="potholes", lat=str(lat), long=str(lon))
    _error(r, 400, "service_code", "potholes")
    _error(_post(client, hotline, lat=str(lat), long=str(lon)), 400, "service_code")
    bad = _post(client, hotline, service_code="safety.fire", lat="north", long=str(lon))
    _error(bad, 400, "lat")
    crs = _post(client, hotline, service_code="safety.fire", lat=str(lat), long=str(lon),
                **{"attribute[crs]": "osgb36"})
    _error(crs, 400, "attribute[crs]")
    assert _events(engine) == 0


def test_more_than_90_days_between_the_dates_is_400(client, hotline) -> None:
    r = _get(client, "requests.json", hotline, start_date="2026-01-01T00:00:00+08:00",
             end_date="2026-04-15T00:00:00+08:00")
    _error(r, 400, "end_date", "90")
    _error(_get(client, "requests.json", hotline, start_date="yesterday"), 400, "start_date")
    _error(_get(client, "requests.json", hotline, status="pending"), 400, "status")
    _error(_get(client, "requests.json", hotline, service_code="potholes"), 400, "potholes")


# -- api keys and the area --------------------------------------------------------------------

def test_only_an_integrating_system_s_key_is_taken(client, engine) -> None:
    lon, lat = grid_point(engine, G1)
    fields = {"service_code": "safety.fire", "lat": str(lat), "long": str(lon)}
    _error(client.post(f"{BASE}/requests.json", data=fields), 403, "api_key is required")
    _error(_post(client, "wg_not-a-token", **fields), 403, "api_key is not a valid token")
    worker = _key(engine, "grid_worker", G1, name="w")
    _error(_post(client, worker, **fields), 403, "integrating system")
    planner = _key(engine, "planner", name="p")
    _error(_post(client, planner, **fields), 403, "integrating system")
    _error(_get(client, "requests.json", worker), 403)
    _error(_get(client, "requests.json"), 403)
    assert _events(engine) == 0
    bearer = {"Authorization": "Bearer " + _key(engine, "district_centre", name="12345")}
    ok = client.post(f"{BASE}/requests.json", data=fields, headers=bearer)
    assert ok.status_code == 200 and check("posted", ok.json())


def test_a_key_reads_only_its_area(client, engine, hotline, street_key) -> None:
    inside = _post_at(client, engine, street_key)
    outside = _post_at(client, engine, hotline, grid=G_OTHER_STREET)
    mine = {r["service_request_id"] for r in _requests(client, street_key)}
    assert mine == {inside["service_request_id"]}
    rid = outside["service_request_id"]
    _error(_get(client, f"requests/{rid}.json", street_key), 404)
    assert _requests(client, street_key, service_request_id=rid) == []
    _error(_get(client, f"tokens/{outside['token']}.json", street_key), 404)
    everything = {r["service_request_id"] for r in _requests(client, hotline)}
    assert everything == {inside["service_request_id"], rid}


def test_a_database_outage_is_503_in_the_spec_s_error_list() -> None:
    from fastapi.testclient import TestClient

    from gis.settings import Settings
    from wangge.app import create_app

    down = Settings(database_url="postgresql://wangge@127.0.0.1:1/wangge", pool_timeout_s=1,
                    retry_after_s=7)
    with TestClient(create_app(down, listen=False), raise_server_exceptions=False) as c:
        r = c.get(f"{BASE}/services.json")
        _error(r, 503, "database is unreachable")
        assert r.headers["retry-after"] == "7"
        r = c.post(f"{BASE}/requests.xml", data={"api_key": "wg_x", "service_code": "safety.fire",
                                                 "lat": "31.3", "long": "120.6"})
        assert r.status_code == 503
        assert _xml(r).findtext("error/code") == "503"
