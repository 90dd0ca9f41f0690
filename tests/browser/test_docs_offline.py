"""/docs and /redoc work offline: every asset is served by the API, none from a CDN."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support.fieldapp import served as platform_served

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*:\s*['"]([^'"]+)['"]""")


def _refs(html: str) -> list[str]:
    """Every URL an HTML page refers to (src, href, and the URLs given to the UI's script)."""
    return [a or b for a, b in REF.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets(api, page: str) -> None:
    r = api.get(page)
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "cdn." not in html and "googleapis" not in html
    refs = _refs(html)
    assert any(x.endswith(".js") for x in refs), refs
    for ref in refs:
        assert not urlparse(ref).netloc, f"{page} refers to an external host: {ref}"
        got = api.get(ref)
        assert got.status_code == 200, ref
        assert len(got.content) > 0


@pytest.fixture()
def served(settings, clean_db):
    """The API on a free local port (uvicorn in a thread); yields its base URL."""
    with platform_served(settings) as base:
        yield base


@pytest.mark.browser
def test_docs_render_in_chromium_without_internet(served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    errors: list[str] = []

    def only_local(route) -> None:
        """Abort (and record) every request that leaves this machine."""
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    shots = Path(os.environ.get("WANGGE_SCREENSHOTS", tmp_path))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_local)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{served}/docs")
            page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
            assert page.locator(".swagger-ui .opblock").count() > 10
            assert "Wangge" in page.locator(".swagger-ui .info .title").inner_text()
            page.screenshot(path=str(shots / "docs.png"))
            page.goto(f"{served}/redoc")
            page.wait_for_selector("[role=menuitem]", timeout=30_000)
            assert page.locator("[role=menuitem]").count() > 10
            page.screenshot(path=str(shots / "redoc.png"))
        finally:
            browser.close()
    assert outside == [] and errors == []
