"""AppTest of the planner's page (边界规划): upload, grouped report, preview counts and map,
commit with a note, generations and rollback — through the same core as `wangge boundaries`;
nothing stored from a faulty file; only planners and the district centre get in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest
from support.boundary_files import G1, G2, G3, X0, Y0, C, D, feature, territory
from support.planner import STRIP, as_bytes, base_district, grids_moved, moved_edge

from dashboard import planner as pl
from gis.access.auth import create_token
from gis.intake import catalogue
from gis.intake.events import Report, ingest
from gis.territory.locator import Locator

DASH = Path(__file__).resolve().parents[2] / "dashboard"
PAGE = DASH / "pages" / "planner.py"
CHECKED = "pl_checked"  # the page's session key of the file it shows


@pytest.fixture()
def district(settings, clean_db: Engine, tmp_path: Path, monkeypatch) -> int:
    """The small territory active (imported through the pipeline) with one open event in the
    strip that will change grid; the page reads the test database."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    gen = base_district(clean_db, tmp_path)
    with clean_db.connect() as c:
        item = sorted(catalogue.active_items(c))[0]
    ingest(clean_db, Locator(clean_db), [Report(item=item, lon=STRIP[0], lat=STRIP[1])])
    return gen


def _page(engine: Engine, role: str = "planner", area: str | None = None,
          lang: str = "zh") -> AppTest:
    """The planner's page logged in with a token of ``role``."""
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["wg_lang"] = lang
    at.session_state["wg_token"] = create_token(engine, role, area, name="planner-wang")["token"]
    return at


def _text(at: AppTest) -> str:
    """Every text of a run: markdown, alerts, metrics, captions, titles."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.error]
    parts += [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric] + [x.value for x in at.title]
    return "\n".join(str(p) for p in parts)


def _upload(at: AppTest, name: str, content: bytes) -> AppTest:
    """Upload a file through the page's uploader and run."""
    at.file_uploader[0].set_value((name, content, "application/geo+json")).run()
    assert not at.exception, at.exception
    return at


def _map_html(at: AppTest) -> str:
    """The preview map of the file the page shows, as HTML (checked: no CDN, a legend)."""
    import re

    html = pl.preview_map(at.session_state[CHECKED][1]).get_root().render()
    assert re.findall(r'(?:src|href)="https?://', html) == []  # the vendored Leaflet
    assert "wangge-legend" in html
    return html


def _styled(html: str, colour: str) -> bool:
    """True when some feature of the map is drawn in ``colour`` (not just the legend)."""
    return f'"color": "{colour}"' in html


def _state(engine: Engine) -> tuple:
    """The generations (id, status) and the open event's grid."""
    with engine.connect() as c:
        gens = c.execute(text("SELECT id, status FROM generation ORDER BY id")).all()
        grid = c.execute(text("SELECT grid_code FROM event")).scalar_one()
    return [tuple(g) for g in gens], grid


def test_moved_edge_preview_commit_rollback(district: int, clean_db: Engine) -> None:
    """A planner uploads a file whose G1 | G2 edge moved: the counts show two changed grids and
    the open event changing grid, nothing stored yet; commit with a note activates a new
    generation (the event now in G1); rollback, confirmed, restores the former one."""
    before = _state(clean_db)
    assert before == ([(district, "active")], G2)
    at = _page(clean_db).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "边界规划"
    _upload(at, "moved.geojson", as_bytes(moved_edge()))
    txt = _text(at)
    assert "可以导入：以下为预览，尚未作任何更改" in txt
    assert "变动网格=2" in txt and "未结事件换网格=1" in txt and "未结事件仅换网格员=0" in txt
    assert "新增单元=1" in txt and "撤销单元=1" in txt
    assert _state(clean_db) == before  # a preview stores nothing
    html = _map_html(at)
    assert _styled(html, pl.CHANGE_COLOUR["changed"]) and not _styled(html, pl.PROBLEM)

    at.text_input(key="pl_note").input("沿道路调整 G1/G2 边界").run()
    at.button(key="pl_commit").click().run()
    assert "请先勾选确认" in _text(at) and _state(clean_db) == before
    at.checkbox(key="pl_confirm").check().run()
    at.button(key="pl_commit").click().run()
    assert not at.exception, at.exception
    gens, grid = _state(clean_db)
    new = gens[-1][0]
    assert gens == [(district, "retired"), (new, "active")] and grid == G1
    assert f"版本 {new} 已启用（原为 {district}）" in _text(at)
    with clean_db.connect() as c:
        desc = c.execute(text("SELECT description FROM generation WHERE id = :g"),
                         {"g": new}).scalar_one()
        audit = c.execute(text("SELECT actor, target FROM audit_log WHERE action = "
                               "'boundaries.import' AND target IS NOT NULL")).all()
    assert desc.startswith("沿道路调整 G1/G2 边界 (uploaded by planner-wang")
    assert [tuple(a) for a in audit] == [("planner-wang", f"generation:{new}")]
    assert not at.file_uploader[0].value  # a fresh uploader after the commit

    assert [r for r in at.dataframe[-1].value["版本"]] == [new, district]
    at.button(key="pl_rb_ask").click().run()
    assert f"回退将重新启用版本 {district}，停用版本 {new}" in _text(at)
    assert _state(clean_db)[1] == G1  # asked, not done
    assert at.button(key="pl_rb_do").disabled
    at.checkbox(key="pl_rb_confirm").check().run()
    at.button(key="pl_rb_do").click().run()
    assert not at.exception, at.exception
    assert f"已回退：版本 {district} 重新启用" in _text(at)
    gens, grid = _state(clean_db)
    assert gens == [(district, "active"), (new, "retired")] and grid == G2


def test_grids_only_file_shows_the_recut_units(settings, clean_db: Engine, monkeypatch) -> None:
    """Suzhou demo (buildings loaded): a file of grids only with one shared edge moved 40 m.
    The page counts the re-cut units and draws them on the map; nothing stored before the
    commit."""
    from etl.demo import load_demo

    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    load_demo(clean_db, n_events=20, days=1)
    content, a, b = grids_moved(clean_db)
    with clean_db.connect() as c:
        gens = c.execute(text("SELECT count(*) FROM generation")).scalar_one()
    at = _upload(_page(clean_db).run(), "grids.geojson", content)
    txt = _text(at)
    assert "可以导入" in txt and "变动网格=2" in txt and "单元重划的网格=2" in txt
    rc = at.session_state[CHECKED][1].result.report["recut"]
    assert sorted(rc["grids"]) == sorted([a, b])
    n = rc["counts"]
    assert f"重新划分的单元={n['units_before']} → {n['units_after']}" in txt
    assert f"重新划分：{n['kept']} 个单元楼栋不变" in txt
    html = _map_html(at)
    assert _styled(html, pl.RECUT)
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == gens


def test_faulty_file_shows_the_grouped_report_and_stores_nothing(
        district: int, clean_db: Engine) -> None:
    """A file with a renamed grid (its units left pointing at the old code) and an overlap: the
    report is grouped, errors first, the renamed grid's consequences folded under it; the
    commit is not offered; nothing is stored. An empty file is told in Chinese."""
    feats = territory(grid_codes=(G1, C + "009", G3))
    feats.append(feature("grid", C + "010", C, box(X0 + 2.5 * D, Y0, X0 + 3 * D, Y0 + D)))
    before = _state(clean_db)
    at = _upload(_page(clean_db).run(), "faults.geojson", as_bytes(feats))
    assert "已阻止：文件中有" in _text(at) and "未保存任何内容" in _text(at)
    boxes = [e.value for e in at.error]
    first = boxes[1]  # after the outcome line, the first group: the cause, with its count
    assert first.startswith("**错误** · 编码被改 (`renamed_code`) × 1")
    assert "导致另外" in first and "缺少上级" in first
    assert any("(`overlap`)" in b for b in boxes)
    assert not any("(`missing_parent`)" in b for b in boxes)  # folded, not listed again
    assert not [b for b in at.button if b.key == "pl_commit"]
    assert _styled(_map_html(at), pl.PROBLEM)  # the overlap drawn in red
    assert _state(clean_db) == before

    _upload(at, "empty.geojson", b"")
    assert "文件无法读取，未保存任何内容。" in _text(at) and "不是有效的 JSON" in _text(at)
    assert not at.metric
    assert _state(clean_db) == before


def test_a_community_dispatcher_is_told_the_page_is_not_theirs(
        district: int, clean_db: Engine, api) -> None:
    """A community dispatcher opens the page: told so, no uploader; the API's boundary writes
    refuse the same role (one rule, gis.access.auth.check_boundary_writer)."""
    at = _page(clean_db, "community_dispatcher", C).run()
    assert not at.exception, at.exception
    assert "只有规划人员和区综治中心可以修改边界；您的角色（社区调度员）不能打开此页面" \
        in _text(at)
    assert not at.file_uploader and not at.dataframe
    token = create_token(clean_db, "community_dispatcher", C, name="d")["token"]
    r = api.post("/api/v1/boundaries/rollback?commit=true",
                 headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"


def test_english_and_catalogue(district: int, clean_db: Engine) -> None:
    """In English the page's labels are the message ids; every id has its Chinese."""
    from dashboard import i18n

    at = _upload(_page(clean_db, "district_centre", lang="en").run(), "moved.geojson",
                 as_bytes(moved_edge()))
    assert at.title[0].value == "Boundaries"
    assert "Grids changed=2" in _text(at) and "Open events changing grid=1" in _text(at)
    ids = set()
    for src in (PAGE, DASH / "planner.py"):
        for node in ast.walk(ast.parse(src.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" \
                    and node.args and isinstance(node.args[0], ast.Constant):
                ids.add(node.args[0].value)
    ids |= {f"status:{s}" for s in ("draft", "active", "retired", "discarded")}
    ids |= {"added", "removed", "changed", "unchanged"}
    ids |= {f"unit {c}" for c in ("kept", "changed", "new", "retired")}
    missing = ids - set(i18n.messages("planner"))
    assert not missing, missing
