"""The statistics board's loader and its Vega-Lite charts (dark, for a 1920×1080 wall screen).

The charts are plain Vega-Lite specs with their data inline, drawn by ``st.vega_lite_chart``
(Streamlit's own bundled Vega: nothing is fetched from a CDN). Labels come from the
``statistics`` catalogue (dashboard/locale/zh_CN/LC_MESSAGES/statistics.po).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import data
from dashboard.i18n import domain, item_label
from gis.oversight import statistics as stats

t = domain("statistics")
CACHE_MAX = 64  # boards kept: one per (scope, refresh period) of the screens open now
MAX_BARS = 15  # bars of a per-area chart (the busiest first)
FG, MUTED, GRID, PANEL = "#e6edf7", "#8fb3d9", "#1f3a5a", "#0d2137"
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
PALETTE = ["#4fc3f7", "#ffb74d", "#ef5350", "#66bb6a", "#ba68c8", "#ffee58", "#26c6da",
           "#ff8a65", "#9ccc65", "#f06292"]
Spec = dict[str, Any]
DB_DOWN = "Database unreachable: {reason}. Showing the last figures; retrying every {s} s."
# message ids of the per-level chart titles (statistics catalogue)
AREA_TITLES = {"street": "Events per street (last {days} days)",
               "community": "Events per community (last {days} days)"}
ON_TIME_TITLES = {"street": "On-time rate per street",
                  "community": "On-time rate per community"}
COVERAGE_TITLES = {"street": "Patrol coverage per street",
                   "community": "Patrol coverage per community"}
CONFIG: Spec = {
    "background": "transparent", "font": FONT, "view": {"stroke": None},
    "axis": {"labelColor": FG, "titleColor": MUTED, "gridColor": GRID, "domainColor": GRID,
             "tickColor": GRID, "labelFontSize": 14, "titleFontSize": 14, "labelLimit": 220},
    "legend": {"labelColor": FG, "titleColor": MUTED, "labelFontSize": 14,
               "titleFontSize": 14, "orient": "top"},
    "title": {"color": FG, "fontSize": 20, "anchor": "start", "offset": 12},
    "text": {"color": FG, "fontSize": 14},
}


def load(url: str, scope: stats.Scope, every_s: int) -> stats.Board:
    """The board of ``scope`` for a screen refreshing every ``every_s`` seconds: read at most
    once per half period for all screens showing it, so each refresh reads afresh
    (``data.DatabaseUnavailable`` when the database is away)."""
    return _load(url, scope, int(time.time() // max(1, every_s // 2)))


@st.cache_data(max_entries=CACHE_MAX, show_spinner=False)
def _load(url: str, scope: stats.Scope, period: int) -> stats.Board:
    """The board of ``scope`` in half period number ``period`` (which only keys the cache)."""
    return data._call(stats.board, data._read_engine(url), scope)


def _spec(title: str, values: list[dict], height: int, **body: Any) -> Spec:
    """A Vega-Lite spec with the board's dark style and inline data."""
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title,
            "data": {"values": values}, "height": height,
            "padding": {"left": 10, "right": 16, "top": 8, "bottom": 8}, "config": CONFIG,
            **body}


def class_colours(b: stats.Board) -> Spec:
    """One colour per event class (by its name in the current language), stable by code."""
    names: dict[str, str] = {}
    for d in sorted(b.per_day, key=lambda d: d.class_code):
        names.setdefault(d.class_code, item_label(d.class_code, d.class_name, d.class_name_zh))
    codes = sorted(names)
    return {"domain": [names[c] for c in codes],
            "range": [PALETTE[i % len(PALETTE)] for i in range(len(codes))]}


def per_day(b: stats.Board, height: int = 350) -> Spec:
    """Stacked bars: events per day (every day of the window on the axis) by class."""
    days = [d.strftime("%m-%d") for d in b.window.days]
    values = [{"day": d.day.strftime("%m-%d"), "n": d.n,
               "class": item_label(d.class_code, d.class_name, d.class_name_zh)}
              for d in b.per_day]
    return _spec(t("Events per day by class (last {days} days)", days=len(days)), values,
                 height, mark={"type": "bar", "cornerRadiusTopLeft": 2,
                               "cornerRadiusTopRight": 2},
                 encoding={
                     "x": {"field": "day", "type": "ordinal", "title": t("Day"),
                           "scale": {"domain": days}, "axis": {"labelAngle": -45}},
                     "y": {"field": "n", "type": "quantitative", "title": t("Events"),
                           "axis": {"tickMinStep": 1}},
                     "color": {"field": "class", "type": "nominal", "title": t("Class"),
                               "scale": class_colours(b)},
                     "tooltip": [{"field": "day", "title": t("Day")},
                                 {"field": "class", "title": t("Class")},
                                 {"field": "n", "title": t("Events")}]})


def _bars(title: str, values: list[dict], label: str, height: int,
          colour: Spec | None = None) -> Spec:
    """Horizontal bars of ``n`` per ``name`` (most first) with the count at each bar's end.
    The order is given as a list: Vega-Lite's ``-x`` did not hold once the bars had colours."""
    top = max((v["n"] for v in values), default=1)
    order = [v["name"] for v in sorted(values, key=lambda v: (-v["n"], v["name"]))]
    enc: Spec = {"y": {"field": "name", "type": "nominal", "title": None, "sort": order},
                 "x": {"field": "n", "type": "quantitative", "title": label,
                       "scale": {"domain": [0, max(1, round(top * 1.12 + 0.5))]},
                       "axis": {"tickMinStep": 1}},
                 "tooltip": [{"field": "name", "title": t("Name")},
                             {"field": "n", "title": label}]}
    bar: Spec = {"mark": {"type": "bar", "color": PALETTE[0], "cornerRadiusEnd": 2}}
    if colour is not None:
        bar["encoding"] = {"color": {"field": "class", "type": "nominal", "scale": colour,
                                     "title": t("Class")}}
    text = {"mark": {"type": "text", "align": "left", "dx": 4, "color": FG, "fontSize": 14},
            "encoding": {"text": {"field": "n", "type": "quantitative"}}}
    return _spec(title, values, height, encoding=enc, layer=[bar, text])


def top_items(b: stats.Board, height: int = 350) -> Spec:
    """Horizontal bars of the top items, coloured by class."""
    classes = {d.class_code: item_label(d.class_code, d.class_name, d.class_name_zh)
               for d in b.per_day}
    values = [{"name": item_label(i.item_code, i.item_name, i.item_name_zh), "n": i.n,
               "class": classes.get(i.class_code, i.class_code)} for i in b.top_items]
    title = t("Top {n} items (last {days} days)", n=stats.TOP_ITEMS, days=len(b.window.days))
    return _bars(title, values, t("Events"), height, class_colours(b))


def areas(b: stats.Board, level: str, height: int = 330) -> Spec:
    """Horizontal bars of events per street or per community (the busiest MAX_BARS)."""
    rows = sorted((a for a in b.areas if a.level == level), key=lambda a: (-a.n, a.code))
    values = [{"name": a.name, "n": a.n} for a in rows[:MAX_BARS]]
    title = t(AREA_TITLES[level], days=len(b.window.days))
    return _bars(title, values, t("Events"), height)


def rate_level(b: stats.Board) -> str:
    """Streets when the viewer's area spans more than one street, else communities."""
    streets = {r.code for r in [*b.coverage, *b.on_time, *b.areas] if r.level == "street"}
    return "street" if len(streets) > 1 else "community"


def _rates(title: str, values: list[dict], label: str, height: int) -> Spec:
    """Horizontal bars of a share in [0, 1] per area, the percentage at each bar's end."""
    enc: Spec = {"y": {"field": "name", "type": "nominal", "title": None, "sort": None},
                 "x": {"field": "rate", "type": "quantitative", "title": label,
                       "scale": {"domain": [0, 1.12]},
                       "axis": {"format": ".0%", "values": [0, 0.2, 0.4, 0.6, 0.8, 1]}},
                 "tooltip": [{"field": "name", "title": t("Name")},
                             {"field": "rate", "title": label, "format": ".1%"},
                             {"field": "detail", "title": t("Details")}]}
    bar = {"mark": {"type": "bar", "color": PALETTE[3], "cornerRadiusEnd": 2}}
    text = {"mark": {"type": "text", "align": "left", "dx": 4, "color": FG, "fontSize": 14},
            "encoding": {"text": {"field": "rate", "type": "quantitative", "format": ".0%"}}}
    return _spec(title, values, height, encoding=enc, layer=[bar, text])


def on_time(b: stats.Board, height: int = 330) -> Spec:
    """按期结案率 per street (or community) over the window; areas with no case closed left out."""
    level = rate_level(b)
    rows = _closed_in(b, level)[:MAX_BARS]
    values = [{"name": r.name, "rate": r.rate, "detail": t(
        "{on_time} of {closed} closed on time", on_time=r.closed_on_time, closed=r.closed)}
        for r in rows]
    return _rates(t(ON_TIME_TITLES[level]), values, t("On-time rate"), height)


def _closed_in(b: stats.Board, level: str) -> list[stats.OnTimeRate]:
    """The on-time rates of the areas of ``level`` where some case closed in the window."""
    return [r for r in b.on_time if r.level == level and r.rate is not None]


def any_closed(b: stats.Board) -> bool:
    """Whether some case closed in the window (an on-time rate to show)."""
    return bool(_closed_in(b, rate_level(b)))


def coverage(b: stats.Board, height: int = 330) -> Spec:
    """Patrol coverage per street (or community) over the coverage period."""
    level = rate_level(b)
    rows = [r for r in b.coverage if r.level == level and r.share is not None][:MAX_BARS]
    values = [{"name": r.name, "rate": r.share, "detail": t(
        "{visited} of {units} units patrolled", visited=r.visited, units=r.units)}
        for r in rows]
    return _rates(t(COVERAGE_TITLES[level]), values, t("Patrol coverage"), height)


def whole(rows: Sequence[stats.OnTimeRate | stats.PatrolCoverage]) -> float | None:
    """The whole area's rate or share (None: nothing to divide)."""
    for r in rows:
        if r.level == "whole":
            return r.rate if isinstance(r, stats.OnTimeRate) else r.share
    return None


def percent(x: float | None) -> str:
    """``0.5`` → ``50%``; None → ``—``."""
    return "—" if x is None else f"{x:.0%}"


CSS = """<style>
.stApp, [data-testid="stHeader"] {background: #07121f;}
[data-testid="stHeader"] button {color: #8fb3d9;}
[data-testid="stMainBlockContainer"] {padding: 3.6rem 2rem 0.5rem; max-width: 100%;}
[data-testid="stMain"] h1, [data-testid="stMain"] p, [data-testid="stMain"] span,
[data-testid="stMain"] li {color: #e6edf7;}
[data-testid="stMain"] h1 {font-size: 2.4rem; padding: 0; letter-spacing: 0.15em;}
[data-testid="stMain"] [data-testid="stCaptionContainer"] p {color: #8fb3d9;
    font-size: clamp(0.8rem, 0.9vw, 1.15rem); text-align: right; white-space: nowrap;}
[data-testid="stMetric"] {background: #0d2137; border: 1px solid #1f3a5a; border-radius: 8px;
    padding: 0.5rem 1.2rem;}
[data-testid="stMain"] [data-testid="stMetricLabel"] p {font-size: clamp(0.9rem, 1.05vw, 1.3rem);
    color: #8fb3d9; white-space: nowrap;}
[data-testid="stMain"] [data-testid="stMetricLabel"],
[data-testid="stMain"] [data-testid="stMetricLabel"] * {overflow: visible; text-overflow: clip;}
[data-testid="stMain"] [data-testid="stMetricValue"] p {font-size: 3.2rem; color: #4fc3f7;
    font-weight: 600;}
[data-testid="stMain"] .st-key-wg_stat_head [data-testid="stColumn"]:nth-child(3)
    [data-testid="stMetricValue"] p {color: #ef5350;}
[data-testid="stMain"] .st-key-wg_stat_head [data-testid="stColumn"]:nth-child(4)
    [data-testid="stMetricValue"] p {color: #66bb6a;}
[data-testid="stVegaLiteChart"] {background: #0d2137; border: 1px solid #1f3a5a;
    border-radius: 8px;}
[data-testid="stMain"] [data-testid="stAlertContainer"] {background: #0d2137;
    border: 1px solid #1f3a5a; border-radius: 8px;}
[data-testid="stMain"] [data-testid="stAlertContainer"] p {color: #8fb3d9; font-size: 1.1rem;}
[data-testid="stMain"] [data-testid="stElementToolbar"] {display: none;}
</style>"""


def style() -> None:
    """The dark wall-screen look (this page only: it goes with the page's elements)."""
    st.markdown(CSS, unsafe_allow_html=True)

