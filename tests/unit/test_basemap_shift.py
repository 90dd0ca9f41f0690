"""The basemap's datum: a GCJ-02 basemap moves every overlay on the server; WGS84 does not."""

from __future__ import annotations

from dashboard import basemap, mapview
from gis.geo.datum import haversine_m
from gis.settings import Settings

SUZHOU = (120.6195, 31.2990)  # lon, lat: Suzhou, Gusu district
SQUARE = {"type": "Polygon", "coordinates": [[
    [120.619, 31.299], [120.621, 31.299], [120.621, 31.301], [120.619, 31.301],
    [120.619, 31.299]]]}
GRID = {"code": "G001", "name": "平江网格", "geometry": SQUARE}
EVENT = {"id": 1, "lon": SUZHOU[0], "lat": SUZHOU[1], "status": "reported",
         "item_name": "Litter", "item_name_zh": "垃圾", "source": "worker"}


def _view(**kw) -> mapview.MapView:
    """A small view over Suzhou with one grid and one event."""
    return mapview.MapView((SUZHOU[1], SUZHOU[0]), 16, grids=[GRID], events=[EVENT], **kw)


def _gcj(url: str = "https://tiles.example/{z}/{x}/{y}.png") -> basemap.Basemap:
    """A GCJ-02 basemap (as Amap's)."""
    return basemap.Basemap(url, "高德", 3, 18, "gcj02")


def test_gcj02_moves_every_overlay_by_hundreds_of_metres_in_suzhou() -> None:
    """Grid rings and event points move by the GCJ-02 offset (a few hundred metres here)."""
    out = basemap.shift_view(_view(), "gcj02")
    lon, lat = out.events[0]["lon"], out.events[0]["lat"]
    moved = haversine_m(SUZHOU[0], SUZHOU[1], lon, lat)
    assert 300 < moved < 800, moved
    assert lon > SUZHOU[0] and lat < SUZHOU[1]  # east and a little south, as GCJ-02 is there
    ring = out.grids[0]["geometry"]["coordinates"][0]
    for (x0, y0), (x1, y1) in zip(SQUARE["coordinates"][0], ring, strict=True):
        assert 300 < haversine_m(x0, y0, x1, y1) < 800
    assert ring[0] == ring[-1]  # still a closed ring
    assert GRID["geometry"] is SQUARE and SQUARE["coordinates"][0][0] == [120.619, 31.299]
    assert haversine_m(SUZHOU[0], SUZHOU[1], out.center[1], out.center[0]) > 300


def test_wgs84_and_cgcs2000_leave_the_overlays_unchanged() -> None:
    """Tianditu-like datums draw the stored coordinates as they are."""
    view = _view()
    for datum in ("wgs84", "cgcs2000"):
        out = basemap.shift_view(view, datum)
        assert out.events[0]["lon"] == SUZHOU[0] and out.events[0]["lat"] == SUZHOU[1]
        assert out.grids[0]["geometry"] == SQUARE


def test_the_map_draws_the_gcj02_basemap_and_shifted_overlays() -> None:
    """build_map with a GCJ-02 basemap: its tile URL, shifted event, no grid name labels."""
    html = mapview.build_map(_view(basemap=_gcj())).get_root().render()
    assert "https://tiles.example/{z}/{x}/{y}.png" in html
    assert f"{SUZHOU[1]}, {SUZHOU[0]}" not in html  # the stored point is not drawn as is
    assert "wg-grid-label" not in html


def test_without_a_basemap_grid_names_are_drawn(monkeypatch) -> None:
    """No basemap configured: each grid's name is shown on the map, no tile layer."""
    for name in ("WANGGE_BASEMAP_URL", "WANGGE_BASEMAP_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert basemap.configured() is None
    html = mapview.build_map(_view()).get_root().render()
    assert "wg-grid-label" in html
    assert "平江网格".encode("unicode_escape").decode() in html  # JSON-escaped in the script
    assert "L.tileLayer" not in html
    assert f"{SUZHOU[1]}, {SUZHOU[0]}" in html  # stored coordinates drawn as they are


def test_choose_prefers_the_local_file_then_the_url() -> None:
    """Local MBTiles through the API's tile route first, then the URL template, else none."""
    s = Settings(basemap_file="/data/gusu.mbtiles", basemap_url="https://t/{z}/{x}/{y}")
    assert basemap.choose(s, "http://10.0.0.5:8000").url == (
        "http://10.0.0.5:8000/tiles/basemap/{z}/{x}/{y}")
    assert basemap.choose(Settings(basemap_url="https://t/{z}/{x}/{y}")).url == (
        "https://t/{z}/{x}/{y}")
    assert basemap.choose(Settings(basemap_file=None, basemap_url=None)) is None


def test_points_the_gcj02_map_gives_back_are_read_as_stored(monkeypatch) -> None:
    """Bounds and clicks from a GCJ-02 map come back to WGS84 (within a metre) for the
    loaders and the click; without a basemap they pass unchanged."""
    monkeypatch.delenv("WANGGE_BASEMAP_FILE", raising=False)
    monkeypatch.delenv("WANGGE_BASEMAP_URL", raising=False)
    assert basemap.to_data(*SUZHOU) == SUZHOU
    monkeypatch.setenv("WANGGE_BASEMAP_URL", "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("WANGGE_BASEMAP_DATUM", "gcj02")
    shown = basemap.shift_view(_view(), "gcj02").events[0]
    lon, lat = basemap.to_data(shown["lon"], shown["lat"])
    assert haversine_m(lon, lat, *SUZHOU) < 1.0
    x0, y0, x1, y1 = basemap.to_data_bbox((shown["lon"], shown["lat"], shown["lon"] + 0.01,
                                           shown["lat"] + 0.01))
    assert haversine_m(x0, y0, *SUZHOU) < 1.0 and x1 > x0 and y1 > y0


def test_the_fallback_layers_are_named_in_chinese_first(monkeypatch) -> None:
    """Layer names come from the basemap catalogue: Chinese by default."""
    for name in ("WANGGE_BASEMAP_URL", "WANGGE_BASEMAP_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert basemap.t("Buildings") == "楼栋" and basemap.t("Grid names") == "网格名称"
    groups: list = []
    mapview.build_map(_view(basemap=None), dynamic=groups)
    names = [fg.layer_name for fg in groups]
    assert "网格名称" in names
