"""/api/v1/resident: items, area map, reports with photos (multipart), status, points; no token;
refusals in Chinese with stable codes; phone numbers masked in the staff's event reads."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from gis.errors import Unavailable
from wangge.app import create_app

BASE = "/api/v1/resident"
PHONE = "13812345678"
LON, LAT = 120.603, 31.3095  # inside the generated district
HAN = re.compile(r"[\u4e00-\u9fff]")


def _png(size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def public(settings, demo_district, api):
    """A client of a fresh app with no token (residents have none), small limits."""
    s = settings.model_copy(update={"resident_per_hour_per_client": 3,
                                    "resident_per_day_per_phone": 2})
    with TestClient(create_app(s, listen=False)) as client:
        client.app.state.locator.refresh(force=True)
        yield client


def _post(client, photos: list[tuple[str, bytes, str]] = (), **form):
    data = {"item": "safety.fire", "description": "楼道里电动车充电", "lon": str(LON),
            "lat": str(LAT), "phone": PHONE} | form
    files = [("photo", p) for p in photos]
    return client.post(f"{BASE}/reports", data={k: v for k, v in data.items() if v is not None},
                       files=files or None)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _refused(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and HAN.search(err["message"]), err
    return err


def test_items_are_grouped_by_class_with_chinese_names(public):
    r = public.get(f"{BASE}/items")
    assert r.status_code == 200
    classes = r.json()["classes"]
    safety = next(c for c in classes if c["code"] == "safety")
    assert safety["name"] == "安全隐患" and safety["name_en"]
    fire = next(i for i in safety["items"] if i["code"] == "safety.fire")
    assert fire == {"code": "safety.fire", "name": "消防隐患", "name_en": fire["name_en"]}
    assert "default_level" not in fire


def test_area_map_is_geojson_of_outlines_without_people(public):
    r = public.get(f"{BASE}/area")
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    levels = [f["properties"]["level"] for f in fc["features"]]
    assert levels.count("district") == 1 and levels.count("grid") == 32
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in fc["features"])
    assert all(set(f["properties"]) == {"level", "name"} for f in fc["features"])


def test_report_with_a_photo_then_its_status_page(public, engine):
    r = _post(public, photos=[("p.png", _png(), "image/png")])
    assert r.status_code == 201, r.text
    got = r.json()
    assert set(got) == {"tracking_code", "status", "status_label", "located", "photos",
                        "message"}
    assert got["photos"] == 1 and got["located"] is True and got["status_label"] == "已提交，待受理"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT a.uploaded_by, a.step, e.source FROM attachment a "
                                "JOIN event e ON e.id = a.event_id")).one()
    assert tuple(row) == ("resident", "report", "resident")
    st = public.get(f"{BASE}/reports/{got['tracking_code']}")
    assert st.status_code == 200
    body = st.json()
    assert body["status"] == "reported" and body["photos"] == 1
    assert body["phone"] == "138****5678" and PHONE not in st.text
    assert body["item_name"] == "消防隐患"
    assert body["reported_at_text"].endswith("(北京时间)")
    assert body["reported_at"].endswith("+08:00")
    assert [h["label"] for h in body["history"]] == ["提交上报"]


def test_unknown_code_is_404(public):
    _refused(public.get(f"{BASE}/reports/ABCDEFGHJ"), 404, "report_not_found")


@pytest.mark.parametrize(("form", "code"), [
    ({"lon": None, "lat": None}, "location_required"),
    ({"item": "nothing.like.this"}, "unknown_item"),
    ({"phone": "555"}, "bad_phone"),
])
def test_bad_reports_are_refused_in_chinese(public, engine, form, code):
    _refused(_post(public, **form), 422, code)
    assert _count(engine, "event") == 0


def test_a_photo_too_large_stores_nothing(settings, demo_district, api, engine):
    s = settings.model_copy(update={"max_photo_bytes": 1024})
    with TestClient(create_app(s, listen=False)) as client:
        client.app.state.locator.refresh(force=True)
        big = _png(400)
        assert len(big) > 1024
        err = _refused(_post(client, photos=[("big.png", big, "image/png")]), 422,
                       "photo_too_large")
    assert "big.png" in err["message"]
    assert _count(engine, "event") == 0 and _count(engine, "resident_report") == 0


def test_not_an_image_stores_nothing(public, engine):
    _refused(_post(public, photos=[("x.png", b"not an image at all" * 10, "image/png")]), 422,
             "not_an_image")
    assert _count(engine, "event") == 0


class _BrokenStore:
    """A media store that is down."""

    def put(self, data: bytes) -> str:
        raise Unavailable("媒体存储不可用 (the media store is unreachable)",
                          code="media_unavailable")


def test_a_media_outage_leaves_no_half_report(public, engine):
    public.app.state.media = _BrokenStore()
    r = _post(public, photos=[("p.png", _png(), "image/png")])
    assert r.status_code == 503
    assert _count(engine, "event") == 0 and _count(engine, "resident_report") == 0


def test_rate_limits_answer_429(public, engine):
    for _ in range(2):
        assert _post(public).status_code == 201
    _refused(_post(public), 429, "too_many_reports")  # the phone: 2 a day
    assert _post(public, phone=None).status_code == 201
    _refused(_post(public, phone=None), 429, "too_many_reports")  # the address: 3 an hour
    assert _count(engine, "resident_report") == 3


def test_points_need_the_phone_and_one_of_its_codes(public, api):
    code = _post(public).json()["tracking_code"]
    eid = _event_id(api, code)
    assert api.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"}).status_code \
        in (200, 201)
    r = public.get(f"{BASE}/points", params={"phone": PHONE, "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "138****5678" and r.json()["balance"] == 10
    wrong = public.get(f"{BASE}/points", params={"phone": "13900000000", "code": code})
    unknown = public.get(f"{BASE}/reports/ZZZZZZZZZ")
    _refused(wrong, 404, "report_not_found")
    assert wrong.json() == unknown.json()


def _event_id(api, code: str) -> int:
    engine = api.app.state.engine
    with engine.connect() as conn:
        return conn.execute(text("SELECT event_id FROM resident_report WHERE tracking_code = :c"),
                            {"c": code}).scalar_one()


def test_staff_read_the_phone_masked(public, api):
    code = _post(public).json()["tracking_code"]
    eid = _event_id(api, code)
    r = api.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"})
    assert PHONE not in r.text
    detail = api.get(f"/api/v1/events/{eid}")
    assert detail.status_code == 200
    assert detail.json()["reporter"] == "138****5678"
    assert detail.json()["history"][0]["actor"] == "138****5678"
    assert PHONE not in detail.text
    listed = api.get("/api/v1/events")
    assert PHONE not in listed.text and listed.json()["count"] == 1
