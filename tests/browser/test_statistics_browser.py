"""The statistics board (统计大屏) in headless Chromium at 1920×1080: log in, every chart drawn
by Streamlit's bundled Vega (nothing fetched from outside 127.0.0.1), no error, a screenshot."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.desk import dashboard_served
from support.workflow import (
    CENTRE,
    G1,
    G2,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    W1,
    clear_workflow,
    report,
    track,
)

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "test-output" / "desk" / "statistics.png"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
PASSWORD = "S3cure-pass-board1"
EVERY_S = 10  # the board's refresh period here (WANGGE_BOARD_REFRESH_S; 60 s by default)
ITEMS = ["safety.fire", "dispute.neighbour", "health.sanitation", "safety.road",
         "crime.suspicious", "dispute.property", "health.pollution", "safety.illegal_building",
         "crime.rental", "health.animal", "safety.gas", "dispute.wages"]
GRIDS = [G1, G2, G_OTHER_COMMUNITY, G_OTHER_STREET, "320508001003001", "320508002002001"]


def _seed(engine, owner_engine) -> None:
    """A month of events over both streets (some closed on time, some late), one patrol."""
    from gis.territory.locator import Locator
    from gis.workflow import transitions as workflow

    clear_workflow(owner_engine)
    loc = Locator(engine)
    now = datetime.now(UTC)
    for i in range(60):
        at = now - timedelta(days=(i * 7) % 29, hours=i % 5)
        eid = report(engine, loc, ITEMS[(i * 5) % len(ITEMS) if i % 4 else 0],
                     GRIDS[(i * 7) % len(GRIDS)], reported_at=at)
        if i % 3 == 0:  # closed: every other one resolved four days late
            late = timedelta(days=4 if i % 2 else 0)
            for step, dt in (("accept", timedelta(0)), ("dispatch", timedelta(0)),
                             ("resolve", late + timedelta(hours=1)),
                             ("close", late + timedelta(hours=2))):
                workflow.transition(engine, eid, step, CENTRE, note=step,
                                    now=min(at + dt, now))
    track(engine, loc, W1, G1 + "001", now - timedelta(hours=2))


def _account(engine) -> None:
    """The district centre's account, its initial password already changed."""
    from gis.access import accounts, auth

    otp = accounts.create_account(engine, "board1", "district_centre")
    who = auth.authenticate(engine, accounts.login(engine, "board1", otp.password).token)
    accounts.change_password(engine, who, otp.password, PASSWORD)


@pytest.fixture()
def dashboard(settings, demo_district, engine, owner_engine):
    """The Streamlit dashboard on a free port over the seeded test database; yields its URL."""
    _seed(engine, owner_engine)
    _account(engine)
    with dashboard_served(settings, env={"WANGGE_BOARD_REFRESH_S": str(EVERY_S)}) as base:
        yield base


DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
    const canvas = c.querySelector('canvas');
    const svg = c.querySelector('svg');
    if (canvas) return canvas.width > 100 && canvas.height > 100 ? 'canvas' : 'empty canvas';
    if (svg) return svg.querySelectorAll('path, rect').length > 0 ? 'svg' : 'empty svg';
    return 'nothing';
})"""


# Texts of the board's header cut short: a metric title wider than its box (an ellipsis) or
# the caption broken over more than one line.
CUT = """() => {
    const cut = [...document.querySelectorAll('[data-testid=stMetricLabel]')]
        .filter(l => [...l.querySelectorAll('*')].concat([l])
            .some(e => e.scrollWidth > e.clientWidth + 1)).map(l => l.innerText);
    const cap = document.querySelector('[data-testid=stMain] [data-testid=stCaptionContainer] p');
    const line = parseFloat(getComputedStyle(cap).lineHeight);
    return cap.getBoundingClientRect().height > 1.5 * line ? cut.concat([cap.innerText]) : cut;
}"""


@pytest.mark.browser
def test_statistics_board_in_chromium(dashboard, engine) -> None:
    """Six charts drawn (canvas or svg), no error, no outside request; the screenshot saved;
    an event reported meanwhile shows on a following refresh (the period the settings give,
    read afresh within it) without a reload."""
    from playwright.sync_api import sync_playwright

    from gis.territory.locator import Locator

    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1",
                                                               "data:", "blob:"))
                else outside.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Streamlit opened at /statistics first probes /statistics/_stcore/... for a base path
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and "/statistics/_stcore/" not in r.url else None)
        page.goto(f"{dashboard}/statistics")
        page.get_by_label("用户名").fill("board1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="统计大屏").wait_for(timeout=30_000)
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        end = time.monotonic() + 30
        while time.monotonic() < end and page.evaluate(DRAWN).count("canvas") \
                + page.evaluate(DRAWN).count("svg") < 6:
            time.sleep(0.5)
        page.mouse.move(1919, 1079)  # no hover toolbar over a chart
        page.wait_for_timeout(1500)  # the charts' entry transitions
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT))
        drawn = page.evaluate(DRAWN)
        assert charts.count() == 6 and set(drawn) <= {"canvas", "svg"}, drawn
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="今日新增")
        assert metric.count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.get_by_text("北京时间").count() >= 1
        assert page.get_by_text(f"每 {EVERY_S} 秒自动刷新").count() == 1
        charts.first.hover()  # a wall screen: no chart toolbar over the cards, even on hover
        page.wait_for_timeout(500)
        toolbars = page.locator('[data-testid="stElementToolbar"]')
        assert toolbars.count() >= 1 and not toolbars.first.is_visible()
        page.mouse.move(1919, 1079)
        assert page.evaluate(CUT) == []  # every headline title whole, the caption on one line
        value = metric.locator('[data-testid="stMetricValue"]')
        before = int(value.inner_text())
        report(engine, Locator(engine), "safety.gas", G1)
        end = time.monotonic() + 3 * EVERY_S  # a period, and half of one for the cache
        while int(value.inner_text()) == before and time.monotonic() < end:
            time.sleep(1)
        assert int(value.inner_text()) == before + 1
        assert page.evaluate(DRAWN).count("canvas") + page.evaluate(DRAWN).count("svg") == 6
        browser.close()
    assert not errors, errors
    assert not outside, outside
