"""The live map's basemap: a local MBTiles file (served by the API), a tile URL, or none —
then buildings (zoomed in) and grid names are drawn instead. With a GCJ-02 basemap (Amap,
Tencent) every overlay is shifted WGS84 → GCJ-02 here, on the server, so it lines up."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import streamlit as st

from dashboard import i18n
from dashboard.data import STATIC_TTL_S, _call, _read_engine
from gis.geo.datum import gcj02_to_wgs84, wgs84_to_gcj02
from gis.oversight import dashboard as dq
from gis.oversight.dashboard import BBox
from gis.settings import Settings

BUILDING_ZOOM = 16  # buildings are drawn from this zoom on when there is no basemap
TILE_PATH = "/tiles/basemap/{z}/{x}/{y}"
t = i18n.domain("basemap")


@dataclass(frozen=True)
class Basemap:
    """A tile layer for folium: URL template, attribution, zoom range and datum."""

    url: str
    attribution: str
    min_zoom: int
    max_zoom: int
    datum: str


def choose(settings: Settings, api_url: str | None = None) -> Basemap | None:
    """Local file (through the API's tile route) first, then the tile URL, else none."""
    if settings.basemap_file:  # the browser fetches the tiles: the API's public address
        base = (api_url or settings.public_url
                or f"http://{settings.api_host}:{settings.api_port}")
        url = base.rstrip("/") + TILE_PATH
    elif settings.basemap_url:
        url = settings.basemap_url
    else:
        return None
    return Basemap(url, settings.basemap_attribution or "底图 basemap", settings.basemap_min_zoom,
                   settings.basemap_max_zoom, settings.basemap_datum)


def configured() -> Basemap | None:
    """The basemap of the current settings (environment), if any."""
    return choose(Settings())


def to_data(lon: float, lat: float) -> tuple[float, float]:
    """A point the map gave back (in the basemap's datum) as stored, in WGS84."""
    bm = configured()
    if bm is None or bm.datum != "gcj02":
        return lon, lat
    return gcj02_to_wgs84(lon, lat)


def to_data_bbox(bbox: BBox) -> BBox:
    """The map's bounds (in the basemap's datum) as stored, in WGS84, for the loaders."""
    x0, y0 = to_data(bbox[0], bbox[1])
    x1, y1 = to_data(bbox[2], bbox[3])
    return (x0, y0, x1, y1)


def fallback_buildings(bbox: BBox, zoom: int) -> list[dict[str, Any]]:
    """Buildings to draw in view when no basemap is configured (none when one is)."""
    if configured() is not None or zoom < BUILDING_ZOOM:
        return []
    return buildings(Settings().database_url, tuple(round(v, 4) for v in bbox), zoom)


def add_to(m: folium.Map, basemap: Basemap | None) -> None:
    """The basemap as the map's tile layer (nothing without one)."""
    if basemap is None:
        return
    folium.TileLayer(tiles=basemap.url, attr=basemap.attribution, name=t("Basemap"),
                     min_zoom=basemap.min_zoom, max_zoom=basemap.max_zoom,
                     overlay=False, control=False).add_to(m)


def shift_coords(coords: Any) -> Any:
    """GeoJSON coordinates (any nesting) moved from WGS84 to GCJ-02."""
    if not coords:
        return coords
    if isinstance(coords[0], int | float):
        lon, lat = wgs84_to_gcj02(float(coords[0]), float(coords[1]))
        return [round(lon, 7), round(lat, 7), *coords[2:]]
    if isinstance(coords[0][0], int | float):
        a = np.asarray([c[:2] for c in coords], dtype=float)
        lon, lat = wgs84_to_gcj02(a[:, 0], a[:, 1])
        return np.round(np.column_stack([lon, lat]), 7).tolist()
    return [shift_coords(c) for c in coords]


def shift_geometry(geom: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON geometry (or collection) moved to GCJ-02."""
    if geom.get("type") == "GeometryCollection":
        return geom | {"geometries": [shift_geometry(g) for g in geom["geometries"]]}
    return geom | {"coordinates": shift_coords(geom["coordinates"])}


def _point(row: dict[str, Any]) -> dict[str, Any]:
    """A row with ``lon``/``lat`` moved to GCJ-02."""
    if row.get("lon") is None or row.get("lat") is None:
        return row
    lon, lat = wgs84_to_gcj02(float(row["lon"]), float(row["lat"]))
    return row | {"lon": lon, "lat": lat}


def _geom(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its ``geometry`` moved to GCJ-02."""
    return row | {"geometry": shift_geometry(row["geometry"])} if row.get("geometry") else row


def _bin(b: dict[str, Any]) -> dict[str, Any]:
    """A heat bin with its corners moved to GCJ-02."""
    x0, y0 = wgs84_to_gcj02(float(b["minlon"]), float(b["minlat"]))
    x1, y1 = wgs84_to_gcj02(float(b["maxlon"]), float(b["maxlat"]))
    return b | {"minlon": x0, "minlat": y0, "maxlon": x1, "maxlat": y1}


def _cameras(cams: Any) -> Any:
    """A camera layer (clusters or cameras) or a list of cameras moved to GCJ-02."""
    if isinstance(cams, dict):
        return cams | {"cameras": [_point(c) for c in cams.get("cameras", [])],
                       "clusters": [_point(c) for c in cams.get("clusters", [])]}
    return [_point(c) for c in cams] if cams else cams


def shift_view(view: Any, datum: str) -> Any:
    """The map's data (a ``mapview.MapView``) in the basemap's datum: GCJ-02 moves every
    overlay; WGS84 and CGCS2000 (the same to well under a metre) leave it as it is."""
    if datum != "gcj02":
        return view
    cx, cy = wgs84_to_gcj02(view.center[1], view.center[0])
    fit = view.fit and (*wgs84_to_gcj02(view.fit[0], view.fit[1]),
                        *wgs84_to_gcj02(view.fit[2], view.fit[3]))
    bins = view.bins and view.bins | {"bins": [_bin(b) for b in view.bins["bins"]]}
    return dataclasses.replace(
        view, center=(cy, cx), fit=fit or view.fit, bins=bins or view.bins,
        grids=[_geom(g) for g in view.grids], units=[_geom(u) for u in view.units],
        events=[_point(e) for e in view.events], cameras=_cameras(view.cameras),
        near=[_point(c) for c in view.near],
        selected=_point(view.selected) if view.selected else None,
        tracks=[_geom(t) for t in view.tracks],
        buildings=[_geom(b) for b in view.buildings])


@st.cache_data(ttl=STATIC_TTL_S, show_spinner=False)
def buildings(url: str, bbox: BBox, zoom: int) -> list[dict[str, Any]]:
    """Buildings in view when zoomed in to ``BUILDING_ZOOM`` or more (none further out)."""
    if zoom < BUILDING_ZOOM:
        return []
    return _call(dq.buildings, _read_engine(url), bbox, zoom=zoom)


def building_layer(view: Any, target: Any) -> None:
    """Building outlines (loaded only when zoomed in) so a map without a basemap can be read."""
    if not getattr(view, "buildings", None):
        return
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": b["geometry"],
             "properties": {"name": b.get("name") or "", "address": b.get("address") or ""}}
            for b in view.buildings]},
        name=t("Buildings"),
        style_function=lambda f: {"color": "#8a8a8a", "weight": 0.8, "fillColor": "#d9d9d9",
                                  "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(["name", "address"], aliases=[t("building"), t("address")]),
    ).add_to(target(t("Buildings")))
