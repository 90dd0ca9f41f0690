"""AppTest of the statistics board (统计大屏): the viewer's area only, Chinese first, English
by the switch, the empty state, the log-in, and its place in the navigation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.charts import vega_charts
from support.workflow import CENTRE, G1, G_OTHER_COMMUNITY, G_OTHER_STREET, clear_workflow, report

from gis.access.auth import create_token
from gis.territory.locator import Locator
from gis.workflow import transitions as workflow

DASH = Path(__file__).resolve().parents[2] / "dashboard"
PAGE = DASH / "pages" / "statistics.py"
STREET = G1[:9]


@pytest.fixture()
def page_env(settings, demo_district, engine, owner_engine, monkeypatch):
    """The page's database is the test database; no workflow rows; fresh caches."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    clear_workflow(owner_engine)
    import streamlit as st

    st.cache_data.clear()
    return Locator(engine)


@pytest.fixture()
def events(page_env, engine):
    """Reported now: two fire hazards in G1 (one closed on time), a sanitation problem in
    another community of the street, a theft in another street."""
    a = report(engine, page_env, "safety.fire", G1)
    report(engine, page_env, "safety.fire", G1)
    report(engine, page_env, "health.sanitation", G_OTHER_COMMUNITY)
    report(engine, page_env, "crime.theft", G_OTHER_STREET)
    for action in ("accept", "dispatch", "resolve", "close"):
        workflow.transition(engine, a, action, CENTRE, note=action)
    return engine


def _page(engine, role: str, area: str | None, lang: str = "zh",
          path: Path = PAGE) -> AppTest:
    """The page logged in with a token of ``role`` in ``lang``."""
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["wg_lang"] = lang
    at.session_state["wg_token"] = create_token(engine, role, area, name="board")["token"]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    """Metric label → value."""
    return {m.label: m.value for m in at.metric}


def test_board_of_a_street_dispatcher(events, engine) -> None:
    """Street 1's three events (not the other street's theft), in Chinese, as six charts."""
    at = _page(engine, "street_dispatcher", STREET).run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == ["统计大屏"]
    assert _metrics(at) == {"今日新增": "3", "在办事件": "2", "超期": "0", "今日结案": "1",
                            "按期结案率（近30天）": "100%", "巡查覆盖率（近7天）": "0%"}
    assert any("北京时间" in c.value and "每 60 秒自动刷新" in c.value for c in at.caption)
    charts = {c.title: c for c in vega_charts(at)}
    assert list(charts) == ["近30天每日事件数（按大类）", "高发事件前10项（近30天）",
                            "各街道事件数（近30天）", "各社区事件数（近30天）",
                            "各社区按期结案率", "各社区巡查覆盖率"]
    assert sum(r["n"] for r in charts["近30天每日事件数（按大类）"].rows) == 3
    assert {r["name"]: r["n"] for r in charts["高发事件前10项（近30天）"].rows} == {
        "消防隐患": 2, "环境卫生": 1}
    top = charts["高发事件前10项（近30天）"].spec
    assert top["encoding"]["y"]["sort"] == ["消防隐患", "环境卫生"]  # most first, coloured too
    assert charts["各社区事件数（近30天）"].spec["encoding"]["y"]["sort"] == ["1-1社区", "1-2社区"]
    assert charts["各街道事件数（近30天）"].rows == [{"name": "第一街道", "n": 3}]
    assert {r["name"]: r["n"] for r in charts["各社区事件数（近30天）"].rows} == {
        "1-1社区": 2, "1-2社区": 1}
    assert [(r["name"], r["rate"]) for r in charts["各社区按期结案率"].rows] == [
        ("1-1社区", 1.0)]
    assert len(charts["各社区巡查覆盖率"].rows) == 4  # the street's four communities
    assert "盗窃" not in str([c.rows for c in charts.values()])  # the other street's theft


def test_a_community_dispatcher_sees_its_community(events, engine) -> None:
    """Community 1-1: the two fire hazards only."""
    at = _page(engine, "community_dispatcher", G1[:12]).run()
    assert not at.exception, at.exception
    assert _metrics(at)["今日新增"] == "2"
    rows = {c.title: c.rows for c in vega_charts(at)}
    assert rows["各社区事件数（近30天）"] == [{"name": "1-1社区", "n": 2}]


def test_english_switch_and_catalogue(events, engine) -> None:
    """In English the labels are the message ids; every message id has its Chinese."""
    from dashboard import board, i18n

    at = _page(engine, "district_centre", None, lang="en").run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == ["Statistics board"]
    assert _metrics(at)["New today"] == "4"
    assert any("Whole district" in c.value and "China Standard Time" in c.value
               for c in at.caption)
    titles = [c.title for c in vega_charts(at)]
    assert "Events per street (last 30 days)" in titles
    assert "On-time rate per street" in titles  # the centre sees two streets
    top = next(c for c in vega_charts(at) if c.title.startswith("Top 10"))
    assert {r["name"] for r in top.rows} >= {"Theft or burglary"}
    src = PAGE.read_text(encoding="utf-8") + (DASH / "board.py").read_text(encoding="utf-8")
    ids = set(re.findall(r'\bt\(\s*"([^"]+)"', src)) | {"Statistics board", board.DB_DOWN}
    for titles in (board.AREA_TITLES, board.ON_TIME_TITLES, board.COVERAGE_TITLES):
        ids |= set(titles.values())
    missing = ids - set(i18n.messages("statistics"))
    assert not missing, missing


def test_no_events_is_the_empty_state(page_env, engine) -> None:
    """No events: zeros, the empty-state message, only the patrol coverage chart."""
    at = _page(engine, "district_centre", None).run()
    assert not at.exception, at.exception
    assert _metrics(at)["今日新增"] == "0" and _metrics(at)["按期结案率（近30天）"] == "—"
    assert [i.value for i in at.info] == ["本辖区近30天暂无事件。"]
    assert [c.title for c in vega_charts(at)] == ["各街道巡查覆盖率"]


def test_nothing_closed_says_so_instead_of_an_empty_rate_chart(page_env, engine) -> None:
    """Events but none closed: the on-time rate is "—" and a message stands where its chart
    would be empty; the other charts are drawn."""
    report(engine, page_env, "safety.fire", G1)
    at = _page(engine, "district_centre", None).run()
    assert not at.exception, at.exception
    assert _metrics(at)["按期结案率（近30天）"] == "—"
    assert [i.value for i in at.info] == ["近30天尚无结案，暂无按期结案率。"]
    titles = [c.title for c in vega_charts(at)]
    assert "各街道事件数（近30天）" in titles and "各街道巡查覆盖率" in titles
    assert not any("按期结案率" in x for x in titles)


def test_logged_out_shows_the_log_in_form(page_env) -> None:
    """Without a session the page asks for the log-in and shows no figures."""
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == ["网格化管理指挥中心 · 登录"]
    assert not at.metric and not vega_charts(at)


def test_the_navigation_opens_the_board(events, engine) -> None:
    """app.py lists the board (统计大屏); switching to it draws the charts."""
    at = _page(engine, "district_centre", None, path=DASH / "app.py").run()
    assert not at.exception, at.exception
    at.switch_page("pages/statistics.py").run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == ["统计大屏"]
    assert len(vega_charts(at)) == 6
