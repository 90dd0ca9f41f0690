"""Live map: grids, units, server-binned event heat, events, cameras, coverage, tracks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

import folium
import pandas as pd
import streamlit as st
from streamlit import runtime
from streamlit_folium import st_folium

from dashboard import basemap, data, mapview, session, ui
from dashboard.i18n import (
    TZ_LABEL,
    bound,
    fmt_time,
    item_label,
    lang,
    level_label,
    status_label,
    t,
)
from gis.oversight.dashboard import (
    CAMERA_DETAIL_ZOOM,
    EVENT_POINT_LIMIT,
    UNIT_MIN_ZOOM,
    today_start,
    zoom_for_bbox,
)

LAYERS = ["Grids", "Units", "Event heat", "Events", "Cameras", "Patrol coverage",
          "Today's tracks"]
MAP_KEY = "live_map"
LAST = "_live_last"  # the last data loaded, kept on screen (greyed) while the database is down
VIEW_KEY = "live_view"  # the container of metrics, map and tables (class st-key-live_view)
STALE_CSS = ("<style>.st-key-live_view{filter:grayscale(1);opacity:.55;transition:opacity .3s}"
             "</style>")
# The layer chips in the sidebar: the box grows to hold them all (Streamlit caps its height
# and cuts the last row off) and a chip shows its whole name.
CHIPS_CSS = ("<style>.st-key-live_layers [role=group],"
             ".st-key-live_layers [data-testid=stMultiSelectTagsContainer]"
             "{max-height:none;height:auto;overflow:visible}"
             ".st-key-live_layers [data-tag],.st-key-live_layers [data-tag] > span"
             "{max-width:none;overflow:visible;text-overflow:clip}</style>")
# The map frame (…/component/streamlit_folium.st_folium/index.html) reaches Streamlit's media
# store (…/media/) two levels up, whatever the app's base path.
MEDIA_FROM_FRAME = "../.."
RETURNED = ["center", "zoom", "bounds", "last_object_clicked", "last_object_clicked_count",
            "last_object_clicked_tooltip"]


def initial_view(ext: dict[str, Any]) -> dict[str, Any]:
    """The district extent: centre, zoom that fits it, and its bounding box."""
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    return {"center": ((bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2),
            "zoom": zoom_for_bbox(bbox, 900, 560), "bbox": bbox, "fit": bbox}


def map_key() -> str:
    """The map widget's key; "Fit to district" starts a new map (a new key)."""
    return f"{MAP_KEY}_{st.session_state.get('map_epoch', 0)}"


def follow_map(view: dict[str, Any]) -> dict[str, Any]:
    """Take centre / zoom / bounds the user left the map at (st_folium's last value)."""
    ret = st.session_state.get(map_key())
    if not isinstance(ret, dict) or not ret.get("zoom") or not ret.get("center"):
        return view
    b = ret.get("bounds") or {}
    sw, ne = b.get("_southWest") or {}, b.get("_northEast") or {}
    if None in (sw.get("lng"), sw.get("lat"), ne.get("lng"), ne.get("lat")):
        return view
    return {"center": (round(ret["center"]["lat"], 6), round(ret["center"]["lng"], 6)),
            "zoom": int(ret["zoom"]),
            "bbox": basemap.to_data_bbox((sw["lng"], sw["lat"], ne["lng"], ne["lat"])),
            "fit": None}


def new_click() -> dict[str, Any] | None:
    """The map object clicked since the last run (lat, lng, tooltip), once per click."""
    ret = st.session_state.get(map_key())
    if not isinstance(ret, dict) or not ret.get("last_object_clicked"):
        return None
    stamp = (ret.get("last_object_clicked_count"), str(ret["last_object_clicked"]))
    if stamp == st.session_state.get("_last_click"):
        return None
    st.session_state["_last_click"] = stamp
    return {**ret["last_object_clicked"], "tooltip": ret.get("last_object_clicked_tooltip")}


def clicked_event(click: dict[str, Any] | None, points: list[dict], zoom: int) -> int | None:
    """The event a map click selects: the drawn event nearest the clicked point, within a
    few pixels (a click on a camera, a cluster or a grid selects nothing)."""
    if not click or click.get("lat") is None or click.get("lng") is None:
        return None
    lon, lat = basemap.to_data(click["lng"], click["lat"])  # GCJ-02 map → stored WGS84
    hit = mapview.nearest_event(points, lat, lon, zoom)
    return None if hit is None else int(hit["id"])


def served(content: bytes, mimetype: str, slot: str) -> str | None:
    """A URL the map frame fetches ``content`` from: Streamlit's media store (named by a hash
    of the content, kept while the session's runs add it, cached by the browser), so what
    does not change is not sent again with every refresh; none outside a Streamlit server."""
    if not runtime.exists():
        return None
    url = runtime.get_instance().media_file_mgr.add(content, mimetype, f"wangge.{slot}")
    return MEDIA_FROM_FRAME + url if url.startswith("/") else url


@st.cache_data(ttl=data.STATIC_TTL_S, show_spinner=False)
def _grid_shapes(url: str, scope: data.Scope, language: str,
                 datum: str | None) -> mapview.GridShapes:
    """The grids in ``scope`` made compact for the map, in the basemap's datum (``language``:
    the tooltips' words; part of the cache key)."""
    grids = data.grids(url, scope)
    if datum == "gcj02":
        grids = [g | {"geometry": basemap.shift_geometry(g["geometry"])} for g in grids]
    return mapview.grid_shapes(grids)


def grid_shapes(url: str, scope: data.Scope) -> mapview.GridShapes:
    """The caller's grids for the map: computed once a minute, served as a cached resource."""
    bm = basemap.configured()
    shapes = _grid_shapes(url, scope, lang(), bm.datum if bm else None)
    link = served(shapes.payload.encode(), "application/json", "live_map.grids")
    return dataclasses.replace(shapes, url=link) if link else shapes


@cache
def _vendored(file: str) -> bytes:
    """A vendored file's bytes (read once)."""
    return (mapview.VENDOR / file).read_bytes()


def leaflet_assets() -> dict[str, str]:
    """The vendored Leaflet files as cached resources (else inline, as on the other maps)."""
    out = {}
    for key, file in mapview.LOCAL_ASSETS.items():
        # application/javascript: the media store names it .js (text/javascript: .es)
        mime = "text/css" if file.endswith(".css") else "application/javascript"
        link = served(_vendored(file), mime, f"leaflet.{key}")
        if link:
            out[key] = link
    return out


@dataclass
class LiveData:
    """What one refresh of the live page shows, loaded in one go."""

    summary: dict[str, Any]
    bins: dict[str, Any]
    points: list[dict]
    cameras: dict[str, Any] | None
    coverage: dict[str, dict]
    tracks: list[dict]
    grids: mapview.GridShapes
    units: list[dict]
    latest: list[dict]
    overdue: list[dict]
    buildings: list[dict]
    sel_id: int | None
    selected: dict | None
    near: list[dict]

    @property
    def in_view(self) -> int:
        """Events matching the filters inside the map's view."""
        return self.bins["total"]


def load_live(url: str, ext: dict[str, Any], view: dict[str, Any], choice: ui.Choice,
              layers: list[str], radii: tuple[float, float]) -> LiveData:
    """Every query of one refresh (``radii``: patrol pass and camera search, in metres);
    a map click selects the event under it."""
    bbox, zoom, f = view["bbox"], view["zoom"], choice.filters
    radius_m, camera_radius_m = radii
    click = new_click()
    data.fold_tally(url, f)
    summary = data.event_summary(url, f)
    bins = data.event_bins(url, f, bbox, zoom)
    points = (data.events(url, f, bbox) if "Events" in layers
              and bins["total"] <= EVENT_POINT_LIMIT else [])
    cameras = data.camera_layer(url, bbox, zoom, f.scope) if "Cameras" in layers else None
    lat = (ext["minlat"] + ext["maxlat"]) / 2
    coverage = data.patrol_coverage(url, f.since, radius_m, lat, f.scope)
    tracks = data.tracks(url, today_start(), f.scope) if "Today's tracks" in layers else []
    grids = grid_shapes(url, f.scope)
    units = (data.units(url, tuple(round(v, 3) for v in bbox), zoom, f.scope)
             if "Units" in layers and zoom >= UNIT_MIN_ZOOM else [])
    latest = data.events(url, f, None, 200)
    overdue = data.overdue(url, f)
    buildings = basemap.fallback_buildings(bbox, zoom)
    picked = clicked_event(click, points, zoom)
    if picked is not None:
        st.session_state["selected_event"] = picked
    sel_id = st.session_state.get("selected_event")
    selected = next((e for e in points + latest if e["id"] == sel_id), None)
    near = (data.cameras_near_event(url, sel_id, camera_radius_m, f.scope) if selected
            else [])
    return LiveData(summary, bins, points, cameras, coverage, tracks, grids, units, latest,
                    overdue, buildings, sel_id, selected, near)


def show_metrics(d: LiveData, choice: ui.Choice, radius_m: float) -> None:
    """The row of headline numbers."""
    units_total = sum(c["units"] for c in d.coverage.values())
    covered = sum(c["covered"] for c in d.coverage.values())
    summary, cameras = d.summary, d.cameras
    cols = st.columns(6)
    cols[0].metric(t("Events"), f"{summary['total']:,}",
                   help=f"{t(choice.window)}, {choice.area_label}")
    cols[1].metric(t("Open"), f"{summary['open']:,}")
    cols[2].metric(t("Overdue"), f"{summary['overdue']:,}")
    cols[3].metric(t("In view"), f"{d.in_view:,}",
                   help=t("individual events drawn when ≤ {n} are in view", n=EVENT_POINT_LIMIT))
    cols[4].metric(t("Cameras in view"), f"{cameras['total']:,}" if cameras else "–",
                   help=t("{n} offline", n=cameras["offline"]) if cameras else t("layer off"))
    cols[5].metric(t("Patrol coverage"), f"{covered / units_total:.0%}" if units_total else "–",
                   help=t("units passed within {r} m, {window}", r=f"{radius_m:.0f}",
                          window=t(choice.window)))


def map_parts(d: LiveData, ext: dict[str, Any], view: dict[str, Any], layers: list[str],
              radius_m: float, assets: dict[str, str] | None = None
              ) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """The fixed base map (the district's extent, no layers) and this run's layers."""
    home = initial_view(ext)
    groups: list = []
    mapview.build_map(mapview.MapView(
        view["center"], view["zoom"], grid_shapes=d.grids, show_grids="Grids" in layers,
        units=d.units, bins=d.bins if "Event heat" in layers else None, events=d.points,
        cameras=d.cameras, near=d.near, selected=d.selected,
        coverage=d.coverage if "Patrol coverage" in layers else None,
        coverage_radius_m=radius_m, tracks=d.tracks,
        buildings=d.buildings), dynamic=groups, assets=assets)
    base = mapview.build_map(mapview.MapView(home["center"], home["zoom"], fit=home["fit"],
                                             fill_window=True), dynamic=[], assets=assets)
    return base, groups


def show_map(d: LiveData, ext: dict[str, Any], view: dict[str, Any], layers: list[str],
             radius_m: float) -> None:
    """The map: a fixed base map and the chosen layers swapped in place."""
    # The base map is an empty, fixed Leaflet map (so streamlit-folium never re-creates it);
    # every layer, the grid boundaries included, is a feature group swapped in place on each
    # run, so each sidebar layer choice takes effect and the map stays where the user left it.
    # The centre / zoom passed back are those of the last full-page run (``goto``), not of
    # every refresh: echoing each refresh's view would snap a map that is still moving back.
    # What does not change between refreshes (Leaflet, the grid shapes) is fetched by the map
    # frame once, from the media store (``served``): a refresh sends the live layers only.
    goto = st.session_state.get("goto") or {}
    base, groups = map_parts(d, ext, view, layers, radius_m, leaflet_assets())
    st.session_state["_map_layers"] = [fg.layer_name for fg in groups]  # what is drawn
    # 520 px until the map's own script fits it to the window (FillWindow): as tall as the
    # browser leaves below the map's top, so its bottom is on screen at 1366×768 too.
    st_folium(base, key=map_key(), height=520, width=None,  # None: the container width
              center=goto.get("center"), zoom=goto.get("zoom"), feature_group_to_add=groups,
              layer_control=folium.LayerControl(collapsed=False), returned_objects=RETURNED)


def show_notes(d: LiveData, layers: list[str], zoom: int) -> None:
    """Hints under the map: empty district, zoom for units, events or cameras."""
    notes = []
    total = d.summary["total"]
    if total == 0:
        st.info(t("No events in this window yet: they come from the field app (/m/), the "
                  "residents' page (/r/) or `/api/v1/events`."))
    if "Units" in layers and zoom < UNIT_MIN_ZOOM:
        notes.append(t("zoom in to level {z} to see the minimal units", z=UNIT_MIN_ZOOM))
    if total and d.in_view > EVENT_POINT_LIMIT and "Events" in layers:
        notes.append(t("{n} events in view: showing heat bins; zoom in to see individual "
                       "events (≤ {limit})", n=f"{d.in_view:,}", limit=EVENT_POINT_LIMIT))
    if d.cameras and d.cameras["mode"] == "clusters":
        notes.append(t("cameras clustered: zoom in to level {z} (or click a cluster) to see "
                       "each camera", z=CAMERA_DETAIL_ZOOM))
    if notes:
        st.caption(" · ".join(notes))


def show_latest(latest: list[dict]) -> None:
    """The latest events table."""
    st.subheader(t("Latest events"))
    if latest:
        df = pd.DataFrame([{
            t("No."): e["id"], f"{t('Reported')} ({TZ_LABEL()})": fmt_time(e["reported_at"]),
            t("Item"): item_label(e.get("item_code", ""), e["item_name"], e.get("item_name_zh")),
            t("Status"): status_label(e["status"]), t("Overdue"): e["overdue"],
            t("Grid"): e["grid_code"], t("Description"): e["description"],
        } for e in latest[:50]])
        st.dataframe(df, hide_index=True, height=260, width="stretch")
    else:
        st.caption(t("no events match the filters"))


def show_overdue(rows: list[dict]) -> None:
    """The overdue table: open events past their time limit, most late first."""
    st.subheader(t("Overdue events ({n})", n=len(rows)))
    if not rows:
        st.caption(t("no open event is past its time limit"))
        return
    st.caption(t("open events past their time limit, whatever the time window; most late "
                 "first"))
    df = pd.DataFrame([{
        t("No."): e["id"],
        t("Item"): item_label(e.get("item_code", ""), e["item_name"], e.get("item_name_zh")),
        t("Grid"): e["grid_code"] or "",
        f"{t('Due')} ({TZ_LABEL()})": fmt_time(e["due_at"]),
        t("Hours late"): round(e["hours_late"], 1), t("Level"): level_label(e["level"]),
        t("Assignee"): e["worker_name"] or t("not assigned"),
        t("Status"): status_label(e["status"]),
    } for e in rows])
    st.dataframe(df, hide_index=True, height=min(38 + 35 * len(rows), 260), width="stretch",
                 key="overdue_events")


def show_near(d: LiveData, camera_radius_m: float) -> None:
    """The event picker and the cameras near the picked event."""
    st.subheader(t("Cameras near an event"))
    ids = [e["id"] for e in d.latest[:200]]
    if d.sel_id and d.sel_id not in ids:
        ids.insert(0, d.sel_id)
    pick = st.selectbox(t("Event"), [None] + ids, key="selected_event",
                        format_func=bound(lambda i: t("click an event on the map or pick one")
                                          if i is None else f"#{i}"))
    selected, near = d.selected, d.near
    if pick and selected:
        item = item_label(selected.get("item_code", ""), selected["item_name"],
                          selected.get("item_name_zh"))
        st.caption(f"#{selected['id']} {item} · "
                   f"{status_label(selected['status'])} · {t('Grid')} "
                   f"{selected.get('grid_code') or '-'} · " + t(
                       "{n} cameras within {r} m", n=len(near), r=f"{camera_radius_m:.0f}"))
        if near:
            st.dataframe(pd.DataFrame([{
                t("Camera"): c["code"], t("Camera name"): c.get("name") or "",
                t("Type"): mapview.camera_kind_label(c.get("kind")),
                t("Status"): mapview.camera_status_label(c["status"]),
                t("Direction (°)"): c.get("direction_deg"), t("Distance (m)"): c["distance_m"],
            } for c in near]), hide_index=True, width="stretch", key="near_cameras")
        else:
            st.caption(t("no camera within {r} m", r=f"{camera_radius_m:.0f}"))


def live(url: str, ext: dict[str, Any], choice: ui.Choice, layers: list[str],
         radius_m: float, camera_radius_m: float) -> None:
    """Metrics, map and lists; rerun every few seconds by the fragment."""
    view = st.session_state.setdefault("view", initial_view(ext))
    view = st.session_state["view"] = follow_map(view)
    banner = st.empty()  # always there, so the map below keeps its place (and its iframe)
    d = load_or_last(url, ext, view, choice, layers, (radius_m, camera_radius_m), banner)
    if d is None:
        return
    with st.container(key=VIEW_KEY):
        show_metrics(d, choice, radius_m)
        show_map(d, ext, view, layers, radius_m)
        show_notes(d, layers, view["zoom"])
        show_overdue(d.overdue)
        left, right = st.columns([3, 2])
        with left:
            show_latest(d.latest)
        with right:
            show_near(d, camera_radius_m)


def load_or_last(url: str, ext: dict[str, Any], view: dict[str, Any], choice: ui.Choice,
                 layers: list[str], radii: tuple[float, float], banner: Any) -> LiveData | None:
    """This refresh's data; while the database is down, the outage banner in ``banner`` and
    the last data loaded (shown greyed), none before anything was loaded."""
    try:
        d = load_live(url, ext, view, choice, layers, radii)
    except data.DatabaseUnavailable as e:
        last = st.session_state.get(LAST)
        with banner.container():
            st.error(t("Database unreachable: {reason}. Retrying every {s} s…",
                       reason=ui.reason(e), s=ui.REFRESH_S))
            if last is not None:
                st.caption(t("showing the last view loaded before the outage (greyed)"))
                st.markdown(STALE_CSS, unsafe_allow_html=True)
        return last
    st.session_state[LAST] = d
    return d


def main() -> None:
    """Render the live map page."""
    who = session.require_login()
    st.title(t("Live map"))
    url = data.database_url()
    scope = session.scope_of(who)
    loaded = ui.district(url, scope)
    if loaded is None:
        return
    ext, options = loaded
    choice = ui.sidebar_filters(options, key="live", scope=scope)
    sb = st.sidebar
    sb.markdown(CHIPS_CSS, unsafe_allow_html=True)
    layers = sb.multiselect(t("Layers"), LAYERS, default=LAYERS, key="live_layers",
                            placeholder=t("no layer"),
                            format_func=bound(t))
    radius_m = sb.slider(t("Patrol passes a unit within (m)"), 10, 300, 50, 10,
                         key="live_radius")
    camera_radius_m = sb.slider(t("Cameras near an event within (m)"), 50, 1000, 300, 50,
                                key="live_cam_radius")
    auto = sb.toggle(t("Auto refresh every {s} s", s=ui.REFRESH_S), value=True,
                     key="live_auto")
    if sb.button(t("Fit to district") if scope is None else t("Fit to my area"), key="live_fit"):
        st.session_state.pop(map_key(), None)
        st.session_state["map_epoch"] = st.session_state.get("map_epoch", 0) + 1
        st.session_state["view"] = initial_view(ext)
    # A full-page run (first load, sidebar change, coming back from the other page) restores
    # the last position the map reported, e.g. after the map was re-created; none: fit.
    view = follow_map(st.session_state.get("view") or initial_view(ext))
    st.session_state["goto"] = (None if view.get("fit") else
                                {"center": view["center"], "zoom": view["zoom"]})

    @st.fragment(run_every=ui.REFRESH_S if auto else None)
    def _live() -> None:
        """The refreshed part of the page."""
        live(url, ext, choice, layers, radius_m, camera_radius_m)

    _live()


if __name__ == "__main__":  # Streamlit runs the page as __main__; tests import live()
    main()
