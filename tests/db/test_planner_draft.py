"""AppTest of the planner's first draft (起草网格) and the downloads for QGIS: grids and units
drawn from the stored buildings and streets (as `wangge etl units --all`), the workload per
grid, the street fit, the draft as a boundary file the import takes, its import through the
same preview and commit as an upload; the active grids downloaded, a grid edge moved and
uploaded again with the units left alone (the import re-cuts them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from support.planner import file_moved, load_town, page_text, planner_page

from boundaries.core import run_import
from dashboard import planner as pl
from gis.access import auth
from gis.access.auth import create_token

DRAFT = "pl_draft"  # the page's session keys
DRAFT_CHECKED = "pl_draft_checked"


@pytest.fixture()
def town(settings, clean_db: Engine, tmp_path: Path, monkeypatch) -> int:
    """The small town's buildings and streets stored, no territory yet; the page reads the
    test database. The number of buildings."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    return load_town(clean_db, tmp_path)


def _draw(at, most_buildings: int = 20):
    """Fill the draft form (a district of the test) and draw."""
    at.text_input(key="pld_code").input("320508").run()
    at.text_input(key="pld_name").input("姑苏区").run()
    at.number_input(key="pld_max_buildings").set_value(most_buildings).run()
    at.button(key="pld_draw").click().run()
    assert not at.exception, at.exception
    return at


def _downloads(at) -> dict[str, object]:
    """The page's download buttons by label."""
    return {b.proto.label: b.proto for b in at.get("download_button")}


def _generations(engine: Engine) -> list[tuple]:
    """(id, status) of every generation."""
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT id, status FROM generation "
                                                 "ORDER BY id")).all()]


def test_a_first_draft_is_drawn_imported_and_committed(town: int, clean_db: Engine,
                                                       tmp_path: Path) -> None:
    """A planner draws a draft with at most 20 buildings a grid: the workload table (every
    building in one grid, none over 20), the street fit, the map; the download is a boundary
    file the import accepts; importing it previews (nothing stored), the commit with a note
    activates it."""
    at = planner_page(clean_db).run()
    assert not at.exception, at.exception
    assert "尚未加载道路图层" not in page_text(at)
    _draw(at)
    txt = page_text(at)
    d: pl.Draft = at.session_state[DRAFT]
    grids = d.out["levels"]["grid"]
    assert f"{grids} 个网格" in txt and f"由 {town} 栋建筑" in txt and "北京时间" in txt
    assert "尚未保存任何内容" in txt and _generations(clean_db) == []
    assert "已沿已加载的道路和障碍线（河道、铁路）划分（建筑附近已加载 9 条）" in txt
    assert "网格边界沿街比例=100%" in txt
    assert "跨街的多楼栋单元=0 / " in txt
    table = at.dataframe[0].value
    assert len(table) == grids >= 4 and table["楼栋数"].sum() == town
    assert table["楼栋数"].max() <= 20 and table["单元"].sum() == d.out["levels"]["unit"]
    assert list(at.dataframe[1].value["指标"])[:2] == ["楼栋数", "建筑面积（平方米）"]
    html = pl.draft_map(d).get_root().render()
    assert all(g.code in html for g in d.grids) and "wangge-legend" in html
    downloads = _downloads(at)
    assert "下载草稿（GeoJSON，可在 QGIS 中编辑）" in downloads

    path = tmp_path / d.name
    path.write_bytes(d.content)
    fc = json.loads(d.content)
    assert {f["properties"]["level"] for f in fc["features"]} == {
        "district", "street", "community", "grid", "unit"}
    names = [f["properties"]["name"] for f in fc["features"]]
    assert all(not n.isascii() for n in names)  # in Chinese in QGIS: 1-1-1网格, 最小单元001
    checked = run_import(clean_db, path)
    assert checked.report["acceptable"], checked.report["groups"]
    assert _generations(clean_db) == []

    at.button(key="pld_import").click().run()
    assert not at.exception, at.exception
    txt = page_text(at)
    assert "可以导入：以下为预览" in txt and f"新增网格={grids}" in txt
    assert at.session_state[DRAFT_CHECKED].result.report["acceptable"]
    assert _generations(clean_db) == []
    at.text_input(key="pld_note").input("首次划分网格（草稿）").run()
    at.checkbox(key="pld_confirm").check().run()
    at.button(key="pld_commit").click().run()
    assert not at.exception, at.exception
    gens = _generations(clean_db)
    assert [s for _g, s in gens] == ["active"] and f"版本 {gens[0][0]} 已启用" in page_text(at)
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM grid WHERE generation_id = :g"),
                         {"g": gens[0][0]}).scalar_one() == grids
    assert DRAFT not in at.session_state  # the draft is done with


def test_the_active_grids_go_to_qgis_and_back_with_their_units_recut(
        town: int, clean_db: Engine, tmp_path: Path) -> None:
    """The active generation downloaded from the generations tab, a grid edge moved, the file
    uploaded again: the preview says how many units were re-cut, in the two grids only."""
    from etl import draw
    from etl.units import DrawParams

    draw.draw_district(clean_db, "320508", "姑苏区", params=DrawParams(grid_max_buildings=20),
                       commit=True)
    [(gen, _s)] = _generations(clean_db)
    at = planner_page(clean_db).run()
    assert not at.exception, at.exception
    assert at.text_input(key="pld_code").value == "320508"  # a new draft: the same district
    assert at.text_input(key="pld_name").value == "姑苏区"
    label = "下载当前网格（GeoJSON）"
    assert _downloads(at)[label].label == label
    assert f"版本 {gen} 的边界文件" in page_text(at)
    who = auth.authenticate(clean_db, create_token(clean_db, "planner", None, name="w")["token"])
    file = pl.active_file(who)
    assert file.name.startswith(f"wangge-boundaries-generation-{gen}-")
    content, moved = file_moved(file.content, normalize=True)
    at.file_uploader[0].set_value(("moved.geojson", content, "application/geo+json")).run()
    assert not at.exception, at.exception
    txt = page_text(at)
    rep = at.session_state["pl_checked"][1].result.report
    assert rep["acceptable"], rep["groups"]
    assert sorted(rep["recut"]["grids"]) == sorted(moved)
    n = rep["recut"]["counts"]
    assert f"边界有变动的 2 个网格内的单元已重新划分：现 {n['units_after']} 个单元（原 " \
           f"{n['units_before']} 个）" in txt
    assert "变动网格=2" in txt and _generations(clean_db) == [(gen, "active")]


def test_without_a_street_layer_the_planner_is_told_the_draft_ignores_streets(
        settings, clean_db: Engine, tmp_path: Path, monkeypatch) -> None:
    """Buildings only: the page says before and after drawing that streets are ignored; a grid
    left in pieces is listed with its reason."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    load_town(clean_db, tmp_path, streets=False)
    at = planner_page(clean_db).run()
    assert "尚未加载道路图层：起草时将不考虑道路" in page_text(at)
    _draw(at, most_buildings=5)
    txt = page_text(at)
    assert "未使用道路图层：建筑附近没有已加载的道路线，本草稿未考虑道路" in txt
    d = at.session_state[DRAFT]
    assert not d.streets_used and d.out["flags"]  # bisected buildings left a grid in pieces
    f = d.out["flags"][0]
    assert f"被划成多片的区域（{len(d.out['flags'])} 个）" in txt
    assert f"网格 {f['code']}：{f['pieces']} 片——未使用道路图层，网格按建筑二分得出" in txt


def test_uploader_speaks_the_pages_language(town: int, clean_db: Engine) -> None:
    """The dropzone's text is the catalogue's, with the platform's limit, in either language;
    a bad district code is refused in Chinese."""
    from dashboard import ui

    mb = ui.upload_limit_mb()
    zh = planner_page(clean_db).run()
    css = "".join(h.proto.body for h in zh.get("html"))
    assert f"单个文件不超过 {mb} MB" in css and '"选择文件"' in css
    assert "stFileUploaderDropzoneInstructions" in css
    en = planner_page(clean_db, lang="en").run()
    css = "".join(h.proto.body for h in en.get("html"))
    assert f"up to {mb} MB per file" in css and '"Choose a file"' in css
    zh.text_input(key="pld_code").input("3205").run()
    zh.button(key="pld_draw").click().run()
    assert "区县代码须为 6 位数字" in page_text(zh)
