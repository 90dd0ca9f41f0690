"""The planner's page (边界规划) in real Chromium: a planner finds it in the navigation, uploads a
file whose grid edge moved and sees the preview map (the two changed grids coloured, the legend);
a community dispatcher's navigation has no such page. Screenshots: test-output/desk/planner.png,
planner_faults.png (a file with faults: the grouped report, the overlap in red)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from support.boundary_files import G1, G3, X0, Y0, C, D, feature, territory
from support.livemap import ARGS, SHOTS, dashboard, log_in, map_frame, staff
from support.planner import as_bytes, base_district, moved_edge

from dashboard import planner as pl

NAV = '[data-testid="stSidebarNav"]'
# colours of the layers on the map (drawn on a canvas: read from Leaflet, not the DOM)
COLOURS = """() => { const out = []; window.map.eachLayer(l => {
    if (l.options && l.options.color && l.feature) out.push(l.options.color); }); return out; }"""


@pytest.mark.browser
def test_planner_uploads_a_file_and_sees_the_preview_map(settings, clean_db: Engine,
                                                         tmp_path: Path) -> None:
    """Upload through the page's file input: the acceptable preview, its counts, the map with
    both changed grids in the 'changed' colour and the legend; nothing stored."""
    from playwright.sync_api import sync_playwright

    gen = base_district(clean_db, tmp_path)
    planner = staff(clean_db, "planner1", "planner")
    dispatcher = staff(clean_db, "disp1", "community_dispatcher", C)
    upload = tmp_path / "moved.geojson"
    upload.write_bytes(as_bytes(moved_edge()))
    faults = tmp_path / "faults.geojson"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 1500}, locale="zh-CN",
                                timezone_id="Asia/Shanghai")
        log_in(page, base, "planner1", planner)
        page.locator(NAV).get_by_text("边界规划", exact=True).click()
        page.get_by_role("heading", name="边界规划").wait_for(timeout=30_000)
        page.locator('input[type="file"]').set_input_files(str(upload))
        page.get_by_text("可以导入：以下为预览").wait_for(timeout=60_000)
        frame = map_frame(page)
        frame.wait_for_function("() => window.map && Object.keys(window.map._layers).length > 5")
        colours = frame.evaluate(COLOURS)
        assert colours.count(pl.CHANGE_COLOUR["changed"]) >= 2, colours  # G1, G2 (+ before)
        assert pl.CHANGE_COLOUR["unchanged"] in colours and pl.PROBLEM not in colours
        legend = frame.locator(".wangge-legend")
        assert "变动网格" in legend.inner_text() and "问题" in legend.inner_text()
        assert page.get_by_text("变动网格", exact=True).first.is_visible()  # the metric
        page.get_by_role("heading", name="预览地图").scroll_into_view_if_needed()
        page.wait_for_timeout(800)  # the map's canvas drawn before the screenshot
        page.screenshot(path=str(SHOTS / "planner.png"))

        faults.write_bytes(as_bytes(territory(grid_codes=(G1, C + "009", G3)) + [
            feature("grid", C + "010", C, box(X0 + 2.5 * D, Y0, X0 + 3 * D, Y0 + D))]))
        page.locator('input[type="file"]').set_input_files(str(faults))
        page.get_by_text("已阻止：文件中有").wait_for(timeout=60_000)
        frame = map_frame(page)
        frame.wait_for_function(f"() => ({COLOURS})().includes('{pl.PROBLEM}')")
        assert page.get_by_text("编码被改").first.is_visible()
        page.get_by_role("heading", name="校验报告").scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        page.screenshot(path=str(SHOTS / "planner_faults.png"))

        other = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        log_in(other, base, "disp1", dispatcher)
        titles = other.locator(NAV).inner_text()
        assert "导出" in titles and "边界规划" not in titles
        browser.close()
    with clean_db.connect() as c:
        assert c.execute(text("SELECT id FROM generation")).scalars().all() == [gen]
