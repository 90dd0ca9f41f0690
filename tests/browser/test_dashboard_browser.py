"""End to end in headless Chromium: API + dashboard, post an event, see it appear."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.dashboard import seed as _seed
from support.served import stop

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


# Container point of a seeded event marker (tooltip "#id ... e2e" is the posted one; the seeded
# ones sit next to the two cameras), away from the layer control in the top right corner.
CLICK_TARGET = """() => {
    let best = null;
    const size = window.map.getSize();
    window.map.eachLayer(l => {
        const tip = l instanceof L.CircleMarker && l.getTooltip() ? String(l.getTooltip()
            .getContent()) : "";
        if (!tip.includes("#") || tip.includes("selected") || tip.includes("e2e")) return;
        const p = window.map.latLngToContainerPoint(l.getLatLng());
        if (p.x > 50 && p.y > 50 && p.x < size.x - 320 && p.y < size.y - 50) best = [p.x, p.y];
    });
    return best;
}"""


def _port() -> int:
    """A free TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


@pytest.mark.browser
def test_live_map_in_chromium(settings, demo_district, engine) -> None:
    """The map and its layers render; a posted event shows up after the refresh."""
    from playwright.sync_api import sync_playwright

    from gis.access import accounts, auth

    _seed(engine)
    otp = accounts.create_account(engine, "centre1", "district_centre")
    who = auth.authenticate(engine, accounts.login(engine, "centre1", otp.password).token)
    password = "S3cure-pass-centre1"
    accounts.change_password(engine, who, otp.password, password)
    env = os.environ | {"WANGGE_DATABASE_URL": settings.database_url,
                        "DATABASE_URL": settings.database_url}
    api_port, dash_port = _port(), _port()
    api = subprocess.Popen(
        [sys.executable, "-c", "import uvicorn; from wangge.app import create_app; "
         "from gis.settings import Settings; uvicorn.run(create_app(Settings(), listen=False), "
         f"host='127.0.0.1', port={api_port}, log_level='warning')"], env=env, cwd=ROOT)
    dash = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(dash_port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"],
        env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    try:
        _wait(f"http://127.0.0.1:{api_port}/docs")
        _wait(f"http://127.0.0.1:{dash_port}/_stcore/health")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"http://127.0.0.1:{dash_port}/")
            # the log-in form first (an account whose initial password was changed), in
            # Chinese; the sidebar switch is there already and turns the form English
            page.get_by_label("用户名").wait_for(timeout=30_000)
            assert page.get_by_role("button", name="登录").count() == 1
            page.locator('[data-testid="stSidebar"]').get_by_text("EN", exact=True).click()
            page.get_by_label("User name").fill("centre1")
            page.get_by_label("Password", exact=True).fill(password)
            page.get_by_role("button", name="Log in").click()
            # the pages stay English after the log-in
            page.get_by_role("heading", name="Live map").wait_for(timeout=30_000)
            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
            frame.locator(".leaflet-container").wait_for(timeout=30_000)
            frame.locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30_000)
            assert frame.locator(".leaflet-control-layers-overlays label").count() >= 4
            metric = page.locator('[data-testid="stMetric"]').filter(has_text="Events").first
            metric.wait_for(timeout=30_000)

            def events_shown() -> int:
                v = metric.locator('[data-testid="stMetricValue"]').inner_text()
                return int(v.replace(",", ""))

            assert events_shown() == 3
            # the developer toolbar is hidden (client.toolbarMode viewer): no "Deploy" button
            assert page.get_by_role("button", name="Deploy").count() == 0
            assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
            from gis.oversight import dashboard as dq

            e = dq.extent(engine)
            headers = {}
            try:  # the API asks for a bearer token once the workflow package is installed
                from gis.access.auth import create_token

                tok = create_token(engine, "district_centre", name="e2e")
                headers = {"Authorization": f"Bearer {tok['token']}"}
            except ImportError:
                pass
            r = httpx.post(f"http://127.0.0.1:{api_port}/api/v1/events", json={
                "item": "safety.fire", "source": "worker", "description": "e2e",
                "lon": (e["minlon"] + e["maxlon"]) / 2, "lat": (e["minlat"] + e["maxlat"]) / 2},
                headers=headers, timeout=10)
            assert r.status_code == 201, r.text
            end = time.monotonic() + 25
            while events_shown() < 4 and time.monotonic() < end:
                time.sleep(0.5)
            assert events_shown() == 4
            # the map's live layers were swapped in place: the new event is drawn
            frame.locator(".leaflet-control-layers-overlays", has_text="Events (4)").wait_for(
                timeout=15_000)
            page.screenshot(path=str(out / "dashboard_live_map.png"), full_page=True)

            # a click on an event marker selects it and lists the cameras near it
            mframe = next(f for f in page.frames if "streamlit_folium" in (f.url or ""))
            pt = mframe.evaluate(CLICK_TARGET)
            assert pt, "no event marker in view"
            box = page.locator('iframe[title="streamlit_folium.st_folium"]').bounding_box()
            page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
            page.get_by_text("2 cameras within 300 m").wait_for(timeout=20_000)
            frame.locator(".leaflet-control-layers-overlays",
                          has_text="Selected event and nearby cameras").wait_for(timeout=15_000)
            page.screenshot(path=str(out / "dashboard_event_selected.png"), full_page=True)
            browser.close()
    finally:
        for proc in (dash, api):
            stop(proc)
