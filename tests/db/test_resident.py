"""Resident reports: tracking codes, rate limits per address and phone, points by phone + code,
phone numbers masked wherever staff read them."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from sqlalchemy import text

from gis.access.auth import Principal
from gis.errors import InvalidInput, NotFound, TooMany
from gis.intake import events, resident
from gis.intake.resident import ResidentReport
from gis.oversight import assessment
from gis.territory.locator import Locator
from gis.workflow import transitions

CENTRE = Principal("district_centre", name="centre")
PHONE = "13812345678"
# the centre of the generated district (gis.territory.synthetic bounds)
LON, LAT = 120.603, 31.3095


@pytest.fixture()
def loc(demo_district, engine) -> Locator:
    """A locator on the demo district."""
    return Locator(engine)


@pytest.fixture()
def limited(settings):
    """Settings with small limits and a fixed key."""
    return settings.model_copy(update={"resident_per_hour_per_client": 2,
                                       "resident_per_day_per_phone": 3,
                                       "secret_key": "k" * 40})


def _report(phone: str | None = PHONE, **kw) -> ResidentReport:
    """A resident's report at the district centre."""
    args = {"item": "safety.fire", "description": "楼道堆放杂物", "lon": LON, "lat": LAT,
            "phone": phone} | kw
    return ResidentReport(**args)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_report_is_stored_through_intake_with_a_tracking_code(engine, loc, limited):
    got = resident.submit(engine, loc, limited, _report(phone="+86 138-1234-5678"), "10.1.2.3")
    assert re.fullmatch(f"[{resident.ALPHABET}]{{9}}", got["tracking_code"])
    assert not set(got["tracking_code"]) & set("01IOL")
    assert got["status"] == "reported" and got["status_label"] == "已提交，待受理"
    assert got["located"] is True and got["photos"] == 0
    assert got["tracking_code"] in got["message"]
    with engine.connect() as conn:
        r = conn.execute(text(
            "SELECT e.source, e.reporter, e.grid_code, e.description, r.phone, r.client_key, "
            "r.tracking_code FROM resident_report r JOIN event e ON e.id = r.event_id"
        )).mappings().one()
        history = conn.execute(text("SELECT action FROM event_history")).scalars().all()
    assert r["source"] == "resident" and r["reporter"] == PHONE and r["phone"] == PHONE
    assert r["grid_code"] is not None and r["description"] == "楼道堆放杂物"
    assert r["tracking_code"] == got["tracking_code"]
    # the address is kept only as its keyed hash
    want = hmac.new(b"k" * 40, b"10.1.2.3", hashlib.sha256).hexdigest()
    assert r["client_key"] == want and "10.1.2.3" not in r["client_key"]
    assert history == ["reported"]


def test_a_report_without_phone_has_no_reporter(engine, loc, limited):
    resident.submit(engine, loc, limited, _report(phone=None), "10.1.2.3")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT reporter FROM event")).scalar_one() is None


@pytest.mark.parametrize(("kw", "code"), [
    ({"item": "no.such.item"}, "unknown_item"),
    ({"lon": None, "lat": None}, "location_required"),
    ({"lat": None}, "bad_location"),
    ({"lon": 500.0}, "bad_location"),
    ({"phone": "12345"}, "bad_phone"),
    ({"description": "长" * 2001}, "description_too_long"),
])
def test_refusals_store_nothing_and_speak_chinese(engine, loc, limited, kw, code):
    with pytest.raises(InvalidInput) as e:
        resident.submit(engine, loc, limited, _report(**kw), "10.1.2.3")
    assert e.value.code == code
    assert re.search(r"[\u4e00-\u9fff]", e.value.message)
    assert _count(engine, "event") == 0 and _count(engine, "resident_report") == 0


def test_an_address_alone_is_stored_unlocated(engine, loc, limited):
    got = resident.submit(engine, loc, limited,
                          _report(lon=None, lat=None, address="幸福路 12 号"), "10.1.2.3")
    assert got["located"] is False and "核实" in got["message"]
    assert resident.status(engine, got["tracking_code"])["located"] is False


def test_too_many_reports_from_one_address_in_an_hour(engine, loc, limited):
    for _ in range(2):
        resident.submit(engine, loc, limited, _report(phone=None), "10.9.9.9")
    with pytest.raises(TooMany) as e:
        resident.submit(engine, loc, limited, _report(phone=None), "10.9.9.9")
    assert e.value.code == "too_many_reports" and "每小时最多 2 条" in e.value.message
    assert e.value.details == [{"field": "client", "reason": "hour"}]
    assert _count(engine, "event") == 2
    # another address is not held back
    resident.submit(engine, loc, limited, _report(phone=None), "10.9.9.10")
    # the window moves: reports older than an hour no longer count
    with engine.begin() as conn:
        conn.execute(text("UPDATE resident_report SET created_at = now() - interval '61 minutes'"))
    resident.submit(engine, loc, limited, _report(phone=None), "10.9.9.9")


def test_too_many_reports_with_one_phone_in_a_day(engine, loc, limited):
    for i in range(3):
        resident.submit(engine, loc, limited, _report(), f"10.0.0.{i}")
    with pytest.raises(TooMany) as e:
        resident.submit(engine, loc, limited, _report(phone="138 1234 5678"), "10.0.0.99")
    assert e.value.code == "too_many_reports"
    assert e.value.details == [{"field": "phone", "reason": "day"}]
    assert PHONE not in e.value.message
    assert _count(engine, "resident_report") == 3
    resident.submit(engine, loc, limited, _report(phone="13900000000"), "10.0.0.98")


def test_status_by_code_shows_public_steps_only(engine, loc, limited):
    got = resident.submit(engine, loc, limited, _report(), "10.1.2.3")
    code = got["tracking_code"]
    eid = _event_id(engine, code)
    transitions.transition(engine, eid, "accept", CENTRE, note="王五 checked on camera")
    transitions.transition(engine, eid, "dispatch", CENTRE)
    st = resident.status(engine, code.lower())  # typed in lower case: still found
    assert st["status"] == "dispatched" and st["status_label"] == "已派遣处理"
    assert st["item_name"] == "消防隐患" and st["class_name"] == "安全隐患"
    assert st["phone"] == "138****5678"
    assert [h["action"] for h in st["history"]] == ["reported", "accept", "dispatch"]
    assert [h["label"] for h in st["history"]] == ["提交上报", "已受理", "已派遣处理"]
    assert all(h["at_text"].endswith("(北京时间)") for h in st["history"])
    assert st["reported_at"].utcoffset().total_seconds() == 8 * 3600
    flat = repr(st)
    assert "centre" not in flat and "王五" not in flat and str(eid) not in st["tracking_code"]
    with pytest.raises(NotFound) as e:
        resident.status(engine, "ZZZZZZZZZ")
    assert e.value.code == "report_not_found"


def _event_id(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT event_id FROM resident_report WHERE tracking_code = :c"),
                            {"c": code}).scalar_one()


def test_points_after_accept_are_visible_with_phone_and_code(engine, loc, limited):
    a = resident.submit(engine, loc, limited, _report(), "10.1.2.3")["tracking_code"]
    b = resident.submit(engine, loc, limited, _report(item="health.sanitation"), "10.1.2.4")
    other = resident.submit(engine, loc, limited, _report(phone="13900000000"), "10.1.2.5")
    assert resident.points(engine, PHONE, a)["balance"] == 0
    res = transitions.transition(engine, _event_id(engine, a), "accept", CENTRE)
    assert res["resident"] == "138****5678"  # the transition's answer and history: masked
    transitions.transition(engine, _event_id(engine, b["tracking_code"]), "accept", CENTRE)
    transitions.transition(engine, _event_id(engine, other["tracking_code"]), "accept", CENTRE)
    got = resident.points(engine, "138-1234-5678", b["tracking_code"])
    assert got["phone"] == "138****5678" and got["balance"] == 20
    assert len(got["entries"]) == 2 and {e["tracking_code"] for e in got["entries"]} == {
        a, b["tracking_code"]}
    assert got["entries"][0]["reason"] == "上报被受理"
    # a code of another phone, an unknown code, a bad number: one answer
    for phone, code in ((PHONE, other["tracking_code"]), (PHONE, "ZZZZZZZZZ"), ("1", a)):
        with pytest.raises(NotFound) as e:
            resident.points(engine, phone, code)
        assert e.value.code == "report_not_found"
        assert e.value.message == resident._not_found().message


def test_phone_is_masked_in_staff_reads(engine, loc, limited):
    code = resident.submit(engine, loc, limited, _report(), "10.1.2.3")["tracking_code"]
    eid = _event_id(engine, code)
    transitions.transition(engine, eid, "accept", CENTRE)
    ev = resident.masked_event(events.get_event(engine, eid))
    assert ev["reporter"] == "138****5678"
    assert PHONE not in repr(ev)
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT data::text FROM audit_log")).scalars().all()
    assert all(PHONE not in a for a in audit)
    month = ev["reported_at"].astimezone(resident.CST).strftime("%Y-%m")
    residents = assessment.assess(engine, month)["residents"]
    assert [r["code"] for r in residents] == ["138****5678"]


def test_mask_keeps_worker_codes_and_masks_numbers():
    assert resident.mask_phone("13812345678") == "138****5678"
    assert resident.mask_phone("W320508001") == "W320508001"
    assert resident.public_reporter("worker", "W1") == "W1"
    assert resident.public_reporter("resident", "13812345678") == "138****5678"


def test_the_generated_key_is_kept_beside_the_media_folder(settings, tmp_path):
    s = settings.model_copy(update={"media_url": str(tmp_path / "media"), "secret_key": None})
    k1 = resident.secret_key(s)
    path = tmp_path / "media.key"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    resident._keys.clear()
    assert resident.secret_key(s) == k1 and len(k1) == 64
    assert resident.client_key(s, "1.2.3.4") != resident.client_key(s, "1.2.3.5")
