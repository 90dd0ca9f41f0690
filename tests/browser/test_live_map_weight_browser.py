"""The light live map in real Chromium: Leaflet and the grid shapes come from the dashboard's
media store once, every grid is drawn with its outline, name and tooltip, and refreshes swap the
live layers without fetching the shapes again."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from support.dashboard import seed
from support.livemap import ARGS, FRAME, dashboard, log_in, map_where, staff

# Polygons drawn in one overlay of the layer control (by its label's text).
POLYGONS = """(name) => {
    const c = window.layer_control;
    const o = c._layers.find(x => x.overlay && x.name.replace(/\\s*[(（].*$/, "") === name);
    let n = 0;
    if (o) { o.layer.eachLayer(l => { if (l instanceof L.Polygon) n += 1; }); }
    return n;
}"""


@pytest.mark.browser
def test_grid_shapes_are_fetched_once_and_drawn(settings, demo_district, engine) -> None:
    """Every active grid is outlined and filled by coverage from the one fetched resource,
    its name is on the map and its tooltip names the responsible worker; after refreshes the
    shapes were fetched once and the swapped layers still draw every grid."""
    from playwright.sync_api import sync_playwright

    seed(engine)
    with engine.connect() as conn:
        n_grids = conn.execute(text(
            "SELECT count(*) FROM grid g JOIN generation gen ON gen.id = g.generation_id AND "
            "gen.status = 'active'")).scalar_one()
    password = staff(engine, "weight1")
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if "/media/" in r.url else None)
        log_in(page, base, "weight1", password)
        mframe = map_where(page, f"() => ({POLYGONS})('网格') === {n_grids}")
        assert mframe.evaluate(POLYGONS, "巡查覆盖") == n_grids
        labels = page.frame_locator(FRAME).first.locator(".wg-grid-label")
        assert labels.count() == n_grids
        assert any(u.endswith(".js") for u in fetched) and any(u.endswith(".css")
                                                                for u in fetched)
        shapes = [u for u in fetched if u.endswith(".json")]
        assert len(shapes) == 1, fetched
        mframe.evaluate("""() => {
            const o = window.layer_control._layers.find(x => x.overlay && x.name === "网格");
            const first = o.layer.getLayers()[0];
            first.openTooltip(first.getCenter());
        }""")
        tip = page.frame_locator(FRAME).first.locator(".leaflet-tooltip").filter(
            has_text="责任人").first
        tip.wait_for(timeout=10_000)
        assert "网格员" in tip.inner_text()
        start = mframe.evaluate("() => window.feature_group.length")
        box = page.locator(FRAME).first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -240)  # zoom in: the next refresh loads and swaps new layers
        mframe.wait_for_function(f"() => window.feature_group.length > {start}",
                                 timeout=40_000)
        mframe.wait_for_function(f"() => ({POLYGONS})('网格') === {n_grids}", timeout=30_000)
        assert len([u for u in fetched if u.endswith(".json")]) == 1, fetched
        browser.close()
