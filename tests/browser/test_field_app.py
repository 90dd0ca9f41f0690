"""The field app /m/ in real Chromium on a phone (390×844, zh-CN, emulated GPS): log-in, my grid,
a report with a photo that lands in the right grid and whose photo only the right roles get,
the offline queue (two reports offline, a reload offline, online again: exactly two events),
a refused report kept on the phone and fixed, and the forced first password change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from support import territory as T
from support.fieldapp import (
    ARGS,
    PHONE,
    account,
    file_payload,
    log_in,
    photo,
    queue_counts,
    served,
    shot,
    token,
)

pytestmark = pytest.mark.browser

IN_G1 = {"longitude": 120.6025, "latitude": 31.3050, "accuracy": 8}  # inside unit U1a of G1
ITEM = "safety.fire"


@pytest.fixture(scope="module")
def base(settings) -> Iterator[str]:
    """The platform served on a local port for this module."""
    with served(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def district(clean_db: Engine, owner_engine: Engine) -> dict[str, str]:
    """The hand-built territory with its people, a building in G1 and two accounts: w1 (the
    full-time worker of G1) and l3 (the leader of G3); their passwords."""
    T.load(clean_db)
    T.load_people(clean_db)
    T.insert_building(clean_db, "B1", "测试路 1 号", 120.6025, 31.3040)
    return {"w1": account(clean_db, owner_engine, "w1", "W1"),
            "l3": account(clean_db, owner_engine, "l3", "L3")}


def phone(browser: Any, gps: dict | None = IN_G1) -> Any:
    """A phone's browser context (with a GPS fix unless ``gps`` is None); ``ctx.problems``
    collects uncaught page errors and Content-Security-Policy violations."""
    extra = {"geolocation": gps, "permissions": ["geolocation"]} if gps else {}
    ctx = browser.new_context(**PHONE, **extra)
    ctx.problems = []
    ctx.on("weberror", lambda e: ctx.problems.append(str(e.error)))
    ctx.on("console", lambda m: ctx.problems.append(m.text)
           if "Content Security Policy" in m.text else None)
    return ctx


def done(ctx: Any) -> None:
    """No script error and no CSP violation happened; close the context."""
    problems = list(ctx.problems)
    ctx.close()
    assert problems == []


def events(engine: Engine) -> list[dict]:
    """Every stored event with its worker's code."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT e.id, e.source, e.grid_code, e.unit_code, e.reporter, e.description, "
            "w.code AS worker FROM event e LEFT JOIN worker w ON w.id = e.worker_id "
            "ORDER BY e.id")).mappings()]


def fill_report(page: Any, description: str) -> None:
    """Choose the item, write the description (the report tab is shown)."""
    page.wait_for_function("() => document.querySelector('#view-report').dataset.catalogue === '1'")
    page.select_option("#r-class", ITEM.split(".")[0])
    page.select_option("#r-item", ITEM)
    page.fill("#r-desc", description)


def wait_sent(page: Any, n: int) -> None:
    """Until ``n`` reports have gone through (the phone's sent list) and the queue is empty."""
    page.wait_for_function(
        """n => JSON.parse(localStorage.getItem('wg.sent') || '[]').length === n &&
               Wg.queue.last && Wg.queue.last.total === 0 &&
               document.getElementById('wg-pending').hidden""", arg=n, timeout=20_000)


def test_log_in_refuses_a_wrong_password_in_chinese_then_shows_my_grid(
        base, browser, district) -> None:
    ctx = phone(browser)
    page = ctx.new_page()
    log_in(page, base, "w1", "not-the-password")
    err = page.locator("#login-error")
    err.wait_for()
    assert "用户名或密码错误" in err.inner_text()
    assert page.locator("#wg-app").is_hidden()
    shot(page, "01_login_wrong_password")

    page.fill("#login-password", district["w1"])
    page.click("#login-submit")
    page.wait_for_function("() => document.body.dataset.mapReady === '1'")
    assert "G1" in page.locator("#map-grid-name").inner_text()
    assert "单元 2 个" in page.locator("#map-summary").inner_text()
    # the grid, its two units and the building are drawn (SVG paths of Leaflet)
    assert page.locator("#grid-map .leaflet-overlay-pane path").count() == 4
    assert page.evaluate("Wg.session().worker") == "W1"
    assert page.locator("#wg-tabs .tab.active").inner_text().strip().endswith("我的网格")
    shot(page, "02_my_grid")

    page.click("#wg-tabs .tab[data-tab=me]")
    page.locator("#me-info").wait_for()
    assert "w1" in page.locator("#me-info").inner_text()
    page.locator("#me-info").get_by_text("name W1", exact=True).wait_for()  # the worker's name
    assert "姓名" in page.locator("#me-info").inner_text()
    assert "北京时间" in page.locator("#me-info").inner_text()
    shot(page, "03_me")
    page.click("#wg-lang")  # English by the switch, remembered
    assert page.locator("#wg-tabs .tab[data-tab=me]").inner_text().strip().endswith("Me")
    page.click("#wg-lang")
    assert page.locator("#wg-tabs .tab[data-tab=me]").inner_text().strip().endswith("我的")

    page.click("#logout")  # log out; then l3 types a wrong password until the lock
    page.locator("#wg-login").wait_for()
    for _ in range(5):
        log_in(page, base, "l3", "wrong-again")
        page.wait_for_function("() => !document.getElementById('login-submit').disabled")
    page.fill("#login-password", district["l3"])
    page.click("#login-submit")
    page.wait_for_function(
        "() => document.getElementById('login-error').textContent.includes('账号已锁定')")
    shot(page, "03b_login_locked")

    manifest = httpx.get(base + "/m/manifest.webmanifest").json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"], manifest["lang"]) == (
        "/m/", "/m/", "standalone", "zh-CN")
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert httpx.get(base + icon["src"]).headers["content-type"] == "image/png"
    done(ctx)


def test_a_report_with_a_photo_lands_in_the_workers_grid_and_its_photo_is_served_by_role(
        base, browser, district, clean_db) -> None:
    ctx = phone(browser)
    page = ctx.new_page()
    log_in(page, base, "w1", district["w1"])
    page.click("#wg-tabs .tab[data-tab=report]")
    fill_report(page, "楼道里电动车充电")
    # a photo over 8 MB is refused on the phone, in Chinese
    page.set_input_files("#r-photo", file_payload("big.jpg", b"\xff\xd8\xff" + b"0" * 8_100_000))
    assert "照片太大" in page.locator("#r-photo-error").inner_text()
    page.set_input_files("#r-photo", file_payload("fire.jpg", photo()))
    page.wait_for_function("() => document.getElementById('r-thumbs').dataset.count === '1'")
    # before sending: where it will land (GPS → GET /locate)
    page.locator("#landing-worker").wait_for()
    assert T.G1 in page.locator("#landing-grid").inner_text()
    assert page.locator("#landing-unit").inner_text() == T.U1A
    assert "W1" in page.locator("#landing-worker").inner_text()
    assert "GPS" in page.locator("#r-pos").inner_text()
    summary = page.locator("#r-summary").inner_text()
    assert "将落入" in summary and T.U1A in summary and "W1" in summary
    shot(page, "04_report_form")
    page.locator("#r-landing").scroll_into_view_if_needed()
    shot(page, "05_report_where_it_lands")
    page.click("#r-submit")
    wait_sent(page, 1)

    [ev] = events(clean_db)
    assert (ev["source"], ev["grid_code"], ev["unit_code"], ev["reporter"], ev["worker"],
            ev["description"]) == ("worker", T.G1, T.U1A, "W1", "W1", "楼道里电动车充电")
    own = {"Authorization": f"Bearer {token(clean_db, 'W1')}"}
    other = {"Authorization": f"Bearer {token(clean_db, 'L3')}"}
    listed = httpx.get(f"{base}/api/v1/events/{ev['id']}/attachments", headers=own).json()
    [att] = listed["attachments"]
    got = httpx.get(base + att["url"], headers=own)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert httpx.get(base + att["url"], headers=other).status_code == 404
    assert httpx.get(base + att["url"]).status_code == 401
    page.click("#wg-tabs .tab[data-tab=me]")
    page.locator("#sent-list li").first.wait_for()
    assert f"#{ev['id']}" in page.locator("#sent-list").inner_text()
    shot(page, "06_me_sent")
    done(ctx)


def test_offline_two_reports_survive_a_reload_and_land_exactly_once_when_online(
        base, browser, district, clean_db) -> None:
    ctx = phone(browser)
    page = ctx.new_page()
    log_in(page, base, "w1", district["w1"])
    page.wait_for_function("() => document.body.dataset.mapReady === '1'")
    page.click("#wg-tabs .tab[data-tab=report]")
    page.wait_for_function("() => document.querySelector('#view-report').dataset.catalogue === '1'")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)

    ctx.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    for i, desc in enumerate(("离线上报一", "离线上报二")):
        fill_report(page, desc)
        if i == 0:
            page.set_input_files("#r-photo", file_payload("a.jpg", photo()))
        page.wait_for_function("() => document.getElementById('r-pos').textContent.includes('GPS')")
        page.click("#r-submit")
        page.wait_for_function(f"() => Wg.queue.last && Wg.queue.last.pending === {i + 1}")
    assert "发送时再确定网格" in page.locator("#r-landing").inner_text()
    assert "发送时再确定网格" in page.locator("#r-summary").inner_text()
    assert page.locator("#wg-pending").inner_text() == "待发送 2 条"
    assert "离线" in page.locator("#wg-net").inner_text()
    shot(page, "07_offline_two_waiting")

    page.reload()  # offline: the service worker opens the app, still logged in
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator("#wg-tabs").is_visible()
    assert page.locator("#wg-login").is_hidden()
    page.wait_for_function("() => Wg.queue.last && Wg.queue.last.pending === 2")
    page.wait_for_function("() => document.body.dataset.mapReady === '1'")
    assert page.locator("#grid-map .leaflet-overlay-pane path").count() == 4  # saved my-grid
    page.click("#wg-tabs .tab[data-tab=me]")
    page.locator("#queue-list .qitem").nth(1).wait_for()
    shot(page, "08_offline_after_reload_queue")
    assert events(clean_db) == []

    ctx.set_offline(False)
    wait_sent(page, 2)
    stored = events(clean_db)
    assert sorted(e["description"] for e in stored) == ["离线上报一", "离线上报二"]
    assert all(e["grid_code"] == T.G1 and e["worker"] == "W1" for e in stored)
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM attachment")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM idempotency_key")).scalar() == 2
    # a retry of everything changes nothing
    page.evaluate("Wg.queue.flush()")
    assert len(events(clean_db)) == 2 and queue_counts(page)["total"] == 0
    done(ctx)


def test_a_refused_report_stays_on_the_phone_marked_until_the_person_fixes_it(
        base, browser, district, clean_db) -> None:
    ctx = phone(browser, gps=None)  # no GPS fix: the photo's EXIF position is offered
    page = ctx.new_page()
    log_in(page, base, "w1", district["w1"])
    page.click("#wg-tabs .tab[data-tab=report]")
    page.locator("#r-pos-error").wait_for()
    assert "无法获取 GPS 定位" in page.locator("#r-pos-error").inner_text()
    fill_report(page, "井盖缺失")
    page.set_input_files("#r-photo", file_payload("exif.jpg", photo(gps=(120.6075, 31.3050))))
    page.wait_for_function(
        "() => document.getElementById('r-pos').textContent.includes('照片中的位置')")
    page.locator("#landing-unit").wait_for()
    assert page.locator("#landing-unit").inner_text() == T.U1B
    shot(page, "09_report_no_fix_exif_position")

    ctx.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    page.click("#r-submit")
    page.wait_for_function("() => Wg.queue.last && Wg.queue.last.pending === 1")
    page.evaluate("""async () => {  // the item is withdrawn before the phone is online again
        const [rec] = await Wg.queue.list();
        rec.body.item = 'safety.no_such_item';
        await Wg.queue.put(rec);
    }""")
    ctx.set_offline(False)
    page.wait_for_function("() => Wg.queue.last && Wg.queue.last.refused === 1", timeout=20_000)
    assert events(clean_db) == []
    assert page.locator("#wg-pending").inner_text() == "被退回 1 条"
    page.click("#wg-tabs .tab[data-tab=me]")
    item = page.locator("#queue-list .qitem.refused")
    item.wait_for()
    assert "被退回" in item.inner_text()
    assert "事件小类不存在或已停用" in item.locator(".qerror").inner_text()
    shot(page, "10_me_refused")

    runs = page.evaluate("Wg.queue.runs")
    item.locator(".qretry").click()  # retried as it is: refused again, still kept
    page.wait_for_function("r => Wg.queue.runs > r && Wg.queue.last.refused === 1", arg=runs)
    assert events(clean_db) == []
    page.locator("#queue-list .qitem.refused .qedit").click()
    page.wait_for_function("() => document.getElementById('r-thumbs').dataset.count === '1'")
    assert page.locator("#r-desc").input_value() == "井盖缺失"
    page.select_option("#r-class", ITEM.split(".")[0])
    page.select_option("#r-item", ITEM)
    page.click("#r-submit")
    wait_sent(page, 1)
    [ev] = events(clean_db)
    assert (ev["description"], ev["unit_code"], ev["worker"]) == ("井盖缺失", T.U1B, "W1")
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM attachment WHERE event_id = :e"),
                            {"e": ev["id"]}).scalar() == 1
    done(ctx)


def test_the_first_log_in_forces_a_password_change(
        base, browser, district, clean_db, owner_engine) -> None:
    initial = account(clean_db, owner_engine, "w1b", "W1", must_change=True)
    ctx = phone(browser)
    page = ctx.new_page()
    log_in(page, base, "w1b", initial)
    page.locator("#wg-password form").wait_for()
    assert "首次登录" in page.locator("#wg-password").inner_text()
    assert page.locator("#wg-app").is_hidden()
    shot(page, "11_forced_password_change")
    page.fill("#fpw-old", initial)
    page.fill("#fpw-new", "a-much-Longer-secret-77")
    page.fill("#fpw-repeat", "a-much-Longer-secret-77")
    page.click("#wg-password button[type=submit]")
    page.wait_for_function("() => document.body.dataset.mapReady === '1'")
    assert page.evaluate("Wg.session().must_change_password") is False
    page.click("#wg-tabs .tab[data-tab=me]")
    page.click("#logout")
    page.locator("#wg-login").wait_for()
    log_in(page, base, "w1b", "a-much-Longer-secret-77")
    page.wait_for_function("() => document.body.dataset.mapReady === '1'")
    done(ctx)
