"""Helpers of the desk's browser tests: the Streamlit dashboard as `wangge dashboard` starts it,
staff accounts with a known password, the dashboard's log-in form and screenshots."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, text

from gis.access import accounts
from gis.settings import Settings
from support.served import free_port, stop, wait_up

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "desk"
PASSWORD = "Desk-day-Pass-2026"
DESK = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai"}


@contextmanager
def dashboard_served(settings: Settings, api_base: str | None = None,
                     database_url: str | None = None,
                     env: dict[str, str] | None = None) -> Iterator[str]:
    """The Streamlit dashboard on a free local port (the command `wangge dashboard` runs)
    against the test database, or ``database_url`` (e.g. through a ``livemap.Relay``), with
    the API of ``api_base`` when given and ``env`` (WANGGE_ settings) added; yields its base
    URL."""
    from wangge.cli import dashboard_command

    port = free_port()
    url = database_url or settings.database_url
    env = os.environ | {"WANGGE_DATABASE_URL": url, "DATABASE_URL": url,
                        "WANGGE_MEDIA_URL": settings.media_url,
                        "PYTHONFAULTHANDLER": "1"} | (env or {})
    if api_base:
        env |= {"WANGGE_API_PORT": api_base.rsplit(":", 1)[1]}
    cmd = dashboard_command(port, "127.0.0.1")
    assert cmd is not None, "the dashboard is not installed"
    log = tempfile.TemporaryFile()  # its stderr: the threads' stacks if it must be stopped
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/_stcore/health", proc)
        yield base
    finally:
        stop(proc, log=log)
        log.close()


T = TypeVar("T")


def again_if_replaced(action: Callable[[], T], tries: int = 5) -> T:
    """``action()``, done again (at most ``tries`` times in all) when Streamlit replaced the
    element or frame it used while it ran: a rerun draws them anew."""
    from playwright.sync_api import Error

    for _ in range(tries - 1):
        try:
            return action()
        except Error as e:
            if "detached" not in str(e) and "not attached" not in str(e):
                raise
    return action()


def staff_account(owner: Engine, engine: Engine, username: str, role: str,
                  area: str | None = None) -> str:
    """A dispatcher's or the centre's account whose initial password was already changed;
    returns its password."""
    accounts.create_account(engine, username, role, area=area)
    with owner.begin() as conn:
        conn.execute(text("UPDATE account SET password_hash = :h, must_change_password = false "
                          "WHERE username = :u"),
                     {"h": accounts.hasher().hash(PASSWORD), "u": username})
    return PASSWORD


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Open the dashboard and log in through its form."""
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def shot(page: Any, name: str, grow: bool = True) -> Path:
    """A screenshot into test-output/desk/<name>.png: of the whole page (the viewport grown to
    the page's scrolled height), or with ``grow`` False of the screen as the person sees it
    (for pages that fit themselves to the screen, like the live map)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if not grow:
        page.screenshot(path=str(path))
        return path
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppViewContainer], [data-testid=stSidebarContent]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    try:
        page.wait_for_timeout(300)  # one layout pass at the new size
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def nav(page: Any, title: str) -> None:
    """Open a page by its title in the sidebar navigation (the sidebar opened first when a
    page, like the wall screen, starts with it collapsed)."""
    link = page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True)
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    if expand.count() and expand.first.is_visible():
        expand.first.click()
    link.click()


def nav_titles(page: Any) -> list[str]:
    """The titles of the pages in the sidebar navigation, in order."""
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    return [x.strip().splitlines()[-1] for x in links.all_inner_texts()]  # after the icon


def _settled(page: Any, label: str, read: Callable[[], Any], what: str) -> Any:
    """``read()`` with the select box ``label`` open, tried again (closed first) when a rerun
    of the page replaced the box or closed its list; the page's text in the error otherwise."""
    from playwright.sync_api import TimeoutError as Timeout

    for _ in range(4):
        try:
            page.get_by_label(label).click(timeout=10_000)
            return read()
        except Timeout:
            page.keyboard.press("Escape")
    text = page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)
    raise AssertionError(f"{what} in {label!r}; the page read:\n{text}")


def options(page: Any, label: str) -> list[str]:
    """The options of the select box labelled ``label`` (opened, read, closed again)."""
    def read() -> list[str]:
        opts = page.get_by_role("option")
        opts.first.wait_for(timeout=5_000)
        out = opts.all_inner_texts()
        page.keyboard.press("Escape")
        return out

    return _settled(page, label, read, "no options")


def choose(page: Any, label: str, option: str) -> None:
    """Choose the option whose text contains ``option`` in the select box ``label`` (opened
    again when a refresh of the page closed it before the choice)."""
    _settled(page, label, lambda: page.get_by_role("option").filter(has_text=option).first
             .click(timeout=5_000), f"no option {option!r}")
