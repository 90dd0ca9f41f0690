"""The field app's 巡查 tab in Chromium at 390x844 with emulated GPS: a patrol is recorded,
survives a reload mid-way, waits offline and uploads when online again (no fix lost or sent
twice), and the track is found on the server; the units due for a visit are listed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from support import territory as T
from support.fieldapp import ARGS, PHONE, account, log_in, served, shot

pytestmark = pytest.mark.browser

# a walk inside grid G1 (120.60-120.61 E, 31.30-31.31 N): east along 31.303, then north
WALK = [(120.6010 + 0.0004 * i, 31.3030) for i in range(12)] + \
       [(120.6054, 31.3030 + 0.0004 * i) for i in range(1, 10)]
# chunks every 1.5 s instead of 30 s, so that a short test sees several
FAST = "window.WG_PATROL_CONFIG = {everyMs: 1500, tickMs: 400};"


def _at(i: int) -> dict[str, float]:
    lon, lat = WALK[i]
    return {"longitude": lon, "latitude": lat, "accuracy": 6}


def _points(page: Any) -> int:
    return int(page.locator("#patrol-points").inner_text())


def _move(ctx: Any, page: Any, i: int) -> None:
    """The phone moves to WALK[i]; wait until the app has recorded one fix more."""
    before = _points(page)
    ctx.set_geolocation(_at(i))
    page.wait_for_function("n => Number(document.getElementById('patrol-points').textContent)"
                           " > n", arg=before, timeout=10_000)


def _chunks(engine: Engine, uid: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT seq, final, jsonb_array_length(fixes) AS n FROM patrol_chunk "
            "WHERE track_uid = CAST(:u AS uuid) ORDER BY seq"), {"u": uid}).all()


def _wait(page: Any, cond, timeout: float = 15.0) -> None:
    """Wait for ``cond``; the page's waits let Playwright serve the routes meanwhile."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        page.wait_for_timeout(200)


@pytest.fixture()
def field(settings, clean_db: Engine, owner_engine: Engine) -> Iterator[dict]:
    """The hand-built territory, worker W1 of G1 with an account, the platform served."""
    T.load(clean_db)
    T.load_people(clean_db)
    password = account(clean_db, owner_engine, "w1", "W1")
    with served(settings) as base:
        yield {"base": base, "password": password, "engine": clean_db}


def test_patrol_is_recorded_resumed_after_reload_uploaded_after_offline(field) -> None:
    from playwright.sync_api import sync_playwright

    eng, base = field["engine"], field["base"]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            ctx = browser.new_context(**PHONE, geolocation=_at(0), permissions=["geolocation"],
                                      service_workers="block")
            ctx.add_init_script(FAST)
            bodies: list[dict] = []

            def flaky(route: Any) -> None:
                """The server is busy (503) at the first chunk; every body is recorded."""
                bodies.append(route.request.post_data_json)
                if len(bodies) == 1:
                    route.fulfill(status=503, json={"error": {"code": "busy", "message": "忙"}})
                else:
                    route.continue_()

            ctx.route("**/api/v1/patrols/chunks", flaky)
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
            log_in(page, base, "w1", field["password"])
            page.locator("#wg-tabs .tab[data-tab='patrol']").click()
            # the units due for a visit: G1's two units, never visited, on the list and map
            page.locator("#patrol-due-list li").nth(1).wait_for(timeout=15_000)
            due = page.locator("#patrol-due-list").inner_text()
            assert T.U1A in due and T.U1B in due and "从未走访" in due
            assert page.locator("#patrol-map .wp-due").count() == 2     # on the map too
            assert "保持屏幕常亮" in page.locator("#view-patrol").inner_text()

            page.locator("#patrol-toggle").click()
            page.locator("#patrol-toggle[data-on='1']").wait_for(timeout=5_000)
            page.wait_for_function("() => Number(document.getElementById('patrol-points')"
                                   ".textContent) >= 1", timeout=10_000)
            uid = page.evaluate("() => Wg.patrol.state().uid")
            for i in range(1, 6):
                _move(ctx, page, i)
            _wait(page, lambda: len(_chunks(eng, uid)) >= 1)  # uploaded while recording
            # the refused first try is sent again as it was: same seq, same fixes
            assert bodies[0]["seq"] == 0 and bodies[1] == bodies[0]
            shot(page, "patrol-recording")

            # the app is reloaded mid-patrol: the track is found in IndexedDB and goes on
            before = _points(page)
            page.reload()
            page.wait_for_function("() => document.body.dataset.ready === '1'")
            page.locator("#wg-tabs .tab[data-tab='patrol']").click()
            page.locator("#patrol-status[data-state='on']").wait_for(timeout=10_000)
            assert "已恢复" in page.locator("#patrol-status").inner_text()
            assert page.evaluate("() => Wg.patrol.state().uid") == uid
            assert _points(page) >= before
            for i in range(6, 10):
                _move(ctx, page, i)
            assert page.locator("#patrol-map path.wp-line").get_attribute("d")  # the line
            shot(page, "patrol-resumed")

            # offline: fixes are kept and chunked, nothing reaches the server until online
            _wait(page, lambda: int(page.locator("#patrol-pending").inner_text()) <= 1)
            sent = len(_chunks(eng, uid))
            ctx.set_offline(True)
            for i in range(10, 16):
                _move(ctx, page, i)
            page.wait_for_timeout(2000)  # chunks are cut meanwhile (every 1.5 s here)
            assert len(_chunks(eng, uid)) == sent
            assert int(page.locator("#patrol-pending").inner_text()) >= 6
            shot(page, "patrol-offline")
            ctx.set_offline(False)
            _wait(page, lambda: len(_chunks(eng, uid)) > sent)
            for i in range(16, len(WALK)):
                _move(ctx, page, i)

            # stop: the rest goes up with final = true, the phone forgets the track
            recorded = _points(page)
            page.locator("#patrol-toggle").click()
            page.locator(f"#patrol-last[data-uid='{uid}']").wait_for(timeout=20_000)
            assert page.evaluate("() => Wg.patrol.state()") is None
            page.locator(f"#patrol-today-list li[data-uid='{uid}']").wait_for(timeout=15_000)
            assert page.locator("#patrol-map path.wp-track").count() == 1
            shot(page, "patrol-done")
        finally:
            browser.close()
    assert errors == []

    chunks = _chunks(eng, uid)
    assert [c.seq for c in chunks] == list(range(len(chunks)))    # none lost
    assert [c.final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert sum(c.n for c in chunks) == recorded >= len(WALK)      # none doubled
    with eng.connect() as conn:
        times = conn.execute(text(
            "SELECT count(*), count(DISTINCT f ->> 2) FROM patrol_chunk, "
            "jsonb_array_elements(fixes) f WHERE track_uid = CAST(:u AS uuid)"), {"u": uid}).one()
        track = conn.execute(text(
            "SELECT w.code, t.length_m FROM patrol_track t JOIN worker w ON w.id = t.worker_id "
            "WHERE t.uid = CAST(:u AS uuid)"), {"u": uid}).one()
    assert times[0] == times[1] == recorded
    assert track.code == "W1" and track.length_m > 500
    login = httpx.post(base + "/api/v1/session", json={"username": "w1",
                                                       "password": field["password"]})
    found = httpx.get(base + "/api/v1/patrols/tracks", headers={
        "Authorization": f"Bearer {login.json()['token']}"}).json()
    assert uid in [f["properties"]["uid"] for f in found["features"]]
