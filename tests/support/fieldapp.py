"""Helpers of the field app's browser tests (/m/): a live server, accounts, phone contexts,
log-in, photos made with Pillow, and reads of the app's state in the page."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image, ImageDraw
from sqlalchemy import Engine, text

from gis.access import accounts, auth
from gis.settings import Settings
from support.served import free_port, wait_up

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "fieldapp"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
PASSWORD = "field-app-Pass-2026"


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The whole platform (API, /m/, vendor files) on a free local port; yields its base URL."""
    from wangge.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, listen=False), host="127.0.0.1",
                                           port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/api/v1/health", t)
        yield base
    finally:
        server.should_exit = True
        t.join(timeout=10)
        if t.is_alive():
            print(f"{base}: the server thread did not end within 10 s of its stop")


def account(engine: Engine, owner: Engine, username: str, worker: str,
            must_change: bool = False) -> str:
    """A grid worker's account; its password (the one-time one when ``must_change``)."""
    made = accounts.create_account(engine, username, "grid_worker", worker=worker)
    if must_change:
        return made.password
    with owner.begin() as conn:
        conn.execute(text("UPDATE account SET password_hash = :h, must_change_password = false "
                          "WHERE username = :u"),
                     {"h": accounts.hasher().hash(PASSWORD), "u": username})
    return PASSWORD


def token(engine: Engine, worker: str) -> str:
    """An API token of a grid worker."""
    return auth.create_token(engine, "grid_worker", worker=worker, name=f"test {worker}")["token"]


def photo(size: tuple[int, int] = (640, 480), gps: tuple[float, float] | None = None) -> bytes:
    """A JPEG drawn with Pillow; with ``gps`` = (lon, lat) its EXIF holds that position."""
    img = Image.new("RGB", size, (90, 140, 200))
    d = ImageDraw.Draw(img)
    d.rectangle((40, 60, size[0] - 40, size[1] - 60), outline=(255, 255, 255), width=8)
    d.ellipse((size[0] // 2 - 60, size[1] // 2 - 60, size[0] // 2 + 60, size[1] // 2 + 60),
              fill=(220, 60, 60))
    buf = io.BytesIO()
    if gps is None:
        img.save(buf, "JPEG", quality=85)
        return buf.getvalue()
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8825)  # GPSInfo

    def dms(v: float) -> tuple[float, float, float]:
        d_ = int(v)
        m = int((v - d_) * 60)
        return (float(d_), float(m), round((v - d_ - m / 60) * 3600, 4))

    ifd.update({1: "N", 2: dms(gps[1]), 3: "E", 4: dms(gps[0])})
    img.save(buf, "JPEG", quality=85, exif=exif)
    return buf.getvalue()


def file_payload(name: str, data: bytes) -> dict[str, Any]:
    """A file for Playwright's ``set_input_files``."""
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Open /m/ and log in through the form."""
    page.goto(base + "/m/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")


def queue_counts(page: Any) -> dict[str, int]:
    """The report queue of the page: {pending, refused, total}."""
    return page.evaluate("() => Wg.queue.counts()")


def shot(page: Any, name: str) -> None:
    """A screenshot of the phone's screen into test-output/fieldapp/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
