"""Folium rendering of the live map (no queries here: it draws what the loaders return)."""

from __future__ import annotations

import base64
import html
import math
from functools import cache
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
# Leaflet ships with the dashboard (command centres often run on an intranet without CDN
# access); jQuery, Bootstrap and awesome-markers are not needed and are dropped. Camera
# clustering is done on the server (``camera_layer``), so no MarkerCluster plugin either.
LOCAL_ASSETS = {"leaflet": "leaflet.js", "leaflet_css": "leaflet.css"}
# Event heat: a blue-purple sequential scale (ColorBrewer BuPu), so it never reads as the
# red-amber-green of the patrol coverage (ColorBrewer RdYlGn, diverging around 50 %).
HEAT = ["#bfd3e6", "#9ebcda", "#8c96c6", "#8c6bb1", "#88419d", "#810f7c", "#4d004b"]
COVERAGE_STOPS = [(0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80))]
CAMERA = "#1f78b4"
CAMERA_OFF = "#8c8c8c"
SELECTED = "#00c2d1"  # selected event and the cameras near it: cyan, apart from both scales
STATUS_COLOUR = {"reported": "#d7301f", "accepted": "#fc8d59", "dispatched": "#ef6548",
                 "in_progress": "#fdbb84", "resolved": "#74add1", "reopened": "#990000",
                 "closed": "#4d9221", "rejected": "#999999", "duplicate": "#999999"}


def coverage_colour(share: float) -> str:
    """Red (not patrolled) through amber to green (every unit passed)."""
    stops = COVERAGE_STOPS
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


def heat_levels(top: int) -> list[int]:
    """Bin counts at the colour steps of ``heat_colour`` (log scale, 1 to ``top``)."""
    if top <= 1:
        return [1]
    out: list[int] = []
    for k in range(len(HEAT)):
        v = int(round(top ** (k / (len(HEAT) - 1))))
        if not out or v > out[-1]:
            out.append(v)
    return out


class Legend(MacroElement):
    """A small HTML legend in a map corner that shows and hides with its parent layer
    (works on a plain folium map and inside streamlit-folium's swapped feature groups)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
    var d = L.DomUtil.create("div", "wangge-legend");
    d.style.cssText = "background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;"
        + "box-shadow:0 1px 4px rgba(0,0,0,.35);font:12px/1.35 sans-serif;color:#222;";
    d.innerHTML = {{ this.body|tojson }};
    return d;
};
(function (layer, legend) {
    layer.on("add", function () { legend.addTo(layer._map); });
    layer.on("remove", function () { legend.remove(); });
    if (layer._map) { legend.addTo(layer._map); }
})({{ this._parent.get_name() }}, {{ this.get_name() }});
{% endmacro %}
""")

    def __init__(self, body: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.body = body
        self.position = position


def _ramp(title: str, colours: list[str], labels: list[str], note: str = "") -> str:
    """Legend HTML: a title, a colour ramp and labels spread under it."""
    ramp = "".join(f'<span style="flex:1;background:{c}"></span>' for c in colours)
    marks = "".join(f"<span>{html.escape(x)}</span>" for x in labels)
    return (f'<div style="font-weight:600;margin-bottom:3px">{html.escape(title)}</div>'
            f'<div style="display:flex;width:170px;height:11px;border:1px solid #999">{ramp}'
            f'</div><div style="display:flex;justify-content:space-between;width:172px">'
            f'{marks}</div>'
            + (f'<div style="color:#666">{html.escape(note)}</div>' if note else ""))


def heat_legend(top: int, cell_m: float) -> Legend:
    """Legend of the event heat bins (counts per bin, log scale)."""
    levels = heat_levels(top)
    labels = [str(levels[0]), str(levels[len(levels) // 2]), f"{levels[-1]:,}"]
    if len(levels) < 3:
        labels = [str(v) for v in levels]
    size = f"{cell_m / 1000:.1f} km" if cell_m >= 1000 else f"{cell_m:.0f} m"
    colours = [heat_colour(v, top) for v in levels] if top > 1 else [HEAT[2]]
    return Legend(_ramp("Events per bin", colours, labels, f"bins ≈ {size}, log scale"))


def coverage_legend(radius_m: float | None = None) -> Legend:
    """Legend of the patrol coverage choropleth (share of units passed)."""
    colours = [coverage_colour(i / 10) for i in range(11)]
    note = f"units passed within {radius_m:.0f} m" if radius_m else "share of units passed"
    return Legend(_ramp("Patrol coverage", colours, ["0 %", "50 %", "100 %"], note))


class ClickToZoom(MacroElement):
    """Clicking a marker of the parent layer zooms the map in on it (camera clusters)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.on("click", function (e) {
    var m = this._map;
    if (m) { m.setView(e.latlng, Math.min(m.getZoom() + {{ this.step }}, 19)); }
});
{% endmacro %}
""")

    def __init__(self, step: int = 2) -> None:
        super().__init__()
        self._name = "ClickToZoom"
        self.step = step


def nearest_event(events: list[dict], lat: float, lon: float, zoom: float,
                  max_px: float = 12.0) -> dict | None:
    """The drawn event nearest a clicked point, if within ``max_px`` screen pixels."""
    deg_px = 360.0 / (256 * 2 ** zoom)
    coslat = max(math.cos(math.radians(lat)), 0.05)
    best, best_d = None, max_px
    for e in events:
        d = math.hypot((e["lon"] - lon) / deg_px, (e["lat"] - lat) / (deg_px * coslat))
        if d <= best_d:
            best, best_d = e, d
    return best


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}


def build_map(center: tuple[float, float], zoom: int, *, fit: tuple | None = None,
              grids: list[dict] = (), show_grids: bool = True, units: list[dict] = (),
              bins: dict | None = None, events: list[dict] = (),
              cameras: dict | list[dict] | None = None, near: list[dict] = (),
              selected: dict | None = None, coverage: dict[str, dict] | None = None,
              coverage_radius_m: float | None = None, tracks: list[dict] = (),
              online_tiles: bool = False, dynamic: list | None = None) -> folium.Map:
    """The live map with its layers. With ``dynamic`` (a list), every layer goes into that
    list as a FeatureGroup instead of onto the map: streamlit-folium then swaps them in place,
    keeping the map's position, and the base map (no layers) never changes, so every layer
    choice takes effect on the next run. ``grids`` also feed the coverage choropleth;
    ``show_grids`` draws their boundaries. ``cameras`` is a ``camera_layer`` result (clusters
    or individual cameras) or a plain list of cameras."""

    def target(name: str) -> folium.FeatureGroup:
        """A feature group for one layer, on the map or in ``dynamic``."""
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

    def responsible(g: dict) -> str:
        """The grid's responsible worker as shown on hover."""
        return (f"{g['worker_name']} ({g['worker_code']})" if g.get("worker_code")
                else "nobody assigned")

    if grids and show_grids:
        fg = target("Grids")
        folium.GeoJson(
            _fc([{"type": "Feature", "geometry": g["geometry"], "properties": {
                "grid": g["code"], "name": g["name"], "community": g.get("community_name"),
                "responsible": responsible(g)}} for g in grids]),
            name="Grids",
            style_function=lambda f: {"color": "#1f3b73", "weight": 1.6, "fillOpacity": 0.0,
                                      "fillColor": "#1f3b73"},
            highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(["grid", "name", "community", "responsible"]),
        ).add_to(fg)

    if coverage is not None and grids:
        feats = []
        for g in grids:
            c = coverage.get(g["code"], {"units": 0, "covered": 0, "share": 0.0})
            feats.append({"type": "Feature", "geometry": g["geometry"], "properties": {
                "grid": g["code"], "name": g["name"], "responsible": responsible(g),
                "coverage": f"{c['share']:.0%}", "units": f"{c['covered']} / {c['units']}",
                "colour": coverage_colour(c["share"])}})
        fg = target("Patrol coverage")
        folium.GeoJson(
            _fc(feats), name="Patrol coverage",
            style_function=lambda f: {"fillColor": f["properties"]["colour"], "fillOpacity": 0.45,
                                      "weight": 0, "color": f["properties"]["colour"]},
            tooltip=folium.GeoJsonTooltip(["grid", "name", "responsible", "coverage", "units"],
                                          aliases=["grid", "name", "responsible",
                                                   "patrol coverage", "units passed"]),
        ).add_to(fg)
        coverage_legend(coverage_radius_m).add_to(fg)

    if units:
        folium.GeoJson(
            _fc([{"type": "Feature", "geometry": u["geometry"],
                  "properties": {"unit": u["code"], "name": u["name"]}} for u in units]),
            name="Units", interactive=False,
            style_function=lambda f: {"color": "#6a7f99", "weight": 0.6, "fill": False,
                                      "dashArray": "2 3"},
        ).add_to(target("Units"))

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
        fg = target("Event heat (server bins)")
        folium.GeoJson(
            _fc(feats), name="Event heat (server bins)",
            style_function=lambda f: {"fillColor": f["properties"]["c"], "fillOpacity": 0.7,
                                      "weight": 0.4, "color": "#ffffff"},
            tooltip=folium.GeoJsonTooltip(["events", "open"]),
        ).add_to(fg)
        heat_legend(top, bins["celly"] * 111_320).add_to(fg)

    if isinstance(cameras, dict):
        camera_layer = cameras
    else:
        cams = list(cameras or [])
        camera_layer = {"mode": "cameras", "cameras": cams, "clusters": [], "total": len(cams)}
    if camera_layer["mode"] == "clusters" and camera_layer["clusters"]:
        fg = target(f"Cameras ({camera_layer['total']:,}, clustered)")
        for c in camera_layer["clusters"]:
            off = c["offline"]
            if c["n"] == 1:
                tip = f"1 camera ({html.escape(c.get('code') or '')}){', offline' if off else ''}"
            else:
                tip = f"{c['n']} cameras, {off} offline"
            folium.CircleMarker(
                [c["lat"], c["lon"]], radius=min(7 + 2.6 * math.sqrt(c["n"]), 24),
                weight=2, color="#ffffff" if not off else "#555555",
                fill=True, fill_color=CAMERA if off < c["n"] else CAMERA_OFF, fill_opacity=0.85,
                tooltip=tip + "<br><i>click to zoom in</i>",
            ).add_to(fg)
            if c["n"] > 1:
                folium.Marker(
                    [c["lat"], c["lon"]], interactive=False,
                    icon=folium.DivIcon(
                        html=f'<div class="wg-count" style="width:34px;text-align:center;'
                             f'font:bold 11px/14px sans-serif;color:#fff;pointer-events:none">'
                             f'{c["n"]}</div>', icon_size=(34, 14), icon_anchor=(17, 7)),
                ).add_to(fg)
        ClickToZoom().add_to(fg)
    elif camera_layer["cameras"]:
        fg = target(f"Cameras ({len(camera_layer['cameras']):,})")
        for c in camera_layer["cameras"]:
            direction = (f"{c['direction_deg']:.0f}°" if c.get("direction_deg") is not None
                         else "–")
            folium.CircleMarker(
                [c["lat"], c["lon"]], radius=5, weight=1, color="#08306b", fill=True,
                fill_color=CAMERA_OFF if c["status"] != "online" else CAMERA, fill_opacity=0.9,
                tooltip=f"camera <b>{html.escape(c['code'])}</b> "
                        f"{html.escape(c.get('name') or '')}<br>type {c['kind']} · direction "
                        f"{direction} · <b>{c['status']}</b>",
            ).add_to(fg)

    if events:
        fg = target(f"Events ({len(events)})")
        for e in events:
            when = e["reported_at"].strftime("%m-%d %H:%M") if e.get("reported_at") else ""
            tip = (f"<b>#{e['id']}</b> {html.escape(e['item_name'])}"
                   f" ({html.escape(e.get('item_name_zh') or '')})<br>status: {e['status']}"
                   f"{' <b>overdue</b>' if e.get('overdue') else ''}<br>reported {when}"
                   f" · {e['source']}<br>grid {e.get('grid_code') or '-'} unit "
                   f"{e.get('unit_code') or '-'}<br>{html.escape(e.get('description') or '')}"
                   "<br><i>click: cameras near it</i>")
            folium.CircleMarker(
                [e["lat"], e["lon"]], radius=6, weight=2 if e.get("overdue") else 1,
                color="#000" if e.get("overdue") else "#fff",
                fill=True, fill_color=STATUS_COLOUR.get(e["status"], "#d7301f"),
                fill_opacity=0.9, tooltip=folium.Tooltip(tip, sticky=False),
            ).add_to(fg)

    if selected is not None:
        fg = target("Selected event and nearby cameras")
        for c in near:
            folium.PolyLine([[selected["lat"], selected["lon"]], [c["lat"], c["lon"]]],
                            color=SELECTED, weight=2, dash_array="4 4").add_to(fg)
            folium.CircleMarker([c["lat"], c["lon"]], radius=7, color="#004d55", weight=2,
                                fill=True, fill_color=SELECTED, fill_opacity=0.9,
                                tooltip=f"camera {html.escape(c['code'])} "
                                        f"{html.escape(c.get('name') or '')} · {c['status']} · "
                                        f"{c['distance_m']:.0f} m").add_to(fg)
        folium.CircleMarker([selected["lat"], selected["lon"]], radius=12, color=SELECTED,
                            weight=4, fill=False, tooltip=f"selected #{selected['id']}"
                            ).add_to(fg)

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
