"""The field app's 待办 / 已办 tab in Chromium at 390x844: a grid worker logs in through the
app, accepts, starts and resolves (with a result photo) an event assigned to them, asks to
escalate another, and is told in Chinese when someone else acted first or the phone is
offline."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text
from support import territory as terr
from support.fieldapp import ARGS, PHONE, account, file_payload, log_in, photo, served, shot

from gis.access import auth

pytestmark = pytest.mark.browser

HERE = {"longitude": 120.6025, "latitude": 31.305, "accuracy": 8}  # inside unit U1a of G1


@pytest.fixture()
def field(settings, clean_db: Engine, owner_engine: Engine) -> Iterator[dict]:
    """The hand-built territory, worker W1 (G1) with an account, the platform served."""
    terr.load(clean_db)
    terr.load_people(clean_db)
    password = account(clean_db, owner_engine, "w1", "W1")
    centre = auth.create_token(clean_db, "district_centre", name="centre")["token"]
    with served(settings) as base, httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {centre}"}, timeout=20) as client:
        yield {"base": base, "centre": client, "engine": clean_db, "password": password}


def _report(centre: httpx.Client, description: str, dlon: float = 0.0) -> int:
    """A worker report in G1 through the intake (its responsible worker: W1); its id."""
    r = centre.post("/api/v1/events", json={
        "item": "dispute.neighbour", "source": "worker", "description": description,
        "lon": HERE["longitude"] + dlon, "lat": HERE["latitude"], "crs": "wgs84"})
    assert r.status_code == 201, r.text
    body = r.json()
    ev = body["events"][0] if "events" in body else body
    return ev["id"]


def _status(engine, event_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM event WHERE id = :i"),
                            {"i": event_id}).scalar_one()


def _open(page, event_id: int) -> None:
    """From the list, open an event's detail."""
    page.locator(f".wt-card[data-event='{event_id}']").click()
    page.locator(f".wt-detail[data-event='{event_id}']").wait_for(timeout=15_000)


def _back_and_open(page, event_id: int) -> None:
    page.locator(".wt-back").click()
    page.locator(f".wt-card[data-event='{event_id}']").wait_for(timeout=15_000)
    _open(page, event_id)


def _act(page, event_id: int, action: str, status: str) -> None:
    """Tap an action button and wait until the detail shows the new status."""
    page.locator(f".wt-acts button[data-action='{action}']").click()
    page.locator(f".wt-detail[data-event='{event_id}'][data-status='{status}']").wait_for(
        timeout=15_000)


def test_worker_acts_on_tasks_in_the_field_app(field) -> None:
    """accept -> (dispatched by the centre) -> start -> resolve with a photo; ask to escalate;
    a refusal because the centre acted meanwhile; offline actions are refused, not queued."""
    from playwright.sync_api import sync_playwright

    eng, centre = field["engine"], field["centre"]
    first = _report(centre, "楼道堆放杂物，邻里争吵")
    second = _report(centre, "噪音扰民", dlon=0.0004)
    third = _report(centre, "宠物纠纷", dlon=0.0008)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            ctx = browser.new_context(**PHONE, geolocation=HERE, permissions=["geolocation"],
                                      service_workers="block")
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
            log_in(page, field["base"], "w1", field["password"])
            page.locator("#wg-tabs .tab[data-tab='tasks']").click()
            cards = page.locator(".wt-list[data-list='todo'] .wt-card")
            cards.first.wait_for(timeout=15_000)
            assert cards.count() == 3
            card = page.locator(f".wt-card[data-event='{first}']")
            assert "待受理" in card.inner_text() and "邻里纠纷" in card.inner_text()
            shot(page, "tasks-list")

            # accept, then the centre dispatches, then start and resolve with a photo
            _open(page, first)
            _act(page, first, "accept", "accepted")
            assert _status(eng, first) == "accepted"
            r = centre.post(f"/api/v1/events/{first}/transitions",
                            json={"action": "dispatch", "level": "grid"})
            assert r.status_code == 200, r.text
            _back_and_open(page, first)
            _act(page, first, "start", "in_progress")
            assert _status(eng, first) == "in_progress"
            page.locator(".wt-acts button[data-action='resolve']").click()
            form = page.locator("form[data-form='resolve']")
            form.locator("button[type='submit']").click()     # no photo yet: asked for one
            page.locator("#wg-toast", has_text="处置结果照片").wait_for(timeout=5_000)
            assert _status(eng, first) == "in_progress"
            form.locator("input[type='file']").set_input_files(
                file_payload("result.jpg", photo()))
            form.locator("textarea").fill("已清理楼道，双方和解")
            form.locator("button[type='submit']").click()
            page.locator(f".wt-detail[data-event='{first}'][data-status='resolved']").wait_for(
                timeout=20_000)
            page.locator(".wt-photos img[data-step='resolve'][src^='blob:']").wait_for(
                timeout=15_000)
            assert _status(eng, first) == "resolved"
            with eng.connect() as conn:
                steps = conn.execute(text("SELECT step FROM attachment WHERE event_id = :i"),
                                     {"i": first}).scalars().all()
                hist = conn.execute(text(
                    "SELECT action, actor FROM event_history WHERE event_id = :i ORDER BY id"),
                    {"i": first}).all()
            assert steps == ["resolve"]
            assert [h.action for h in hist][-3:] == ["dispatch", "start", "resolve"]
            assert "accept" in [h.action for h in hist]
            history = page.locator(".wt-hist li")
            assert history.count() == len(hist)
            assert "北京时间" in page.locator(".wt-detail").inner_text()
            shot(page, "tasks-resolved")

            # done list holds it now
            page.locator(".wt-back").click()
            page.locator(".wt-switch button[data-list='done']").click()
            page.locator(f".wt-list[data-list='done'] .wt-card[data-event='{first}']").wait_for(
                timeout=15_000)
            assert "已办结" in page.locator(f".wt-card[data-event='{first}']").inner_text()
            page.locator(".wt-switch button[data-list='todo']").click()
            page.locator(f".wt-list[data-list='todo'] .wt-card[data-event='{second}']").wait_for(
                timeout=15_000)

            # ask to escalate: a note is required, the request is a history row
            _open(page, second)
            page.locator(".wt-acts button[data-action='ask_escalate']").click()
            ask = page.locator("form[data-form='ask_escalate']")
            ask.locator("textarea").fill("涉及多户，需社区协调")
            ask.locator("button[type='submit']").click()
            page.locator(".wt-hist li[data-action='ask_escalate']").wait_for(timeout=15_000)
            with eng.connect() as conn:
                row = conn.execute(text(
                    "SELECT note, actor FROM event_history WHERE event_id = :i "
                    "AND action = 'ask_escalate'"), {"i": second}).one()
            assert row.note == "涉及多户，需社区协调"
            assert _status(eng, second) == "reported"
            shot(page, "tasks-ask-escalate")

            # the centre rejects the third meanwhile: accepting it is refused, said in Chinese
            page.locator(".wt-back").click()
            _open(page, third)
            r = centre.post(f"/api/v1/events/{third}/transitions",
                            json={"action": "reject", "note": "重复上报"})
            assert r.status_code == 200, r.text
            page.locator(".wt-acts button[data-action='accept']").click()
            toast = page.locator("#wg-toast.show")
            toast.wait_for(timeout=10_000)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in toast.inner_text())
            page.locator(f".wt-detail[data-event='{third}'][data-status='rejected']").wait_for(
                timeout=15_000)
            assert page.locator(".wt-acts button[data-action='accept']").count() == 0
            assert _status(eng, third) == "rejected"
            shot(page, "tasks-refused")

            # offline: an action is not sent nor queued, and the person is told
            page.locator(".wt-back").click()
            page.locator(f".wt-card[data-event='{second}']").wait_for(timeout=15_000)
            _open(page, second)
            ctx.set_offline(True)
            page.locator(".wt-acts button[data-action='reject']").click()
            page.locator("#wg-toast", has_text="离线").wait_for(timeout=5_000)
            assert page.locator("form[data-form='reject']").count() == 0
            ctx.set_offline(False)
            assert _status(eng, second) == "reported"

            # English by the shell's switch
            page.locator("#wg-lang").click()
            page.locator(".wt-acts button[data-action='accept']", has_text="Accept").wait_for(
                timeout=10_000)
            assert "New" in page.locator(".wt-detail .wt-st").first.inner_text()
            assert "Neighbour dispute" in page.locator(".wt-detail h3").first.inner_text()
            assert "Reported" in page.locator(".wt-hist li").first.inner_text()
            shot(page, "tasks-english")
        finally:
            browser.close()
    assert errors == []
