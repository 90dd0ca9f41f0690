"""The resident page /r/ in headless Chromium at a phone's size (390×844), with an emulated
GPS fix: a report with a photo, its tracking code, its status page, points; the English
switch; refusals in Chinese. Screenshots of each view go to test-output/."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from support.fieldapp import served as platform_served

from gis.access.auth import Principal
from gis.workflow import transitions

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
# inside the generated district (gis.territory.synthetic: 120.592–120.614 E, 31.300–31.319 N)
FIX = {"longitude": 120.6031, "latitude": 31.3094, "accuracy": 12}
PHONE = "13812345678"


@pytest.fixture()
def served(settings, demo_district):
    """The platform on a free local port (uvicorn in a thread) over the demo district."""
    with platform_served(settings) as base:
        yield base


@pytest.fixture()
def phone_page(served):
    """A Chromium page at 390×844, zh-CN, with geolocation granted at a point of the district;
    console errors (a CSP refusal among them; not the 4xx of a refused request) and script
    errors are collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                      geolocation=FIX, permissions=["geolocation"],
                                      device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error"
                and "with a status of 4" not in m.text else None)  # refusals answer 4xx
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.base = served
        yield page
        browser.close()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def _shot(page, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
    page.screenshot(path=str(OUT / name), full_page=True)


def _open_form(page) -> None:
    page.goto(page.base + "/r/")
    page.locator("#item optgroup").first.wait_for(state="attached")
    page.locator(".leaflet-overlay-pane path").first.wait_for()  # the district is drawn


def test_resident_reports_with_photo_and_follows_it_by_code(phone_page, engine):
    page = phone_page
    _open_form(page)
    assert page.locator("h1").inner_text() == "随手拍 · 群众上报"
    assert page.locator("#item optgroup[label='安全隐患'] option", has_text="消防隐患").count() == 1
    page.select_option("#item", "safety.fire")
    page.fill("#description", "楼道里有电动车在充电")
    page.set_input_files("#photo", files=[{"name": "hazard.png", "mimeType": "image/png",
                                          "buffer": _png()}])
    page.locator("#previews img").wait_for()
    page.click("#gps")
    page.locator("#where.ok", has_text="已定位").wait_for()
    assert "120.6031" in page.inner_text("#where")
    page.fill("#phone", "138 1234 5678")
    _shot(page, "resident_form.png")
    page.click("#submit")
    page.locator("#view-done:not([hidden]) #code").wait_for()
    code = page.inner_text("#code")
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{9}", code), code
    assert "已上传照片 1 张" in page.inner_text("#done-note")
    _shot(page, "resident_tracking_code.png")
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT e.source, e.reporter, e.grid_code, r.tracking_code, "
            "(SELECT count(*) FROM attachment a WHERE a.event_id = e.id) AS photos "
            "FROM resident_report r JOIN event e ON e.id = r.event_id")).mappings().one()
    assert row["source"] == "resident" and row["reporter"] == PHONE
    assert row["tracking_code"] == code and row["photos"] == 1 and row["grid_code"]

    page.click("#status-link")
    page.locator("#status-card:not([hidden])").wait_for()
    assert page.url.endswith(f"/r/#/status/{code}")
    assert page.inner_text("#s-status") == "已提交，待受理"
    assert page.inner_text("#s-item") == "安全隐患 · 消防隐患"
    assert page.inner_text("#s-phone") == "138****5678"
    assert page.inner_text("#s-photos") == "1 张"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \(北京时间\)", page.inner_text("#s-reported"))
    assert page.locator("#s-history li").count() == 1
    assert "提交上报" in page.inner_text("#s-history")
    _shot(page, "resident_status.png")

    # the centre accepts it: the status page says so, and the points are there
    eid = _event_id(engine, code)
    transitions.transition(engine, eid, "accept", Principal("district_centre", name="centre"))
    page.goto(f"{page.base}/r/?code={code}")
    page.locator("#s-status", has_text="已受理").wait_for()
    assert [li.split("\n")[0] for li in page.locator("#s-history li").all_inner_texts()] == [
        "提交上报", "已受理"]
    page.click("nav a[data-view=points]")
    page.fill("#points-phone", PHONE)
    page.fill("#points-code", code.lower())
    page.click("#points-form button")
    page.locator("#points-card:not([hidden])").wait_for()
    assert page.inner_text("#p-balance") == "10"
    assert page.inner_text("#p-phone") == "138****5678"
    assert "上报被受理" in page.inner_text("#p-entries")
    _shot(page, "resident_points.png")
    # a code that is not this phone's: the same refusal as an unknown code
    page.fill("#points-phone", "13900000000")
    page.click("#points-form button")
    page.locator("#message:not([hidden])").wait_for()
    assert page.inner_text("#message") == "未找到该查询码对应的上报，请检查后重试。"
    assert page.errors == []


def _event_id(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT event_id FROM resident_report WHERE tracking_code = :c"),
                            {"c": code}).scalar_one()


def test_a_report_without_a_place_is_refused_in_chinese(phone_page, engine):
    page = phone_page
    _open_form(page)
    page.click("#submit")  # nothing chosen yet: the page asks for the item first
    assert page.inner_text("#message") == "请选择问题类型。"
    page.select_option("#item", "health.sanitation")
    page.fill("#description", "垃圾堆积")
    page.click("#submit")
    page.locator("#message", has_text="请提供位置").wait_for()
    assert page.inner_text("#message") == "请提供位置：使用定位、在地图上选点或填写地址。"
    _shot(page, "resident_refused.png")
    page.context.clear_permissions()  # the person says no to sharing the position: no fix
    page.click("#gps")
    page.locator("#message", has_text="无法获取您的位置").wait_for()
    assert page.inner_text("#where") == "尚未选择位置"
    page.fill("#phone", "12345")
    page.locator(".leaflet-container").click()  # a pin in the middle of the map
    page.locator("#where.ok", has_text="已选点").wait_for()
    page.click("#submit")
    page.locator("#message", has_text="手机号").wait_for()
    assert page.inner_text("#message") == "手机号格式不正确，请输入11位手机号。"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar_one() == 0
    page.goto(page.base + "/r/#/status/NOSUCHCODE")
    page.locator("#message:not([hidden])").wait_for()
    assert "未找到该查询码" in page.inner_text("#message")
    assert page.errors == []


def test_the_english_switch_is_remembered(phone_page):
    page = phone_page
    _open_form(page)
    page.click("#lang")
    assert page.inner_text("h1") == "Report a problem"
    assert page.inner_text("#lang") == "中文"
    assert page.inner_text("#gps") == "Use my location"
    assert page.locator("#item optgroup[label='Safety hazards'], #item optgroup").first \
        .get_attribute("label").isascii()
    page.click("#submit")
    assert page.inner_text("#message") == "Choose what the problem is."
    _shot(page, "resident_form_en.png")
    page.reload()
    page.locator("#item optgroup").first.wait_for(state="attached")
    assert page.inner_text("h1") == "Report a problem"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#lang")
    assert page.inner_text("h1") == "随手拍 · 群众上报"
