"""The live map at the desk in real Chromium: it fits a 1366×768 screen (and fills 1920×1080),
and a layer unticked in the map's own control stays off across pans, zooms and refreshes."""

from __future__ import annotations

import pytest
from support.dashboard import seed
from support.livemap import (
    ARGS,
    FRAME,
    OVERLAY,
    SHOTS,
    Relay,
    dashboard,
    log_in,
    map_frame,
    staff,
)


def _map_box(page) -> dict:
    """The map iframe's box once its script has fitted it to the window (stable for 1 s)."""
    frame = page.locator(FRAME).first
    last = None
    for _ in range(40):
        box = frame.bounding_box()
        if last and abs(box["height"] - last["height"]) < 1 and box["height"] != 520:
            return box
        last = box
        page.wait_for_timeout(500)
    return last


# Container point of an event marker (its tooltip has "<b>#id"), away from the controls.
EVENT_POINT = """() => {
    let best = null;
    const size = window.map.getSize();
    window.map.eachLayer(l => {
        const tip = l instanceof L.CircleMarker && l.getTooltip()
            ? String(l.getTooltip().getContent()) : "";
        if (!tip.includes("<b>#")) return;
        const p = window.map.latLngToContainerPoint(l.getLatLng());
        if (p.x > 60 && p.y > 60 && p.x < size.x - 320 && p.y < size.y - 60) best = [p.x, p.y];
    });
    return best;
}"""


def _swapped_after(page, mframe, act) -> None:
    """Do ``act`` and wait until a refresh has swapped the map's feature groups in again
    (streamlit-folium keeps every group it ever added in window.feature_group). Done again
    when no swap came: a wheel or drag that landed while a refresh redrew the map is lost, and
    a view that did not change brings no new groups."""
    from playwright.sync_api import TimeoutError as Timeout

    start = mframe.evaluate("() => window.feature_group.length")
    for attempt in range(3):
        act()
        try:
            mframe.wait_for_function(f"() => window.feature_group.length > {start}",
                                     timeout=20_000)
            return
        except Timeout:
            if attempt == 2:
                raise


@pytest.mark.browser
def test_live_map_fits_the_screen_and_remembers_unticked_layers(settings, demo_district,
                                                                  engine) -> None:
    """At 1366×768 the whole map is on screen (bottom ≤ viewport); at 1920×1080 it grows. The
    grid layer unticked in the layer control is still off after a drag, a zoom and refreshes;
    ticked again, it stays on."""
    from playwright.sync_api import sync_playwright

    seed(engine)
    password = staff(engine, "desk1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        log_in(page, base, "desk1", password)
        mframe = map_frame(page)
        for _ in range(50):  # the frame settles its height once the page has laid out
            box = _map_box(page)
            inner = mframe.evaluate("() => window.map.getContainer().getBoundingClientRect()"
                                    ".height")
            if abs(inner - box["height"]) <= 2:
                break
            page.wait_for_timeout(200)
        assert box["y"] + box["height"] <= 768, box
        assert box["height"] >= 360, box
        assert abs(inner - box["height"]) <= 2  # the Leaflet map fills its frame
        credit = mframe.locator(".leaflet-control-attribution")
        assert "Leaflet" in credit.inner_text()
        assert credit.locator("svg").count() == 0  # the plain credit, no flag beside it
        # zoomed out over 32 small grids, only names that fit their grid show; zoomed in, more
        names = ("() => [...document.querySelectorAll('.wg-grid-label')].map("
                 "e => getComputedStyle(e).visibility !== 'hidden')")
        shown = mframe.evaluate(names)
        assert len(shown) == 32 and sum(shown) < 32, shown
        mframe.evaluate("() => { window.map.setZoom(window.map.getZoom() + 2, {animate: false}); }")
        mframe.wait_for_function(f"() => ({names})().filter(Boolean).length > {sum(shown)}")
        mframe.evaluate("() => { window.map.setZoom(window.map.getZoom() - 2, {animate: false}); }")
        page.screenshot(path=str(SHOTS / "live_map_1366x768.png"))
        assert page.get_by_text("Choose options").count() == 0  # placeholders in Chinese
        pt = mframe.evaluate(EVENT_POINT)
        assert pt, "no event marker in view"
        tip = page.frame_locator(FRAME).first.locator(".leaflet-tooltip")
        track = tip.filter(has_text="公里").first  # today's track passes over the events
        for i in range(10):  # hovered again if a refresh swapped the layers under the mouse
            page.mouse.move(box["x"] + pt[0] + i % 2, box["y"] + pt[1])
            page.wait_for_timeout(1000)
            if track.is_visible():
                break
        track.wait_for(timeout=1_000)
        assert "北京时间" in track.inner_text()
        page.screenshot(path=str(SHOTS / "live_map_tooltip_track.png"))
        mframe.evaluate("""() => { window.map.eachLayer(l => {
            if (l instanceof L.CircleMarker && l.getTooltip()
                && String(l.getTooltip().getContent()).includes("<b>#1<")) l.openTooltip();
        }); }""")
        event = tip.filter(has_text="状态").first
        event.wait_for(timeout=10_000)
        text = event.inner_text()
        assert "消防隐患" in text and "网格员" in text and "北京时间" in text, text
        page.screenshot(path=str(SHOTS / "live_map_tooltip_event.png"))
        overdue = page.get_by_role("heading", name="超期事件（1）")
        overdue.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the table's canvas drawn before the screenshot
        page.screenshot(path=str(SHOTS / "live_map_tables.png"))
        page.get_by_role("heading", name="实时地图").scroll_into_view_if_needed()

        assert mframe.evaluate(OVERLAY, "网格") == {"ticked": True, "onMap": True}
        control = page.frame_locator(FRAME).first.locator(".leaflet-control-layers-overlays")
        control.get_by_text("网格", exact=True).click()
        assert mframe.evaluate(OVERLAY, "网格") == {"ticked": False, "onMap": False}
        # a person drags the map and zooms in with the wheel; the page refreshes meanwhile
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

        def drag_and_zoom() -> None:
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx - 120, cy - 60, steps=8)
            page.mouse.up()
            page.mouse.wheel(0, -240)

        def zoom(dy: int) -> None:
            page.mouse.move(cx - 150, cy)  # over the map, away from the layer control
            page.mouse.wheel(0, dy)

        _swapped_after(page, mframe, drag_and_zoom)
        assert mframe.evaluate(OVERLAY, "网格") == {"ticked": False, "onMap": False}
        _swapped_after(page, mframe, lambda: zoom(240))  # and out again
        assert mframe.evaluate(OVERLAY, "网格") == {"ticked": False, "onMap": False}
        assert mframe.evaluate(OVERLAY, "巡查覆盖") == {"ticked": True, "onMap": True}
        page.screenshot(path=str(SHOTS / "live_map_grids_unticked.png"))

        control.get_by_text("网格", exact=True).click()
        _swapped_after(page, mframe, lambda: zoom(-240))
        assert mframe.evaluate(OVERLAY, "网格") == {"ticked": True, "onMap": True}

        page.set_viewport_size({"width": 1920, "height": 1080})
        big = _map_box(page)
        assert big["y"] + big["height"] <= 1080 and big["height"] > box["height"] + 200, big
        page.screenshot(path=str(SHOTS / "live_map_1920x1080.png"))
        browser.close()


STALE = """() => {
    const v = document.querySelector(".st-key-live_view");
    return v ? getComputedStyle(v).filter : null;
}"""


@pytest.mark.browser
def test_database_outage_keeps_the_map_greyed(settings, demo_district, engine) -> None:
    """The database going away (its connections cut) leaves the map and metrics on screen,
    greyed, under the outage banner; back again, the page is live and in colour."""
    from playwright.sync_api import sync_playwright
    from sqlalchemy.engine import make_url

    seed(engine)
    password = staff(engine, "desk2")
    db = make_url(settings.database_url)
    relay = Relay(db.host, db.port)
    through = db.set(port=relay.port).render_as_string(hide_password=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with dashboard(settings, through) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            log_in(page, base, "desk2", password)
            map_frame(page)
            control = page.frame_locator(FRAME).first.locator(
                ".leaflet-control-layers-overlays")
            control.get_by_text("事件（3）").wait_for(timeout=30_000)  # a full view loaded
            assert page.evaluate(STALE) == "none"
            relay.cut()
            page.get_by_text("数据库无法连接").first.wait_for(timeout=30_000)
            page.wait_for_function(f"() => ({STALE})().includes('grayscale')", timeout=15_000)
            assert page.locator(FRAME).count() == 1 and page.locator(FRAME).first.is_visible()
            assert control.get_by_text("事件（3）").is_visible()  # the last view's layers
            assert page.get_by_text("以下为断线前最后加载的画面（灰显）").is_visible()
            page.screenshot(path=str(SHOTS / "live_map_outage.png"))
            relay.restore()
            page.get_by_text("数据库无法连接").first.wait_for(state="detached", timeout=40_000)
            assert page.evaluate(STALE) == "none"
            control.get_by_text("事件（3）").wait_for(timeout=30_000)
            page.screenshot(path=str(SHOTS / "live_map_recovered.png"))
            browser.close()
    finally:
        relay.cut()


# The map's view: [west, south, east, north].
BOUNDS = """() => { const b = window.map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"""
# The map's zoom and the zoom that would show the whole of [[s, w], [n, e]].
ZOOMS = "(b) => [window.map.getZoom(), window.map.getBoundsZoom(b)]"
# Layer chips in the sidebar cut short: their text wider than the chip, or the chip not
# wholly inside the multiselect's visible box.
CLIPPED = """() => {
    const box = document.querySelector('.st-key-live_layers .react-aria-ComboBox [role=group]')
        .getBoundingClientRect();
    return [...document.querySelectorAll('.st-key-live_layers .react-aria-ComboBox [data-tag]')]
        .filter(t => { const r = t.getBoundingClientRect(), s = t.querySelector('span');
            return r.bottom > box.bottom + 1 || r.top < box.top - 1 || r.right > box.right + 1
                || s.scrollWidth > s.clientWidth + 1; })
        .map(t => t.innerText);
}"""


@pytest.mark.browser
def test_community_dispatcher_opens_on_their_community(settings, demo_district,
                                                       engine) -> None:
    """A community dispatcher's map opens fitted to their community, not the district; the
    heat legend speaks of 米; the sidebar's layer chips are all wholly shown."""
    from playwright.sync_api import sync_playwright
    from sqlalchemy import text

    from gis.oversight import dashboard as dq

    seed(engine)
    with engine.connect() as conn:
        mine = conn.execute(text("SELECT DISTINCT community_code FROM event")).scalar_one()
    password = staff(engine, "comm1", "community_dispatcher", mine)
    area, district = dq.extent(engine, (mine,)), dq.extent(engine)
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        log_in(page, base, "comm1", password)
        mframe = map_frame(page)
        _map_box(page)
        w, s, e, n = mframe.evaluate(BOUNDS)
        # the whole community is in view, and the view is not much wider than it
        assert w <= area["minlon"] and e >= area["maxlon"], (w, e, area)
        assert s <= area["minlat"] and n >= area["maxlat"], (s, n, area)
        cx, cy = (w + e) / 2, (s + n) / 2  # centred on the community, closer than the district
        assert area["minlon"] < cx < area["maxlon"] and area["minlat"] < cy < area["maxlat"]
        zoom, whole = mframe.evaluate(ZOOMS, [[district["minlat"], district["minlon"]],
                                              [district["maxlat"], district["maxlon"]]])
        assert zoom > whole, (zoom, whole)
        legend = page.frame_locator(FRAME).first.locator(".wangge-legend").first
        assert "格宽约" in legend.inner_text() and " 米" in legend.inner_text()
        assert " m，" not in legend.inner_text()
        assert page.get_by_role("button", name="缩放到本辖区").count() == 1
        chips = page.locator('.st-key-live_layers .react-aria-ComboBox [data-tag]')
        chips.first.scroll_into_view_if_needed()
        assert chips.count() == 7 and page.evaluate(CLIPPED) == []
        page.locator('[data-testid="stSidebar"]').screenshot(
            path=str(SHOTS / "live_map_sidebar_community.png"))
        page.screenshot(path=str(SHOTS / "live_map_community.png"))
        browser.close()
