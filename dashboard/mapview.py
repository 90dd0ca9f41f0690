"""Folium rendering of the live map (no queries here: it draws what the loaders return)."""

from __future__ import annotations

import base64
import html
import math
from functools import cache
from pathlib import Path
from typing import Any

import folium

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
# Leaflet and MarkerCluster ship with the dashboard (command centres often run on an intranet
# without CDN access); jQuery, Bootstrap and awesome-markers are not needed and are dropped.
LOCAL_ASSETS = {"leaflet": "leaflet.js", "leaflet_css": "leaflet.css",
                "markerclusterjs": "leaflet.markercluster.js",
                "markerclustercss": "MarkerCluster.css",
                "markerclusterdefaultcss": "MarkerCluster.Default.css"}
HEAT = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
STATUS_COLOUR = {"reported": "#d7301f", "accepted": "#fc8d59", "dispatched": "#ef6548",
                 "in_progress": "#fdbb84", "resolved": "#74add1", "reopened": "#990000",
                 "closed": "#4d9221", "rejected": "#999999", "duplicate": "#999999"}


def coverage_colour(share: float) -> str:
    """Red (not patrolled) through amber to green (every unit passed)."""
    stops = [(0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80))]
    share = min(max(share, 0.0), 1.0)
    for (a, ca), (b, cb) in zip(stops, stops[1:], strict=False):
        if share <= b:
            t = (share - a) / (b - a)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True)]
            return "#" + "".join(f"{v:02x}" for v in rgb)
    return "#1a9850"


def heat_colour(n: int, top: int) -> str:
    """Colour of a heat bin on a log scale up to the largest bin in view."""
    if top <= 1:
        return HEAT[2]
    k = int(round(math.log(max(n, 1)) / math.log(top) * (len(HEAT) - 1)))
    return HEAT[min(max(k, 0), len(HEAT) - 1)]


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}


def build_map(center: tuple[float, float], zoom: int, *, fit: tuple | None = None,
              grids: list[dict] = (), units: list[dict] = (), bins: dict | None = None,
              events: list[dict] = (), cameras: list[dict] = (), near: list[dict] = (),
              selected: dict | None = None, coverage: dict[str, dict] | None = None,
              tracks: list[dict] = (), online_tiles: bool = False,
              dynamic: list | None = None) -> folium.Map:
    """The live map with its layers. With ``dynamic`` (a list), every live layer goes into
    that list as a FeatureGroup instead of onto the map (streamlit-folium then swaps them in
    place, keeping the map's position); only the grid boundaries stay on the base map."""

    def target(name: str) -> folium.FeatureGroup:
        """A feature group for one live layer, on the map or in ``dynamic``."""
        fg = folium.FeatureGroup(name=name, show=True)
        if dynamic is None:
            fg.add_to(m)
        else:
            dynamic.append(fg)
        return fg

    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=True,
                   prefer_canvas=True, min_zoom=3, max_zoom=19)
    if online_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)").add_to(m)
    if fit:
        m.fit_bounds([[fit[1], fit[0]], [fit[3], fit[2]]])

    if coverage is not None and grids:
        feats = []
        for g in grids:
            c = coverage.get(g["code"], {"units": 0, "covered": 0, "share": 0.0})
            feats.append({"type": "Feature", "geometry": g["geometry"], "properties": {
                "grid": g["code"], "name": g["name"], "coverage": f"{c['share']:.0%}",
                "units": f"{c['covered']} / {c['units']}", "colour": coverage_colour(c["share"])}})
        folium.GeoJson(
            _fc(feats), name="Patrol coverage",
            style_function=lambda f: {"fillColor": f["properties"]["colour"], "fillOpacity": 0.45,
                                      "weight": 0, "color": f["properties"]["colour"]},
            tooltip=folium.GeoJsonTooltip(["grid", "name", "coverage", "units"],
                                          aliases=["grid", "name", "patrol coverage",
                                                   "units passed"]),
        ).add_to(target("Patrol coverage"))

    if units:
        folium.GeoJson(
            _fc([{"type": "Feature", "geometry": u["geometry"],
                  "properties": {"unit": u["code"], "name": u["name"]}} for u in units]),
            name="Units", interactive=False,
            style_function=lambda f: {"color": "#6a7f99", "weight": 0.6, "fill": False,
                                      "dashArray": "2 3"},
        ).add_to(target("Units"))

    if grids:
        folium.GeoJson(
            _fc([{"type": "Feature", "geometry": g["geometry"], "properties": {
                "grid": g["code"], "name": g["name"], "community": g["community_name"],
                "responsible": (f"{g['worker_name']} ({g['worker_code']})"
                                if g.get("worker_code") else "nobody assigned")}}
                 for g in grids]),
            name="Grids", show=True,
            style_function=lambda f: {"color": "#1f3b73", "weight": 1.6, "fillOpacity": 0.0,
                                      "fillColor": "#1f3b73"},
            highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(["grid", "name", "community", "responsible"]),
        ).add_to(m)

    if bins and bins["bins"]:
        top = max(b["n"] for b in bins["bins"])
        feats = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
            [round(b["minlon"], 6), round(b["minlat"], 6)],
            [round(b["maxlon"], 6), round(b["minlat"], 6)],
            [round(b["maxlon"], 6), round(b["maxlat"], 6)],
            [round(b["minlon"], 6), round(b["maxlat"], 6)],
            [round(b["minlon"], 6), round(b["minlat"], 6)]]]},
            "properties": {"events": b["n"], "open": b["open"],
                           "c": heat_colour(b["n"], top)}} for b in bins["bins"]]
        folium.GeoJson(
            _fc(feats), name="Event heat (server bins)",
            style_function=lambda f: {"fillColor": f["properties"]["c"], "fillOpacity": 0.6,
                                      "weight": 0},
            tooltip=folium.GeoJsonTooltip(["events", "open"]),
        ).add_to(target("Event heat (server bins)"))

    if events:
        fg = target(f"Events ({len(events)})")
        for e in events:
            when = e["reported_at"].strftime("%m-%d %H:%M") if e.get("reported_at") else ""
            tip = (f"<b>#{e['id']}</b> {html.escape(e['item_name'])}"
                   f" ({html.escape(e.get('item_name_zh') or '')})<br>status: {e['status']}"
                   f"{' <b>overdue</b>' if e.get('overdue') else ''}<br>reported {when}"
                   f" · {e['source']}<br>grid {e.get('grid_code') or '-'} unit "
                   f"{e.get('unit_code') or '-'}<br>{html.escape(e.get('description') or '')}")
            folium.CircleMarker(
                [e["lat"], e["lon"]], radius=6, weight=2 if e.get("overdue") else 1,
                color="#000" if e.get("overdue") else "#fff",
                fill=True, fill_color=STATUS_COLOUR.get(e["status"], "#d7301f"),
                fill_opacity=0.9, tooltip=folium.Tooltip(tip, sticky=False),
            ).add_to(fg)

    if cameras:
        fg = target(f"Cameras ({len(cameras)})")
        for c in cameras:
            folium.CircleMarker(
                [c["lat"], c["lon"]], radius=5, weight=1, color="#08306b", fill=True,
                fill_color="#9e9e9e" if c["status"] != "online" else "#2171b5", fill_opacity=0.9,
                tooltip=f"camera <b>{html.escape(c['code'])}</b> "
                        f"{html.escape(c.get('name') or '')}<br>{c['kind']} · {c['status']}",
            ).add_to(fg)

    if selected is not None:
        fg = target("Selected event and nearby cameras")
        folium.CircleMarker([selected["lat"], selected["lon"]], radius=11, color="#6a00a8",
                            weight=3, fill=False, tooltip=f"selected #{selected['id']}"
                            ).add_to(fg)
        for c in near:
            folium.PolyLine([[selected["lat"], selected["lon"]], [c["lat"], c["lon"]]],
                            color="#6a00a8", weight=1.5, dash_array="4 4").add_to(fg)
            folium.CircleMarker([c["lat"], c["lon"]], radius=7, color="#6a00a8", fill=True,
                                fill_opacity=0.8,
                                tooltip=f"camera {c['code']} · {c['distance_m']:.0f} m").add_to(fg)

    if tracks:
        fg = target(f"Today's patrol tracks ({len(tracks)})")
        for t in tracks:
            coords = [[y, x] for x, y in t["geometry"]["coordinates"]]
            folium.PolyLine(coords, color="#0571b0", weight=3, opacity=0.85,
                            tooltip=f"{t['worker_name']} ({t['worker_code']}) · "
                                    f"{t['length_m'] / 1000:.2f} km · "
                                    f"{t['started_at']:%H:%M}–{t['ended_at']:%H:%M}").add_to(fg)

    if dynamic is None:
        folium.LayerControl(collapsed=False).add_to(m)
    stabilise_ids(m)
    for fg in dynamic or ():
        stabilise_ids(fg)
    return m


@cache
def asset_url(name: str) -> str:
    """A vendored asset as a data: URL (works without any static file server)."""
    file = LOCAL_ASSETS[name]
    mime = "text/css" if file.endswith(".css") else "text/javascript"
    return f"data:{mime};base64," + base64.b64encode((VENDOR / file).read_bytes()).decode()


def stabilise_ids(m: folium.Map) -> None:
    """Use counter ids instead of folium's random ones (same data → same HTML) and the
    vendored Leaflet instead of CDN links."""
    n = 0

    def walk(el) -> None:
        nonlocal n
        el._id = f"w{n:05d}"
        n += 1
        for attr in ("default_js", "default_css"):
            if getattr(el, attr, None):
                setattr(el, attr, [(k, asset_url(k)) for k, _ in getattr(el, attr)
                                   if k in LOCAL_ASSETS])
        for child in list(el._children.values()):
            walk(child)

    walk(m)
