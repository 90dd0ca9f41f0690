"""Folium rendering of the live map (no queries here: it draws what the loaders return)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import shape

from dashboard import basemap
from dashboard.i18n import TZ_LABEL, item_label, lang, status_label
from dashboard.i18n import domain as _domain
from dashboard.mapchrome import MetricScale
from gis.clock import CST, aware

t = _domain("mapview")  # every text the map shows: layer names, tooltips, legends

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
# Grid outlines go to the browser as integers of 1e-5° (about 1 m), each vertex after a ring's
# first as the step from the one before, with the vertices that move an outline by less than
# that dropped: a tenth of the GeoJSON's size, the same lines at every zoom of the map.
GRID_SCALE = 100_000
GRID_STYLE = {"color": "#1f3b73", "weight": 1.6, "fillOpacity": 0.0, "fillColor": "#1f3b73"}
GRID_HIGHLIGHT = {"weight": 3, "fillOpacity": 0.08}
GRID_LABEL_CSS = ("transform:translate(-50%,-50%);white-space:nowrap;font:12px/1.2 sans-serif;"
                  "color:#1f3b73;text-shadow:0 0 3px #fff,0 0 3px #fff")


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
    size = (t("{n} km", n=f"{cell_m / 1000:.1f}") if cell_m >= 1000
            else t("{n} m", n=f"{cell_m:.0f}"))
    colours = [heat_colour(v, top) for v in levels] if top > 1 else [HEAT[2]]
    return Legend(_ramp(t("Events per bin"), colours, labels,
                        t("bins ≈ {size}, log scale", size=size)))


def coverage_legend(radius_m: float | None = None) -> Legend:
    """Legend of the patrol coverage choropleth (share of units passed)."""
    colours = [coverage_colour(i / 10) for i in range(11)]
    note = (t("units passed within {r} m", r=f"{radius_m:.0f}") if radius_m
            else t("share of units passed"))
    return Legend(_ramp(t("Patrol coverage"), colours, ["0 %", "50 %", "100 %"], note))


class LayerMemory(MacroElement):
    """Overlays the person unticked in the layer control stay off: streamlit-folium swaps every
    feature group in again on each refresh (``feature_group_to_add``), so the unticked ones are
    remembered (per browser tab, by the group's ``wgKey`` or its name without a count) and
    taken off again whenever a layer control is added with them."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function (map) {
    var KEY = "wangge_hidden_layers", proto = L.Control.Layers.prototype;
    var hidden = window.wgHiddenLayers;
    if (!hidden) {
        try { hidden = new Set(JSON.parse(sessionStorage.getItem(KEY) || "[]")); }
        catch (e) { hidden = new Set(); }
        window.wgHiddenLayers = hidden;
    }
    function save() {
        try { sessionStorage.setItem(KEY, JSON.stringify(Array.from(hidden))); } catch (e) {}
    }
    function keyOf(o) {
        var k = o.layer && o.layer.options && o.layer.options.wgKey;
        return k || String(o.name).replace(/<[^>]*>/g, "")
            .replace(/\s*[(（][^()（）]*[)）]\s*$/, "").trim();
    }
    if (!proto._wgMemory) {
        proto._wgMemory = true;
        var onClick = proto._onInputClick, onAdd = proto.onAdd;
        proto._onInputClick = function () {  // only a person's tick or untick is remembered
            window.wgByUser = true;
            try { return onClick.apply(this, arguments); } finally { window.wgByUser = false; }
        };
        proto.onAdd = function (m) {  // a new control (each refresh): take the unticked off
            var el = onAdd.call(this, m);
            this._layers.forEach(function (o) {
                if (o.overlay && hidden.has(keyOf(o)) && m.hasLayer(o.layer)) {
                    m.removeLayer(o.layer);
                }
            });
            return el;
        };
    }
    map.on("overlayremove", function (e) {
        if (window.wgByUser) { hidden.add(keyOf(e)); save(); }
    });
    map.on("overlayadd", function (e) {
        if (window.wgByUser) { hidden.delete(keyOf(e)); save(); }
    });
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "LayerMemory"


class Helpers(MacroElement):
    """Browser functions the compact layers share (once per map): ``wgGrids(key, src, fn)``
    calls ``fn`` with the decoded grid shapes of ``key``, from ``src`` (the data, or the URL
    of the cached resource, fetched once per map frame); ``wgTip`` builds a tooltip table."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function () {
    if (window.wgGrids) { return; }
    var store = {}, loading = {}, S = {{ this.scale }};
    function ring(a) {
        var x = 0, y = 0, out = [];
        for (var i = 0; i < a.length; i += 2) {
            x += a[i]; y += a[i + 1]; out.push([y / S, x / S]);
        }
        return out;
    }
    function decode(d) {
        d.g.forEach(function (g) { g.ll = g[4].map(function (p) { return p.map(ring); }); });
        return d;
    }
    window.wgGrids = function (key, src, fn) {
        if (store[key]) { fn(store[key]); return; }
        if (src && typeof src === "object") { store[key] = decode(src); fn(store[key]); return; }
        if (!src) { return; }
        loading[key] = loading[key] || fetch(src).then(function (r) { return r.json(); })
            .then(function (d) { store[key] = decode(d); return store[key]; });
        loading[key].then(fn);
    };
    function esc(v) {
        return String(v === null || v === undefined ? "" : v).replace(/[&<>"]/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c];
        });
    }
    window.wgTip = function (aliases, values) {
        return "<table>" + aliases.map(function (a, i) {
            return "<tr><th>" + esc(a) + "</th><td>" + esc(values[i]) + "</td></tr>";
        }).join("") + "</table>";
    };
})();
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "Helpers"
        self.scale = GRID_SCALE


@dataclass(frozen=True)
class GridShapes:
    """The grids as the browser draws them: ``payload`` (compact JSON: per grid its code, name,
    community, responsible and outline), ``key`` (its content hash) and, when it is served as
    a cached resource (the live page), ``url``; without one the payload goes inline."""

    key: str
    payload: str
    url: str | None = None
    on_map: bool = False  # the payload is on the map once (``GridData``): layers name the key

    @property
    def source(self) -> Any:
        """What a layer hands ``wgGrids``: the URL, none (on the map), else the data itself."""
        return self.url or (None if self.on_map else json.loads(self.payload))


class GridData(MacroElement):
    """The grid shapes once on a whole map (its layers then refer to them by key)."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
wgGrids({{ this.key|tojson }}, {{ this.data|tojson }}, function () {});
{% endmacro %}
""")

    def __init__(self, shapes: GridShapes) -> None:
        super().__init__()
        self._name = "GridData"
        self.key, self.data = shapes.key, json.loads(shapes.payload)


def _ring(coords: Sequence[Sequence[float]]) -> list[int]:
    """One ring as integer steps of 1e-5° (repeated vertices dropped)."""
    out: list[int] = []
    px = py = None
    lx = ly = 0
    for c in coords:
        x, y = round(c[0] * GRID_SCALE), round(c[1] * GRID_SCALE)
        if (x, y) == (px, py):
            continue
        out += [x - lx, y - ly]
        px, py, lx, ly = x, y, x, y
    return out


def _outline(geometry: dict[str, Any]) -> list[list[list[int]]]:
    """A (multi)polygon, simplified to 1e-5°, as polygons of encoded rings."""
    geom = shape(geometry).simplify(1 / GRID_SCALE, preserve_topology=True)
    polys = getattr(geom, "geoms", [geom])
    return [[_ring(p.exterior.coords), *(_ring(r.coords) for r in p.interiors)]
            for p in polys if not p.is_empty]


def grid_shapes(grids: Sequence[dict]) -> GridShapes:
    """The compact, cacheable form of the grids (in the map's datum) for the grid layers."""
    rows = [[g["code"], g["name"], g.get("community_name") or "", _responsible(g),
             _outline(g["geometry"])] for g in grids]
    payload = json.dumps({"g": rows}, ensure_ascii=False, separators=(",", ":"))
    return GridShapes(hashlib.sha1(payload.encode()).hexdigest()[:16], payload)


class GridOutlines(MacroElement):
    """The grid boundaries (the parent layer) with their responsible worker on hover."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
wgGrids({{ this.key|tojson }}, {{ this.src|tojson }}, function (d) {
    var fg = {{ this._parent.get_name() }}, aliases = {{ this.aliases|tojson }};
    var style = {{ this.style|tojson }}, hi = {{ this.highlight|tojson }};
    d.g.forEach(function (g) {
        var p = L.polygon(g.ll, style).bindTooltip(function () {
            return wgTip(aliases, [g[0], g[1], g[2], g[3]]);
        }, {sticky: true});
        p.on("mouseover", function () { p.setStyle(hi); });
        p.on("mouseout", function () { p.setStyle(style); });
        p.addTo(fg);
    });
});
{% endmacro %}
""")

    def __init__(self, shapes: GridShapes) -> None:
        super().__init__()
        self._name = "GridOutlines"
        self.key, self.src = shapes.key, shapes.source
        self.aliases = _fields("grid", "name", "community", "responsible")
        self.style, self.highlight = GRID_STYLE, GRID_HIGHLIGHT


class CoverageFill(MacroElement):
    """The patrol coverage choropleth of the grids: the shapes shared with the outlines, the
    shares (per grid: text, units passed, colour) inline."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
wgGrids({{ this.key|tojson }}, {{ this.src|tojson }}, function (d) {
    var fg = {{ this._parent.get_name() }}, aliases = {{ this.aliases|tojson }};
    var cov = {{ this.coverage|tojson }}, none = {{ this.none|tojson }};
    d.g.forEach(function (g) {
        var c = cov[g[0]] || none;
        L.polygon(g.ll, {fillColor: c[2], fillOpacity: 0.45, weight: 0, color: c[2]})
            .bindTooltip(function () { return wgTip(aliases, [g[0], g[1], g[3], c[0], c[1]]); },
                         {sticky: true}).addTo(fg);
    });
});
{% endmacro %}
""")

    def __init__(self, shapes: GridShapes, coverage: Mapping[str, dict]) -> None:
        super().__init__()
        self._name = "CoverageFill"
        self.key, self.src = shapes.key, shapes.source
        self.aliases = _fields("grid", "name", "responsible", "patrol coverage", "units passed")
        self.coverage = {code: _coverage_cell(c) for code, c in coverage.items()}
        self.none = _coverage_cell({"units": 0, "covered": 0, "share": 0.0})


def _coverage_cell(c: Mapping[str, Any]) -> list[str]:
    """One grid's coverage as the tooltip and the fill show it."""
    return [f"{c['share']:.0%}", f"{c['covered']} / {c['units']}",
            coverage_colour(c["share"])]


class GridNames(MacroElement):
    """Each grid's name at the middle of its bounding box (not interactive), shown where the
    grid is wider on screen than its name."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
wgGrids({{ this.key|tojson }}, {{ this.src|tojson }}, function (d) {
    var fg = {{ this._parent.get_name() }}, css = {{ this.css|tojson }}, labels = [];
    d.g.forEach(function (g) {
        var div = document.createElement("div"), b = L.latLngBounds(g.ll);
        div.className = "wg-grid-label";
        div.style.cssText = css;
        div.textContent = g[1] || g[0];
        labels.push({b: b, m: L.marker(b.getCenter(), {interactive: false, icon: L.divIcon(
            {html: div.outerHTML, iconSize: [0, 0], className: "empty"})}).addTo(fg)});
    });
    // a name shows only where its grid is wider on screen than the name (no pile of names
    // over each other when zoomed out)
    function fit() {
        var mp = fg._map;
        if (!mp) { return; }
        labels.forEach(function (x) {
            var el = x.m.getElement(), lab = el && el.firstChild;
            if (!lab) { return; }
            var a = mp.latLngToLayerPoint(x.b.getNorthWest()),
                c = mp.latLngToLayerPoint(x.b.getSouthEast());
            el.style.visibility = (c.x - a.x) >= lab.scrollWidth ? "" : "hidden";
        });
    }
    var hooked = false;
    function hook() {
        if (fg._map && !hooked) { fg._map.on("zoomend", fit); hooked = true; }
        fit();
    }
    fg.on("add", hook);
    hook();
});
{% endmacro %}
""")

    def __init__(self, shapes: GridShapes) -> None:
        super().__init__()
        self._name = "GridNames"
        self.key, self.src = shapes.key, shapes.source
        self.css = GRID_LABEL_CSS


class HeatBins(MacroElement):
    """The server's heat bins as rectangles (per bin: corners, events, open, colour)."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function (fg, bins, aliases) {
    bins.forEach(function (b) {
        L.rectangle([[b[1], b[0]], [b[3], b[2]]], {fillColor: b[6], fillOpacity: 0.7,
                    weight: 0.4, color: "#ffffff"})
            .bindTooltip(function () { return wgTip(aliases, [b[4], b[5]]); }, {sticky: true})
            .addTo(fg);
    });
})({{ this._parent.get_name() }}, {{ this.bins|tojson }}, {{ this.aliases|tojson }});
{% endmacro %}
""")

    def __init__(self, bins: Sequence[dict], top: int) -> None:
        super().__init__()
        self._name = "HeatBins"
        self.bins = [[*(round(b[k], 6) for k in ("minlon", "minlat", "maxlon", "maxlat")),
                      b["n"], b["open"], heat_colour(b["n"], top)] for b in bins]
        self.aliases = _fields("events", "open")


class Circles(MacroElement):
    """Circle markers of the parent layer from one list (per marker: lat, lon, Leaflet
    options, tooltip HTML): one template for the layer, not three folium elements a marker."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function (fg, rows, sticky) {
    rows.forEach(function (r) {
        var c = L.circleMarker([r[0], r[1]], r[2]);
        if (r[3]) { c.bindTooltip("<div>" + r[3] + "</div>", {sticky: sticky}); }
        c.addTo(fg);
    });
})({{ this._parent.get_name() }}, {{ this.rows|tojson }}, {{ this.sticky|tojson }});
{% endmacro %}
""")

    def __init__(self, rows: list[list[Any]], sticky: bool = True) -> None:
        super().__init__()
        self._name = "Circles"
        self.rows, self.sticky = rows, sticky


class Lines(MacroElement):
    """Polylines of the parent layer from one list (per line: [lat, lon] points, Leaflet
    options, tooltip HTML)."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function (fg, rows) {
    rows.forEach(function (r) {
        var l = L.polyline(r[0], r[1]);
        if (r[2]) { l.bindTooltip("<div>" + r[2] + "</div>", {sticky: true}); }
        l.addTo(fg);
    });
})({{ this._parent.get_name() }}, {{ this.rows|tojson }});
{% endmacro %}
""")

    def __init__(self, rows: list[list[Any]]) -> None:
        super().__init__()
        self._name = "Lines"
        self.rows = rows


class Counts(MacroElement):
    """Not interactive number labels of the parent layer (per label: lat, lon, count)."""

    _template = Template(r"""
{% macro script(this, kwargs) %}
(function (fg, rows, css) {
    rows.forEach(function (r) {
        L.marker([r[0], r[1]], {interactive: false, icon: L.divIcon({className: "empty",
            html: '<div class="wg-count" style="' + css + '">' + r[2] + "</div>",
            iconSize: [34, 14], iconAnchor: [17, 7]})}).addTo(fg);
    });
})({{ this._parent.get_name() }}, {{ this.rows|tojson }}, {{ this.css|tojson }});
{% endmacro %}
""")

    def __init__(self, rows: list[list[Any]]) -> None:
        super().__init__()
        self._name = "Counts"
        self.rows = rows
        self.css = ("width:34px;text-align:center;font:bold 11px/14px sans-serif;color:#fff;"
                    "pointer-events:none")


def _ll(lat: float, lon: float) -> list[float]:
    """A point for the browser, to 1e-6° (about 0.1 m)."""
    return [round(float(lat), 6), round(float(lon), 6)]


class FillWindow(MacroElement):
    """The map (in streamlit-folium's iframe) as tall as the browser window leaves below its
    top, at least ``min_px``, refitted when the window or the page above it changes. ``fit``
    (south-west, north-east): the extent the new map shows, fitted at its final size without
    animation, so the first view it reports is the whole extent."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
    var frame = window.frameElement, top = window.parent, last = 0;
    var extent = {{ this.fit|tojson }};
    if (!frame || !top || top === window) { return; }
    function scroller(el) {
        for (el = el.parentElement; el; el = el.parentElement) {
            var o = top.getComputedStyle(el).overflowY;
            if ((o === "auto" || o === "scroll") && el.scrollHeight > el.clientHeight) {
                return el;
            }
        }
        return null;
    }
    function fit() {
        var sc = scroller(frame), y = frame.getBoundingClientRect().top;
        y += sc ? sc.scrollTop : (top.scrollY || 0);  // the top as on the unscrolled page
        var h = Math.max({{ this.min_px }}, Math.floor(top.innerHeight - y - {{ this.gap_px }}));
        if (Math.abs(h - last) < 2) { return; }
        last = h;
        frame.style.height = h + "px";
        map.getContainer().style.height = h + "px";
        map.invalidateSize();
        if (extent) { map.fitBounds(extent, {animate: false}); extent = null; }
    }
    fit();
    top.addEventListener("resize", fit);
    setInterval(fit, 1000);
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, min_px: int = 360, gap_px: int = 16,
                 fit: list[list[float]] | None = None) -> None:
        super().__init__()
        self._name = "FillWindow"
        self.min_px = min_px
        self.gap_px = gap_px
        self.fit = fit


class Controls(MacroElement):
    """Zoom buttons with their hover titles in the current language (instead of Leaflet's
    English titles)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.zoom({zoomInTitle: {{ this.zoom_in|tojson }},
                zoomOutTitle: {{ this.zoom_out|tojson }}}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "Controls"
        self.zoom_in, self.zoom_out = t("Zoom in"), t("Zoom out")


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


@dataclass(frozen=True)
class MapView:
    """What the live map shows: where it looks and the data of each layer (``build_map``).
    ``grids`` also feed the coverage choropleth; ``show_grids`` draws their boundaries;
    ``cameras`` is a ``camera_layer`` result (clusters or cameras) or a plain list of cameras."""

    center: tuple[float, float]
    zoom: int
    fit: tuple | None = None
    grids: Sequence[dict] = ()
    show_grids: bool = True
    units: Sequence[dict] = ()
    bins: dict | None = None
    events: Sequence[dict] = ()
    cameras: dict | list[dict] | None = None
    near: Sequence[dict] = ()
    selected: dict | None = None
    coverage: dict[str, dict] | None = None
    coverage_radius_m: float | None = None
    tracks: Sequence[dict] = ()
    online_tiles: bool = False
    fill_window: bool = False  # as tall as the browser window allows (the live map)
    basemap: Any = None  # a dashboard.basemap.Basemap; None: the configured one
    buildings: Sequence[dict] = ()
    grid_shapes: GridShapes | None = None  # ``grids`` made compact (cached by the live page)


Target = Callable[..., folium.FeatureGroup]  # target(name, key=None): a layer's group


def build_map(view: MapView, dynamic: list | None = None,
              assets: Mapping[str, str] | None = None) -> folium.Map:
    """The live map with its layers. With ``dynamic`` (a list), every layer goes into that
    list as a FeatureGroup instead of onto the map: streamlit-folium then swaps them in place,
    keeping the map's position, and the base map (no layers) never changes, so every layer
    choice takes effect on the next run. ``assets``: URLs of the vendored Leaflet files
    (default: inline data: URLs)."""
    bm = view.basemap or basemap.configured()  # None: the configured one, if any
    if bm is not None:
        view = basemap.shift_view(dataclasses.replace(view, basemap=bm), bm.datum)
    if view.grids and view.grid_shapes is None:
        view = dataclasses.replace(view, grid_shapes=grid_shapes(view.grids))
    m = _base_map(view)
    shapes = view.grid_shapes
    if shapes and not shapes.url and dynamic is None:  # one page: the shapes once, on the map
        GridData(shapes).add_to(m)
        view = dataclasses.replace(view, grid_shapes=dataclasses.replace(shapes, on_map=True))

    def target(name: str, key: str | None = None) -> folium.FeatureGroup:
        """A feature group for one layer (``key``: its name in any language, for the layer
        control's memory), on the map or in ``dynamic``."""
        fg = folium.FeatureGroup(name=name, show=True, **({"wg_key": key} if key else {}))
        if dynamic is None:
            fg.add_to(m)
        else:
            dynamic.append(fg)
        return fg

    for layer in LAYERS:
        layer(view, target)
    if dynamic is None:
        folium.LayerControl(collapsed=False).add_to(m)
    stabilise_ids(m, assets)
    for fg in dynamic or ():
        stabilise_ids(fg, assets)
    return m


def _base_map(view: MapView) -> folium.Map:
    """The map itself: position, optional online tiles, the extent to fit."""
    m = folium.Map(location=list(view.center), zoom_start=view.zoom, tiles=None,
                   zoom_control=False, prefer_canvas=True, min_zoom=3, max_zoom=19)
    Controls().add_to(m)
    MetricScale().add_to(m)
    Helpers().add_to(m)
    basemap.add_to(m, view.basemap)
    LayerMemory().add_to(m)
    if view.online_tiles and view.basemap is None:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)").add_to(m)
    fit = [[view.fit[1], view.fit[0]], [view.fit[3], view.fit[2]]] if view.fit else None
    if fit:
        m.fit_bounds(fit)
    if view.fill_window:
        FillWindow(fit=fit).add_to(m)
    return m


def _responsible(g: dict) -> str:
    """The grid's responsible worker as shown on hover."""
    return (f"{g['worker_name']} ({g['worker_code']})" if g.get("worker_code")
            else t("nobody assigned"))


def _cst(dt: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A time of the map in China Standard Time ('' for none)."""
    return aware(dt).astimezone(CST).strftime(fmt) if dt else ""


def _code(kind: str, value: str) -> str:
    """A coded value (``kind:value`` in the catalogue) for people: Chinese, or the plain code."""
    return t(f"{kind}:{value}") if lang() == "zh" else value.replace("_", " ")


def _fields(*names: str) -> list[str]:
    """Tooltip labels of GeoJSON properties, in the current language."""
    return [_code("field", n) for n in names]


def grid_layer(view: MapView, target: Target) -> None:
    """Grid boundaries with their responsible worker on hover."""
    if not (view.grid_shapes and view.show_grids):
        return
    GridOutlines(view.grid_shapes).add_to(target(t("Grids"), "grids"))


def coverage_layer(view: MapView, target: Target) -> None:
    """Patrol coverage choropleth of the grids, with its legend."""
    if view.coverage is None or not view.grid_shapes:
        return
    fg = target(t("Patrol coverage"), "coverage")
    CoverageFill(view.grid_shapes, view.coverage).add_to(fg)
    coverage_legend(view.coverage_radius_m).add_to(fg)


def grid_name_layer(view: MapView, target: Target) -> None:
    """Each grid's name at its centre, always shown, when there is no basemap to read."""
    if view.basemap is not None or not view.grid_shapes:
        return
    GridNames(view.grid_shapes).add_to(target(basemap.t("Grid names")))


def unit_layer(view: MapView, target: Target) -> None:
    """Minimal unit outlines (not interactive)."""
    if not view.units:
        return
    folium.GeoJson(
        _fc([{"type": "Feature", "geometry": u["geometry"],
              "properties": {"unit": u["code"], "name": u["name"]}} for u in view.units]),
        name=t("Units"), interactive=False,
        style_function=lambda f: {"color": "#6a7f99", "weight": 0.6, "fill": False,
                                  "dashArray": "2 3"},
    ).add_to(target(t("Units"), "units"))


def heat_layer(view: MapView, target: Target) -> None:
    """Event heat from the server's bins, with its legend."""
    bins = view.bins
    if not (bins and bins["bins"]):
        return
    top = max(b["n"] for b in bins["bins"])
    fg = target(t("Event heat (server bins)"), "heat")
    HeatBins(bins["bins"], top).add_to(fg)
    heat_legend(top, bins["celly"] * 111_320).add_to(fg)


def camera_layer(view: MapView, target: Target) -> None:
    """Cameras: server-side clusters or each camera."""
    if isinstance(view.cameras, dict):
        layer = view.cameras
    else:
        cams = list(view.cameras or [])
        layer = {"mode": "cameras", "cameras": cams, "clusters": [], "total": len(cams)}
    if layer["mode"] == "clusters" and layer["clusters"]:
        _camera_clusters(layer, target(t("Cameras ({n}, clustered)",
                                         n=f"{layer['total']:,}"), "cameras"))
    elif layer["cameras"]:
        _cameras(layer["cameras"], target(t("Cameras ({n})", n=f"{len(layer['cameras']):,}"),
                                          "cameras"))


def _camera_clusters(layer: dict, fg: folium.FeatureGroup) -> None:
    """One circle per camera cluster (with its count); a click zooms in."""
    rows = []
    for c in layer["clusters"]:
        off = c["offline"]
        if c["n"] == 1:
            tip = t("1 camera ({code})", code=html.escape(c.get("code") or ""))
            tip += t(", offline") if off else ""
        else:
            tip = t("{n} cameras, {off} offline", n=c["n"], off=off)
        rows.append([*_ll(c["lat"], c["lon"]), {
            "radius": round(min(7 + 2.6 * math.sqrt(c["n"]), 24), 1), "weight": 2,
            "color": "#ffffff" if not off else "#555555",
            "fillColor": CAMERA if off < c["n"] else CAMERA_OFF, "fillOpacity": 0.85},
            tip + f"<br><i>{t('click to zoom in')}</i>"])
    Circles(rows).add_to(fg)
    Counts([[*_ll(c["lat"], c["lon"]), c["n"]] for c in layer["clusters"] if c["n"] > 1]
           ).add_to(fg)
    ClickToZoom().add_to(fg)


def _cameras(cameras: list[dict], fg: folium.FeatureGroup) -> None:
    """One marker per camera, grey when offline."""
    rows = []
    for c in cameras:
        direction = (f"{c['direction_deg']:.0f}°" if c.get("direction_deg") is not None
                     else "–")
        rows.append([*_ll(c["lat"], c["lon"]), {
            "radius": 5, "weight": 1, "color": "#08306b", "fillOpacity": 0.9,
            "fillColor": CAMERA_OFF if c["status"] != "online" else CAMERA},
            t("camera <b>{code}</b> {name}<br>type {kind} · direction {dir} · <b>{status}</b>",
              code=html.escape(c["code"]), name=html.escape(c.get("name") or ""),
              kind=camera_kind_label(c.get("kind")), dir=direction,
              status=camera_status_label(c["status"]))])
    Circles(rows).add_to(fg)


def camera_kind_label(kind: str | None) -> str:
    """A camera type for people."""
    return _code("camera_kind", kind or "other")


def camera_status_label(status: str) -> str:
    """A camera status (online, offline, fault, unknown) for people."""
    return _code("camera_status", status)


def _event_tip(e: dict) -> str:
    """Hover text of one event marker (times in China Standard Time)."""
    item = item_label(e.get("item_code", ""), e["item_name"], e.get("item_name_zh"))
    desc = e.get("description")
    return t("<b>#{id}</b> {item}<br>status: {status}{overdue}<br>reported {when} ({tz}) · "
             "{source}<br>grid {grid} unit {unit}<br>{description}<i>click: cameras near "
             "it</i>", id=e["id"], item=html.escape(item), status=status_label(e["status"]),
             overdue=f" <b>{t('overdue')}</b>" if e.get("overdue") else "",
             when=_cst(e.get("reported_at")), tz=TZ_LABEL(),
             source=_code("source", e["source"]), grid=e.get("grid_code") or "-",
             unit=e.get("unit_code") or "-",
             description=f"{html.escape(desc)}<br>" if desc else "")


def event_layer(view: MapView, target: Target) -> None:
    """Individual events coloured by status, overdue ones outlined in black."""
    if not view.events:
        return
    fg = target(t("Events ({n})", n=len(view.events)), "events")
    Circles([[*_ll(e["lat"], e["lon"]), {
        "radius": 6, "weight": 2 if e.get("overdue") else 1,
        "color": "#000" if e.get("overdue") else "#fff",
        "fillColor": STATUS_COLOUR.get(e["status"], "#d7301f"), "fillOpacity": 0.9},
        _event_tip(e)] for e in view.events], sticky=False).add_to(fg)


def selected_layer(view: MapView, target: Target) -> None:
    """The selected event ringed, with lines to the cameras near it."""
    sel = view.selected
    if sel is None:
        return
    fg = target(t("Selected event and nearby cameras"), "selected")
    here = _ll(sel["lat"], sel["lon"])
    Lines([[[here, _ll(c["lat"], c["lon"])], {"color": SELECTED, "weight": 2,
                                               "dashArray": "4 4"}, ""] for c in view.near]
          ).add_to(fg)
    Circles([[*_ll(c["lat"], c["lon"]), {
        "radius": 7, "color": "#004d55", "weight": 2, "fillColor": SELECTED, "fillOpacity": 0.9},
        t("camera {code} {name} · {status} · {d} m", code=html.escape(c["code"]),
          name=html.escape(c.get("name") or ""), status=camera_status_label(c["status"]),
          d=f"{c['distance_m']:.0f}")] for c in view.near]
        + [[*here, {"radius": 12, "color": SELECTED, "weight": 4, "fill": False},
            t("selected #{id}", id=sel["id"])]]).add_to(fg)


def track_layer(view: MapView, target: Target) -> None:
    """Today's patrol tracks."""
    if not view.tracks:
        return
    fg = target(t("Today's patrol tracks ({n})", n=len(view.tracks)), "tracks")
    Lines([[[_ll(y, x) for x, y, *_ in tr["geometry"]["coordinates"]],
            {"color": "#0571b0", "weight": 3, "opacity": 0.85}, t(
                "{name} ({code}) · {km} km · {start}–{end} ({tz})", name=html.escape(
                    tr["worker_name"]), code=tr["worker_code"],
                km=f"{tr['length_m'] / 1000:.2f}", start=_cst(tr["started_at"], "%H:%M"),
                end=_cst(tr["ended_at"], "%H:%M"), tz=TZ_LABEL())] for tr in view.tracks]
          ).add_to(fg)


# The layers in drawing order (later ones on top).
LAYERS: tuple[Callable[[MapView, Target], None], ...] = (
    basemap.building_layer, grid_layer, coverage_layer, unit_layer, heat_layer, camera_layer,
    event_layer, selected_layer, track_layer, grid_name_layer)


@cache
def asset_url(name: str) -> str:
    """A vendored asset as a data: URL (works without any static file server)."""
    file = LOCAL_ASSETS[name]
    mime = "text/css" if file.endswith(".css") else "text/javascript"
    return f"data:{mime};base64," + base64.b64encode((VENDOR / file).read_bytes()).decode()


def stabilise_ids(m: folium.Map, assets: Mapping[str, str] | None = None) -> None:
    """Use counter ids instead of folium's random ones (same data → same HTML) and the
    vendored Leaflet (``assets``: its URLs; default inline data: URLs) instead of CDN links."""
    n = 0

    def walk(el) -> None:
        nonlocal n
        el._id = f"w{n:05d}"
        n += 1
        for attr in ("default_js", "default_css"):
            if getattr(el, attr, None):
                setattr(el, attr, [(k, (assets or {}).get(k) or asset_url(k))
                                   for k, _ in getattr(el, attr) if k in LOCAL_ASSETS])
        for child in list(el._children.values()):
            walk(child)

    walk(m)
