"""Basemap tiles from a local MBTiles file: served byte-exact (TMS rows flipped), 404 else."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pmtiles.convert import mbtiles_to_pmtiles
from sqlalchemy import Engine

from gis.api.app import create_app
from gis.settings import Settings


def _png(colour: tuple[int, int, int]) -> bytes:
    """A 256 px PNG of one colour."""
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buf, format="PNG")
    return buf.getvalue()


def _mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes]) -> None:
    """An MBTiles file with XYZ-addressed ``tiles`` stored in TMS rows."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, "
                "tile_row integer, tile_data blob)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)",
                    [("format", "png"), ("minzoom", "2"), ("maxzoom", "16")])
    for (z, x, y), data in tiles.items():
        con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
    con.commit()
    con.close()


def test_tiles_of_a_local_mbtiles_file_are_served_byte_exact(
        settings: Settings, clean_db: Engine, tmp_path: Path) -> None:
    """XYZ 16/54321/26543 answers the stored PNG; its TMS twin row and absent tiles are 404."""
    red, blue = _png((200, 30, 30)), _png((30, 30, 200))
    file = tmp_path / "district.mbtiles"
    _mbtiles(file, {(16, 54321, 26543): red, (2, 1, 0): blue})
    app = create_app(settings.model_copy(update={"basemap_file": str(file)}), listen=False)
    with TestClient(app) as c:
        r = c.get("/tiles/basemap/16/54321/26543")
        assert r.status_code == 200
        assert r.content == red
        assert r.headers["content-type"] == "image/png"
        assert "max-age" in r.headers["cache-control"]
        assert c.get("/tiles/basemap/2/1/0").content == blue
        missing = c.get("/tiles/basemap/2/1/3")  # the TMS row of (2,1,0): not an XYZ tile
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "tile_not_found"
        assert c.get("/tiles/basemap/16/54321/26544").status_code == 404
        assert c.get("/tiles/basemap/2/9/0").status_code == 404  # outside the zoom's range


def test_no_basemap_file_answers_404(settings: Settings, clean_db: Engine) -> None:
    """Without WANGGE_BASEMAP_FILE every tile is 404 (the map then draws its own fallback)."""
    with TestClient(create_app(settings, listen=False)) as c:
        r = c.get("/tiles/basemap/0/0/0")
    assert r.status_code == 404
    assert "瓦片" in r.json()["error"]["message"]


def test_tiles_of_a_local_pmtiles_file_are_served_byte_exact(
        settings: Settings, clean_db: Engine, tmp_path: Path) -> None:
    """The same tiles converted to PMTiles: the same bytes, 404 for an absent tile."""
    red, blue = _png((200, 30, 30)), _png((30, 30, 200))
    mb, pm = tmp_path / "district.mbtiles", tmp_path / "district.pmtiles"
    _mbtiles(mb, {(16, 54321, 26543): red, (2, 1, 0): blue})
    mbtiles_to_pmtiles(str(mb), str(pm), 16)
    app = create_app(settings.model_copy(update={"basemap_file": str(pm)}), listen=False)
    with TestClient(app) as c:
        r = c.get("/tiles/basemap/16/54321/26543")
        assert r.status_code == 200 and r.content == red
        assert r.headers["content-type"] == "image/png"
        assert c.get("/tiles/basemap/2/1/0").content == blue
        assert c.get("/tiles/basemap/2/1/3").status_code == 404
        assert c.get("/tiles/basemap/15/1/1").status_code == 404


def test_the_dashboard_gives_browsers_the_tile_route_under_the_public_url(
        settings: Settings, clean_db: Engine, tmp_path: Path, monkeypatch) -> None:
    """WANGGE_PUBLIC_URL (a reverse proxy's address) prefixes the tile URL the dashboard hands
    to browsers, and that URL's path is the API's tile route; without it, host and port."""
    from pydantic import ValidationError

    from dashboard import basemap

    red = _png((200, 30, 30))
    file = tmp_path / "district.mbtiles"
    _mbtiles(file, {(16, 54321, 26543): red})
    monkeypatch.setenv("WANGGE_BASEMAP_FILE", str(file))
    monkeypatch.setenv("WANGGE_API_HOST", "0.0.0.0")
    monkeypatch.delenv("WANGGE_PUBLIC_URL", raising=False)
    assert basemap.configured().url == "http://0.0.0.0:8000/tiles/basemap/{z}/{x}/{y}"
    monkeypatch.setenv("WANGGE_PUBLIC_URL", "https://gis.example.gov.cn/wangge/")
    url = basemap.configured().url
    assert url == "https://gis.example.gov.cn/wangge/tiles/basemap/{z}/{x}/{y}"
    path = url.format(z=16, x=54321, y=26543).removeprefix("https://gis.example.gov.cn/wangge")
    with TestClient(create_app(settings.model_copy(update={"basemap_file": str(file)}),
                               listen=False)) as c:
        assert c.get(path).content == red
    monkeypatch.setenv("WANGGE_PUBLIC_URL", "gis.example.gov.cn")  # no scheme: refused
    with pytest.raises(ValidationError, match="public_url"):
        Settings()
