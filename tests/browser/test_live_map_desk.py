"""The live map at the desk in real Chromium: a layer unticked in the map's own control stays
off across pans, zooms and refreshes."""

from __future__ import annotations

import pytest
from support.dashboard import seed
from support.livemap import ARGS, FRAME, OVERLAY, SHOTS, dashboard, log_in, map_frame, staff


def _swapped_after(page, mframe, act) -> None:
    """Do ``act`` and wait until a refresh has swapped the map's feature groups in again
    (streamlit-folium keeps every group it ever added in window.feature_group)."""
    start = mframe.evaluate("() => window.feature_group.length")
    act()
    mframe.wait_for_function(f"() => window.feature_group.length > {start}", timeout=40_000)


@pytest.mark.browser
def test_live_map_remembers_unticked_layers(settings, demo_district, engine) -> None:
    """The grid layer unticked in the layer control is still off after a drag, a zoom and
    refreshes; ticked again, it stays on."""
    from playwright.sync_api import sync_playwright

    seed(engine)
    password = staff(engine, "desk1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        log_in(page, base, "desk1", password)
        mframe = map_frame(page)
        box = page.locator(FRAME).first.bounding_box()
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

        browser.close()
