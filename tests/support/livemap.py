"""Helpers of the live map's browser test: the dashboard served, a logged-in desk page and
what the map's iframe shows (layer control, feature groups)."""

from __future__ import annotations

import socket
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from gis.access import accounts, auth
from gis.settings import Settings
from support.desk import again_if_replaced, dashboard_served
from support.served import free_port

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


def dashboard(settings: Settings,
              database_url: str | None = None) -> AbstractContextManager[str]:
    """The Streamlit dashboard on a free local port against the test database (or
    ``database_url``, e.g. through a ``Relay``); its URL (``desk.dashboard_served``)."""
    return dashboard_served(settings, database_url=database_url)


def log_in(page, base: str, username: str, password: str) -> None:
    """Open the dashboard and log in; returns once the live map's heading shows (Chinese)."""
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="实时地图").wait_for(timeout=30_000)


def map_frame(page):
    """The map's iframe (a Playwright Frame), once Leaflet and its layer control are up."""
    page.frame_locator(FRAME).first.locator(".leaflet-control-layers-overlays label").first \
        .wait_for(timeout=30_000)
    return next(f for f in page.frames if "streamlit_folium" in (f.url or ""))


def map_where(page, condition: str, tries: int = 5):
    """The map's iframe once the JavaScript ``condition`` holds in it: Streamlit may replace
    the iframe while it reruns, so a frame detached during the wait is looked up again."""
    def wait():
        frame = map_frame(page)
        frame.wait_for_function(condition, timeout=30_000)
        return frame

    return again_if_replaced(wait, tries)


class Relay:
    """A TCP relay on a free loopback port to the database: ``cut`` closes it and every
    connection through it (the dashboard sees the database go away), ``restore`` listens on
    the same port again."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = free_port()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Listen (again) and relay each connection to the database."""
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(32)
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv: socket.socket) -> None:
        """Accept clients until the listening socket is closed."""
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            up.settimeout(None)
            with self._lock:
                self._socks += [client, up]
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        """Copy bytes one way until either side closes."""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Stop listening and close every relayed connection."""
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread in accept()
            except OSError:
                pass
            self._server.close()
            self._server = None
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
