"""The planner's page (边界规划) in real Chromium: a planner finds it in the navigation, uploads a
file whose grid edge moved and sees the preview map (the two changed grids coloured, the legend);
a community dispatcher's navigation has no such page. A planner with a building and a street
layer draws a first draft, imports it, sees the preview, commits it, downloads the active grids
and uploads them again with a grid edge moved (the units re-cut). Screenshots under
test-output/planner/: planner.png, planner_faults.png (a file with faults: the grouped report,
the overlap in red), draft.png, draft_map.png, draft_preview.png, generations.png, recut.png,
uploader.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from support.boundary_files import G1, G3, X0, Y0, C, D, feature, territory
from support.livemap import ARGS, ROOT, dashboard, log_in, map_where, staff
from support.planner import as_bytes, base_district, file_moved, load_town, moved_edge

from dashboard import planner as pl

NAV = '[data-testid="stSidebarNav"]'
SHOTS = ROOT / "test-output" / "planner"
PANEL = '[role="tabpanel"]:visible'  # the tab shown
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
        frame = map_where(page, "() => window.map && Object.keys(window.map._layers).length > 5")
        colours = frame.evaluate(COLOURS)
        assert colours.count(pl.CHANGE_COLOUR["changed"]) >= 2, colours  # G1, G2 (+ before)
        assert pl.CHANGE_COLOUR["unchanged"] in colours and pl.PROBLEM not in colours
        legend = frame.locator(".wangge-legend")
        assert "变动网格" in legend.inner_text() and "问题" in legend.inner_text()
        page.get_by_text("变动网格", exact=True).first.wait_for(timeout=30_000)  # the metric
        _shot(page, "planner.png", "预览地图")  # the map's canvas drawn first

        faults.write_bytes(as_bytes(territory(grid_codes=(G1, C + "009", G3)) + [
            feature("grid", C + "010", C, box(X0 + 2.5 * D, Y0, X0 + 3 * D, Y0 + D))]))
        page.locator('input[type="file"]').set_input_files(str(faults))
        page.get_by_text("已阻止：文件中有").wait_for(timeout=60_000)
        map_where(page, f"() => ({COLOURS})().includes('{pl.PROBLEM}')")
        page.get_by_text("编码被改").first.wait_for(timeout=30_000)
        _shot(page, "planner_faults.png", "校验报告")

        other = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        log_in(other, base, "disp1", dispatcher)
        titles = other.locator(NAV).inner_text()
        assert "导出" in titles and "边界规划" not in titles
        browser.close()
    with clean_db.connect() as c:
        assert c.execute(text("SELECT id FROM generation")).scalars().all() == [gen]


def _panel_map(page):
    """The map's iframe (a Playwright Frame) of the tab shown, once Leaflet is up."""
    frame = page.locator(f'{PANEL} iframe[title="streamlit_folium.st_folium"]').last
    frame.scroll_into_view_if_needed()
    handle = frame.element_handle(timeout=30_000).content_frame()
    handle.wait_for_function("() => window.map && Object.keys(window.map._layers).length > 3",
                             timeout=30_000)
    return handle


def _open_tab(page, name: str) -> None:
    """Click the tab ``name`` and wait for the page's rerun it starts (tabs rerun the page) to
    end: a file set while that rerun draws the uploader again could be lost."""
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)  # the rerun requested
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=30_000)


def _wait_text(page, words: str) -> None:
    """Wait for ``words`` on the page; the tab's text in the failure otherwise."""
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.get_by_text(words).first.wait_for(timeout=60_000)
    except Timeout:
        seen = page.locator(PANEL).inner_text(timeout=5_000)
        raise AssertionError(f"{words!r} not shown; the tab read:\n{seen}") from None


def _shot(page, name: str, heading: str | None = None) -> None:
    """A screenshot of the page, scrolled to ``heading`` first (maps drawn)."""
    if heading:
        page.locator(PANEL).get_by_role("heading", name=heading).scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / name))


@pytest.mark.browser
def test_planner_drafts_imports_commits_and_round_trips_through_qgis(
        settings, clean_db: Engine, tmp_path: Path) -> None:
    """A town's buildings and streets stored, no territory: the planner draws a draft (at most
    20 buildings a grid), reads the workload and the map, imports the draft, sees the preview,
    commits it with a note; downloads the active grids, moves an edge and uploads the file
    again: the preview says how many units were re-cut. The dropzone speaks Chinese."""
    from playwright.sync_api import sync_playwright

    buildings = load_town(clean_db, tmp_path)
    planner = staff(clean_db, "planner2", "planner")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard(settings) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="zh-CN",
                                timezone_id="Asia/Shanghai", accept_downloads=True)
        log_in(page, base, "planner2", planner)
        page.locator(NAV).get_by_text("边界规划", exact=True).click()
        page.get_by_role("heading", name="边界规划").wait_for(timeout=30_000)
        zone = page.locator('[data-testid="stFileUploaderDropzone"]')
        hint = zone.locator('[data-testid="stFileUploaderDropzoneInstructions"]')
        text_box = hint.locator("div").first.element_handle(timeout=30_000)
        page.wait_for_function(  # the page's style may land just after the uploader
            "e => getComputedStyle(e, '::after').content.includes('单个文件不超过')",
            arg=text_box, timeout=30_000)
        after = text_box.evaluate("e => getComputedStyle(e, '::after').content")
        assert "单个文件不超过" in after and "MB" in after, after
        assert not hint.locator("span").first.is_visible()  # Streamlit's "…MB per file"
        zone.screenshot(path=str(SHOTS / "uploader.png"))
        drag = page.evaluate_handle("() => { const d = new DataTransfer(); "
                                    "d.items.add(new File(['x'], 'a.geojson')); return d; }")
        zone.dispatch_event("dragenter", {"dataTransfer": drag})
        over = zone.locator(":scope > div:not([data-testid])")
        assert "松开鼠标" in over.evaluate("e => getComputedStyle(e, '::after').content")
        assert not zone.get_by_text("Drag and drop").is_visible()
        zone.dispatch_event("dragleave", {"dataTransfer": drag})

        _open_tab(page, "起草网格")
        panel = page.locator(PANEL)
        panel.get_by_label("区县代码（6 位数字）").fill("320508")
        panel.get_by_label("区县名称").fill("姑苏区")
        most = panel.get_by_label("每个网格最多楼栋数")
        most.fill("20")
        most.press("Enter")
        panel.get_by_role("button", name="开始起草").click()
        panel.get_by_role("heading", name="各网格工作量").wait_for(timeout=60_000)
        panel.get_by_text("网格边界沿街比例").first.wait_for(timeout=30_000)  # drawn after
        panel.get_by_test_id("stDataFrame").last.wait_for(timeout=30_000)  # their skeletons
        panel.get_by_text(f"由 {buildings} 栋建筑划出").wait_for(timeout=30_000)
        _shot(page, "draft.png", "各网格工作量")
        frame = _panel_map(page)
        legend = frame.locator(".wangge-legend").inner_text()
        assert "草稿网格" in legend
        _shot(page, "draft_map.png", "草稿地图")

        with page.expect_download() as got:
            panel.get_by_role("button", name="下载草稿（GeoJSON，可在 QGIS 中编辑）").click()
        draft = json.loads(Path(got.value.path()).read_bytes())
        assert got.value.suggested_filename.startswith("wangge-draft-320508-")
        assert {f["properties"]["level"] for f in draft["features"]} >= {"grid", "unit"}

        panel.get_by_role("button", name="导入此草稿").click()
        panel.get_by_text("可以导入：以下为预览").wait_for(timeout=60_000)
        panel.get_by_text("新增网格", exact=True).first.wait_for(timeout=30_000)  # drawn after
        _panel_map(page)
        _shot(page, "draft_preview.png", "预览地图")
        with clean_db.connect() as c:
            assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == 0
        panel.get_by_label("说明（为什么调整这些边界）").fill("首次划分网格")
        panel.get_by_text("我已核对预览：现在启用这些边界").click()
        panel.get_by_role("button", name="提交并启用").click()
        page.get_by_text("已启用").first.wait_for(timeout=60_000)

        _open_tab(page, "边界版本与回退")
        with page.expect_download() as got:
            page.locator(PANEL).get_by_role("button", name="下载当前网格（GeoJSON）").click()
        active = Path(got.value.path()).read_bytes()
        _shot(page, "generations.png")
        moved = tmp_path / "moved_in_qgis.geojson"
        moved.write_bytes(file_moved(active)[0])
        _open_tab(page, "导入边界文件")
        page.locator(f'{PANEL} input[type="file"]').set_input_files(str(moved))
        _wait_text(page, "可以导入：以下为预览")
        recut = page.get_by_text("边界有变动的 2 个网格内的单元已重新划分")
        recut.wait_for(timeout=30_000)  # Streamlit draws the page's parts one after another
        assert recut.is_visible()
        chip = page.locator(PANEL).get_by_test_id("stFileChipName")
        assert chip.get_attribute("title") == moved.name and chip.is_visible()  # not hidden
        _panel_map(page)
        _shot(page, "recut.png", "预览地图")
        browser.close()
    with clean_db.connect() as c:
        assert c.execute(text("SELECT status FROM generation")).scalars().all() == ["active"]
