"""A day at the desk in real Chromium, in Chinese: a community dispatcher logs in on the
dashboard, sees only their community's events, accepts → dispatches → (the grid worker handles
it on the API) → verifies and closes one and reads its whole history; an action done elsewhere
and a new high-level event show on the open page; English by the switch; log out; the district
centre sees both communities. Every page is saved to test-output/desk/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from support.desk import (
    DESK,
    again_if_replaced,
    choose,
    dashboard_served,
    log_in,
    nav,
    nav_titles,
    options,
    shot,
    staff_account,
)
from support.fieldapp import ARGS, served
from support.workflow import CENTRE, G1, G_OTHER_COMMUNITY, W1, bearer, grid_point

from gis.workflow import queues

pytestmark = pytest.mark.browser

COMMUNITY = G1[:12]
WAIT = 30_000  # ms: a page run, or the workbench's refresh (10 s), with room to spare
EVENT = "选择事件"
LATIN = re.compile(r"[A-Za-z]{3,}")


def post_event(api: str, engine: Engine, grid: str, item: str, description: str) -> int:
    """A report posted on the API by the district centre at a point of ``grid``; its id."""
    lon, lat = grid_point(engine, grid)
    r = httpx.post(api + "/api/v1/events", json={
        "item": item, "source": "worker", "description": description, "lon": lon, "lat": lat},
        headers=bearer(engine, "district_centre", name="seed"), timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def act(api: str, headers: dict[str, str], eid: int, action: str) -> None:
    """One transition on the API (as the phone does it)."""
    r = httpx.post(f"{api}/api/v1/events/{eid}/transitions",
                   json={"action": action, "note": "现场处置"}, headers=headers,
                   timeout=10)
    assert r.status_code == 200, r.text


def named(texts: list[str], eid: int) -> bool:
    """Some text names event #eid (#12 is not #123)."""
    return any(re.search(rf"#{eid}(?!\d)", x) for x in texts)


def main_text(page: Any) -> str:
    """The text of the page's main part (not the sidebar) as a person reads it: without the
    names of the icons (their font draws them as pictures)."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]').cloneNode(true);
        document.body.appendChild(main);
        [...main.querySelectorAll('*')].filter(e => e.childElementCount === 0
            && getComputedStyle(e).fontFamily.includes('Material')).forEach(e => e.remove());
        const text = main.innerText;
        main.remove();
        return text;
    }""")


def english_words(text: str, data: list[str]) -> list[str]:
    """Words in Latin letters of ``text``, besides the ``data`` shown as stored."""
    for d in data:
        text = text.replace(d, "")
    return LATIN.findall(text)


def wait_text(page: Any, text: str) -> None:
    """Until ``text`` is on the page."""
    page.get_by_text(text).first.wait_for(timeout=WAIT)


def click(page: Any, name: str) -> None:
    """Click the button named ``name``."""
    page.get_by_role("button", name=name, exact=True).click()


def detail_map(page: Any) -> None:
    """Scroll to the event's map in the detail (its frame loads when near the view) and wait
    until it is drawn; looked up again when a rerun replaced the frame meanwhile (the
    workbench refreshes itself every few seconds)."""
    def drawn() -> None:
        box = page.locator('iframe[title="streamlit_folium.st_folium"]').last
        box.scroll_into_view_if_needed()
        frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').last
        frame.locator(".leaflet-overlay-pane path.leaflet-interactive").first.wait_for(
            timeout=WAIT)

    again_if_replaced(drawn, tries=3)


@pytest.fixture()
def desk(settings, demo_district, engine: Engine, owner_engine: Engine):
    """API and dashboard served on the demo district and two accounts: a dispatcher of one
    community and the district centre; yields (api, dashboard, password)."""
    staff_account(owner_engine, engine, "disp", "community_dispatcher", COMMUNITY)
    pw = staff_account(owner_engine, engine, "centre", "district_centre")
    with served(settings) as api, dashboard_served(settings, api) as dash:
        yield api, dash, pw


def visit_the_pages(page: Any, skip: set[str]) -> None:
    """Each page of the navigation not yet seen: its title shows, then a screenshot."""
    for i, title in enumerate(nav_titles(page)):
        if title in skip:
            continue
        nav(page, title)
        page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT)
        page.wait_for_timeout(1500)  # its charts and maps draw after the heading
        shot(page, f"07_centre_{i}_{page.url.rsplit('/', 1)[-1] or 'live_map'}", grow=i > 0)
        text = main_text(page)
        assert "Traceback" not in text and "Error" not in text, title


def test_a_dispatcher_and_the_centre_run_the_closed_loop_from_the_dashboard(desk, engine):
    """The whole day (see the module)."""
    from playwright.sync_api import sync_playwright

    api, dash, pw = desk
    mine = post_event(api, engine, G1, "safety.fire", "楼道堆放杂物")
    other = post_event(api, engine, G_OTHER_COMMUNITY, "safety.fire", "别的社区的事件")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(**DESK)
        outside: list[str] = []  # requests leaving this machine (the desk may be offline)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            ("http://127.0.0.1", "data:", "blob:", "about:")) else None)
        try:
            log_in(page, dash, "disp", pw)
            page.get_by_role("heading", name="实时地图").wait_for(timeout=WAIT)
            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
            frame.locator(".leaflet-container").first.wait_for(timeout=WAIT)
            shot(page, "01_live_map", grow=False)
            nav(page, "网格与人员")
            page.get_by_role("heading", name="网格与人员").wait_for(timeout=WAIT)
            shot(page, "02_grids_workers")

            # the workbench: only my community's events
            nav(page, "调度工作台")
            page.get_by_role("heading", name="调度工作台").wait_for(timeout=WAIT)
            picked = options(page, EVENT)
            assert named(picked, mine) and not named(picked, other), picked
            assert not named([main_text(page)], other)
            # accept → dispatch to the community, the fire brigade notified
            choose(page, EVENT, f"#{mine} ")
            click(page, "受理")
            wait_text(page, "已完成：受理")
            # only what gis allows now: accepted, it cannot be accepted again
            assert page.get_by_role("button", name="受理", exact=True).count() == 0
            choose(page, "派遣至层级", "社区")
            page.get_by_label("通报部门").click()
            page.get_by_role("option", name="消防").click()
            page.keyboard.press("Escape")
            click(page, "派遣/上报")
            wait_text(page, "已完成：派遣/上报")
            assert "状态 已派遣 · 层级 社区" in main_text(page)
            # the grid worker handles it on the phone (API): the open page shows it
            worker = bearer(engine, "grid_worker", worker=W1)
            act(api, worker, mine, "start")
            act(api, worker, mine, "resolve")
            wait_text(page, "状态 已处置")
            # verify and close from the page; the whole history in the detail
            click(page, "核查结案")
            wait_text(page, "已完成：核查结案")
            history = page.locator('[data-testid="stTable"]').last.inner_text()
            steps = [s for s in ("上报", "受理", "派遣", "开始处置", "处置完成", "核查结案")
                     if s in history]
            assert len(steps) == 6, history
            assert "状态 已结案" in main_text(page)
            detail_map(page)
            shot(page, "03_workbench_detail")

            # a new high-level event (theft: handled by the street) in my community: the banner
            theft = post_event(api, engine, G1, "crime.theft", "电动车被盗")
            banner = page.locator('[data-testid="stAlert"]').filter(has_text="新的高等级事件")
            banner.first.wait_for(timeout=WAIT)
            assert f"#{theft}" in banner.first.inner_text()
            assert page.locator('[data-testid="stAudio"]:visible').count() == 0  # beep unseen
            page.locator('[data-testid="stToast"]').first.wait_for(state="hidden", timeout=WAIT)
            shot(page, "04_alert_banner")
            worker_name = queues.event_detail(engine, CENTRE, mine)["worker_name"]
            assert english_words(main_text(page), [worker_name, "disp"]) == []

            # English by the switch
            page.locator('[data-testid="stSidebar"]').get_by_text("EN", exact=True).click()
            page.get_by_role("heading", name="Dispatcher workbench").wait_for(timeout=WAIT)
            page.get_by_role("tab", name=re.compile(r"^New reports \(\d+\)$")).wait_for()
            assert page.get_by_role("button", name="Log out").count() == 1
            shot(page, "05_english")
            click(page, "Log out")

            # logged out, the form keeps the person's language
            page.get_by_label("User name").wait_for(timeout=WAIT)

            # the district centre: both communities
            log_in(page, dash, "centre", pw)  # a new page: Chinese again
            page.get_by_role("heading", name="实时地图").wait_for(timeout=WAIT)
            nav(page, "调度工作台")
            page.get_by_role("heading", name="调度工作台").wait_for(timeout=WAIT)
            picked = options(page, EVENT)
            assert named(picked, other) and named(picked, theft), picked
            detail_map(page)
            shot(page, "06_centre_workbench")
            visit_the_pages(page, {"调度工作台"})
            assert outside == []
        except Exception:
            shot(page, "zz_failure")  # what the page showed when the test failed
            raise
        browser.close()
