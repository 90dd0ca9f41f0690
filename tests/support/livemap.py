"""Helpers of the live map's browser test: the dashboard served, a logged-in desk page and
what the map's iframe shows (layer control, feature groups)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gis.access import accounts, auth
from gis.settings import Settings
from support.fieldapp import _port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "desk"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
FRAME = 'iframe[title="streamlit_folium.st_folium"]'
# What the map's iframe says about one overlay of its layer control (by the label's text):
# whether it is ticked and whether its feature group is on the map.
OVERLAY = """(name) => {
    const c = window.layer_control;
    const o = c._layers.find(x => x.overlay && x.name.replace(/\\s*[(（].*$/, "") === name);
    if (!o) return null;
    return {ticked: c._layerControlInputs.some(i => i.layerId === L.Util.stamp(o.layer)
                                                     && i.checked),
            onMap: window.map.hasLayer(o.layer)};
}"""


def staff(engine, username: str, role: str = "district_centre",
          area: str | None = None) -> str:
    """A ready account (its initial password changed); returns its password."""
    otp = accounts.create_account(engine, username, role, area)
    who = auth.authenticate(engine, accounts.login(engine, username, otp.password).token)
    password = "S3cure-pass-" + username
    accounts.change_password(engine, who, otp.password, password)
    return password


@contextmanager
def dashboard(settings: Settings) -> Iterator[str]:
    """The Streamlit dashboard on a free local port against the test database; its URL."""
    port = _port()
    env = os.environ | {"WANGGE_DATABASE_URL": settings.database_url,
                        "DATABASE_URL": settings.database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 40
        while True:
            try:
                if httpx.get(base + "/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > end or proc.poll() is not None:
                raise TimeoutError(base)
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def log_in(page, base: str, username: str, password: str) -> None:
    """Open the dashboard and log in; returns once the live map's heading shows (Chinese)."""
    page.goto(base + "/")
    page.get_by_label("用户名 (user name)").fill(username)
    page.get_by_label("密码 (password)").fill(password)
    page.get_by_role("button", name="登录 (log in)").click()
    page.get_by_role("heading", name="实时地图").wait_for(timeout=30_000)


def map_frame(page):
    """The map's iframe (a Playwright Frame), once Leaflet and its layer control are up."""
    page.frame_locator(FRAME).first.locator(".leaflet-control-layers-overlays label").first \
        .wait_for(timeout=30_000)
    return next(f for f in page.frames if "streamlit_folium" in (f.url or ""))
