"""AppTest of the dispatcher workbench page: an accept from the page changes the event in
the database; a refused action (illegal transition) shows the refusal's message."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.workflow import CENTRE, G1, G_OTHER_STREET, clear_workflow, report, row

from gis.access.auth import create_token
from gis.territory.locator import Locator
from gis.workflow import queues
from gis.workflow import transitions as workflow

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "pages" / "workbench.py"


@pytest.fixture()
def page_env(settings, demo_district, engine, owner_engine, monkeypatch):
    """The page's database is the test database; no workflow rows."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_MEDIA_URL", str(settings.media_url))
    clear_workflow(owner_engine)
    import streamlit as st

    st.cache_data.clear()
    return Locator(engine)


def _page(engine, role: str, area: str | None) -> AppTest:
    """The page logged in with a token of ``role``."""
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.session_state["wg_token"] = create_token(engine, role, area, name="wb")["token"]
    return at


def test_accept_from_the_page(page_env, engine):
    """The community dispatcher sees only its event; accepting it changes the status."""
    mine = report(engine, page_env, "safety.fire", G1)
    report(engine, page_env, "safety.fire", G_OTHER_STREET)
    at = _page(engine, "community_dispatcher", "320508001001").run()
    assert not at.exception, at.exception
    assert at.tabs[0].label.endswith("(1)")
    assert at.selectbox(key="wb_event_zh").value == mine
    at.button(key="wb_accept").click().run()
    assert not at.exception, at.exception
    assert row(engine, mine)["status"] == "accepted"
    assert any("已完成" in s.value for s in at.success)
    assert at.selectbox(key="wb_event_zh").value == mine  # it left the queue; still open here
    at.selectbox(key="wb_level").set_value("grid")
    at.button(key="wb_dispatch").click().run()
    assert not at.exception, at.exception
    assert row(engine, mine)["status"] == "dispatched"


def test_refused_action_shows_the_message(page_env, engine):
    """The page offers only what gis allows now; an event accepted elsewhere after the page
    showed it makes the page's accept an illegal transition: the page shows the refusal."""
    eid = report(engine, page_env, "safety.fire", G1)
    at = _page(engine, "district_centre", None).run()
    assert at.selectbox(key="wb_event_zh").value == eid
    keys = {b.key for b in at.button}
    assert {"wb_accept", "wb_reject"} <= keys and "wb_close" not in keys  # reported
    at.button(key="wb_reject").click().run()  # no reason given
    assert any("请填写说明或理由" in e.value for e in at.error), [e.value for e in at.error]
    assert row(engine, eid)["status"] == "reported"
    workflow.transition(engine, eid, "accept", CENTRE)  # done elsewhere meanwhile
    at.button(key="wb_accept").click().run()
    assert not at.exception, at.exception
    msgs = [e.value for e in at.error]
    assert any("操作被拒绝：当前状态不允许此操作" in m and "cannot accept" in m
               for m in msgs), msgs
    assert at.tabs[0].label == "待受理 (0)"  # the queues are read after the action


def test_the_page_offers_what_gis_allows_the_caller(page_env, engine):
    """The buttons follow gis's rule for the caller's role and the event's status
    (gis.workflow.tasks.caller_actions), the whistle included."""
    from gis.access.auth import Principal
    from gis.workflow import tasks

    eid = report(engine, page_env, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    at = _page(engine, "community_dispatcher", "320508001001").run()
    at.selectbox(key="wb_event_zh").set_value(eid).run()
    who = Principal("community_dispatcher", areas=("320508001001",))
    allowed = set(tasks.caller_actions(who, "accepted", False))
    keys = {b.key.removeprefix("wb_") for b in at.button if b.key}
    for action in ("accept", "reject", "close", "reopen", "whistle", "dispatch", "escalate"):
        assert (action in keys) == (action in allowed), action
    assert "accept" not in keys and "dispatch" in keys


def test_english_switch_and_catalogue(page_env, engine):
    """In English the labels are the message ids; every message id has its Chinese."""
    import re

    from dashboard import i18n
    from dashboard import workbench as wb

    report(engine, page_env, "safety.fire", G1)
    at = _page(engine, "district_centre", None)
    at.session_state["wg_lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert at.tabs[0].label == "New reports (1)"
    src = PAGE.read_text(encoding="utf-8")
    ids = set(re.findall(r'\bt\("([^"]+)"', src)) | set(wb.LABELS.values())
    ids |= set(wb.ACTIONS.values())
    from gis.workflow.state import ACTIONS

    steps = set(ACTIONS) - {"escalate"} | {"reported", "reassigned", "escalated",
                                           "duplicate_dismissed", "ask_escalate", "acknowledge"}
    ids |= {f"step:{a}" for a in steps}
    missing = ids - set(i18n.messages("workbench"))
    assert not missing, missing


def test_detail_shows_photos_history_and_refresh(page_env, engine, settings):
    """The selected event's photo thumbnail and history show; an accept done elsewhere (as by
    the API) shows on the next run of the page."""
    from support.fieldapp import photo

    from gis.intake import attachments
    from gis.media.store import open_store

    eid = report(engine, page_env, "safety.fire", G1)
    attachments.store_files(engine, open_store(settings.media_url), settings, eid,
                            [attachments.Upload("a.jpg", "image/jpeg", photo())])
    at = _page(engine, "community_dispatcher", "320508001001").run()
    assert not at.exception, at.exception
    assert [type(e).__name__ for e in at.main].count("Image") == 1
    phone = queues.event_detail(engine, CENTRE, eid)["worker_phone"]
    assert phone and any(f"(tel:{phone})" in m.value for m in at.markdown)
    workflow.transition(engine, eid, "accept", CENTRE)
    at.run()
    assert at.tabs[0].label == "待受理 (0)"
    hist = at.table[-1].value
    assert list(hist.iloc[:, 1]) == ["上报", "受理"]
    assert list(hist.iloc[:, 3]) == ["已上报", "已受理"]


def test_event_map_marks_the_event_and_cameras(page_env, engine):
    """The detail map marks the event at its stored point (no basemap: WGS84) and cameras,
    with nothing fetched from a CDN."""
    import re

    from dashboard import workbench as wb

    eid = report(engine, page_env, "safety.fire", G1)
    ev = queues.event_detail(engine, CENTRE, eid)
    cam = {"lon": ev["lon"] + 0.001, "lat": ev["lat"], "name": "西门摄像头", "code": "C1"}
    grids = [{"code": G1, "name": "一号网格", "geometry": {"type": "Polygon", "coordinates": [[
        [ev["lon"] - 0.001, ev["lat"] - 0.001], [ev["lon"] + 0.001, ev["lat"] - 0.001],
        [ev["lon"], ev["lat"] + 0.001], [ev["lon"] - 0.001, ev["lat"] - 0.001]]]}}]
    html = wb.event_map(ev, [cam], grids).get_root().render()
    assert f"[{ev['lat']}, {ev['lon']}]" in html and "西门摄像头" in html
    assert "一号网格" in html and "imperial: false" in html
    assert re.findall(r'(?:src|href)="https?://', html) == []  # the vendored Leaflet, no CDN


def test_escalate_and_dismiss_duplicate_from_the_page(page_env, engine):
    """Escalating to the street and dismissing a possible duplicate go through the page."""
    from sqlalchemy import text

    a = report(engine, page_env, "safety.fire", G1)
    b = report(engine, page_env, "safety.fire", G1, offset_m=5)
    at = _page(engine, "community_dispatcher", "320508001001").run()
    assert at.tabs[2].label == "疑似重复 (1)"
    at.selectbox(key="wb_event_zh").set_value(b).run()
    at.button(key=f"wb_dismiss_duplicate_{a}").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        st = conn.execute(text("SELECT status FROM event_duplicate WHERE event_id = :b"),
                          {"b": b}).scalar_one()
    assert st == "dismissed"
    workflow.transition(engine, a, "accept", CENTRE)
    workflow.transition(engine, a, "dispatch", CENTRE, level="community")  # my level
    at.run()
    at.selectbox(key="wb_event_zh").set_value(a).run()
    at.text_input(key="wb_note").input("需要街道协调")
    at.selectbox(key="wb_level").set_value("street")
    at.button(key="wb_escalate").click().run()
    assert not at.exception, at.exception
    assert row(engine, a)["level"] == "street", [e.value for e in at.error]


def test_open_an_event_by_its_number(page_env, engine):
    """事件编号 opens an event of the viewer's area; another area's or a missing number both
    answer 无此事件 (as if absent) and show nothing of it."""
    first = report(engine, page_env, "safety.fire", G1)
    second = report(engine, page_env, "safety.fire", G1, offset_m=300)
    other = report(engine, page_env, "safety.fire", G_OTHER_STREET)
    at = _page(engine, "community_dispatcher", "320508001001").run()
    assert at.selectbox(key="wb_event_zh").value == first
    assert at.text_input(key="wb_number").label == "事件编号"
    at.text_input(key="wb_number").input(str(second)).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="wb_event_zh").value == second
    assert any(h.value.startswith(f"#{second} ") for h in at.subheader)
    for n in (other, 999_999):
        at.text_input(key="wb_number").input(str(n)).run()
        assert not at.exception, at.exception
        assert [w.value for w in at.warning] == [f"无此事件：{n}"]
        assert not any(h.value.startswith(f"#{n} ") for h in at.subheader)
        assert other not in at.selectbox(key="wb_event_zh").options


def test_history_names_the_level_and_departments(page_env, engine):
    """A dispatch's history row shows the level sent to and the departments notified."""
    from dashboard import workbench as wb

    eid = report(engine, page_env, "safety.fire", G1)
    dept = wb.departments()[0]
    workflow.transition(engine, eid, "accept", CENTRE)
    workflow.transition(engine, eid, "dispatch", CENTRE, level="street", departments=[dept])
    at = _page(engine, "district_centre", None).run()
    at.text_input(key="wb_number").input(str(eid)).run()
    assert not at.exception, at.exception
    hist = at.table[-1].value
    step = hist[hist["动作"] == "派遣"].iloc[0]
    assert step["转至层级"] == "街道"
    assert wb.department_label(dept) in step["通报部门"].split("、")
