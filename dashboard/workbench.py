"""Loaders and actions of the dispatcher workbench page: the same gis functions as the API
(gis.workflow.queues, transitions, duplicates), so the page shows the same refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import folium
import streamlit as st

from dashboard import basemap, data, i18n, mapview, session
from dashboard.mapchrome import MetricScale
from gis import calendar, rulebook
from gis.access.auth import Principal
from gis.errors import WanggeError
from gis.intake import attachments, catalogue
from gis.media.store import open_store
from gis.oversight import dashboard as dq
from gis.settings import Settings
from gis.workflow import duplicates, escalation, queues, tasks
from gis.workflow import transitions as workflow

# message ids of the workbench catalogue (dashboard/locale/zh_CN/LC_MESSAGES/workbench.po)
LABELS = {"new": "New reports", "unassigned": "Unassigned / outside",
          "duplicates": "Possible duplicates", "overdue": "Overdue",
          "escalated": "Escalated to my level", "requests": "Requests to escalate",
          "to_dispatch": "To dispatch", "to_verify": "To verify"}
# The page's own queues, by status: the next step of the dispatcher's closed loop that no
# queue of gis.workflow.queues holds (accepted or reopened: dispatch; resolved: verify).
STATUS_QUEUES = {"to_dispatch": ("accepted", "reopened"), "to_verify": ("resolved",)}
ACTIONS = {"accept": "Accept", "reject": "Reject", "dispatch": "Dispatch / report up",
           "escalate": "Escalate to level",
           "close": "Verify and close", "reopen": "Reopen", "whistle": "Whistle",
           "confirm_duplicate": "Confirm duplicate", "dismiss_duplicate": "Not a duplicate"}
BUTTONS = ("accept", "reject", "close", "reopen", "whistle")  # one row; then dispatch, escalate
ITEMS_TTL_S = 60


def engine():
    """The engine of the configured database."""
    return data._engine(data.database_url())


@st.cache_data(ttl=ITEMS_TTL_S, show_spinner=False)
def _item_names(url: str) -> dict[str, tuple[str, str | None]]:
    """Item code → (English name, Chinese name) of the active catalogue."""
    return {i["code"]: (i["name"], i["name_zh"])
            for c in catalogue.listing(data._engine(url)) for i in c["items"]}


def item_name(code: str, fallback: str) -> str:
    """An item's name in the current language (``fallback`` when the catalogue lacks it)."""
    name, name_zh = _item_names(data.database_url()).get(code, (fallback, fallback))
    return i18n.item_label(code, name, name_zh)


def offered(who: Principal, ev: queues.EventDetail) -> list[str]:
    """The page's actions ``who`` may take on ``ev`` now: gis's rule for the caller's role
    (gis.workflow.tasks.caller_actions: the state machine, the whistle only for whom gis lets
    blow it); duplicates are decided in their own row."""
    with engine().connect() as conn:
        leads = escalation.is_grid_leader(conn, who.worker_code, ev["grid"], datetime.now(UTC))
    allowed = tasks.caller_actions(who, ev["status"], leads)
    return [a for a in ACTIONS if a in allowed]


def departments() -> list[str]:
    """The codes of the departments a dispatch may notify (the rule book's)."""
    return list(rulebook.rules().departments)


def department_label(code: str) -> str:
    """A department in the current language (the rule book names it "中文 English")."""
    zh, _, en = rulebook.rules().departments.get(code, code).partition(" ")
    return zh if i18n.lang() == "zh" or not en else en


def by_status(who: Principal, name: str, limit: int = 50) -> queues.Queue:
    """A queue of the page's own (``STATUS_QUEUES``): the events of the caller's area in the
    queue's statuses, newest first, from the map's read model through the viewer's scope."""
    filters = dq.Filters(since=data.since_for("all time"), statuses=STATUS_QUEUES[name],
                         scope=session.scope_of(who))
    rows = data._call(dq.events, engine(), filters, None, limit)
    now = datetime.now(UTC)
    out = [queues.QueueRow(id=r["id"], item=r["item_code"],
                           item_name=r["item_name_zh"] or r["item_name"], status=r["status"],
                           level=r["level"], grid=r["grid_code"], reported_at=r["reported_at"],
                           due_at=r["due_at"], overdue=bool(r["due_at"] and r["due_at"] <= now))
           for r in rows]
    return queues.Queue(name=name, count=len(out), rows=out)


def load_queues(who: Principal, limit: int = 50) -> queues.Workbench:
    """Every queue of the caller's area (gis's, then the page's own by status)."""
    wb = queues.workbench(engine(), who, limit)
    own = [by_status(who, name, limit) for name in STATUS_QUEUES]
    return queues.Workbench(level=wb["level"], queues=wb["queues"] + own)


def load_event(who: Principal, event_id: int) -> queues.EventDetail:
    """One event of the caller's area with its history."""
    return queues.event_detail(engine(), who, event_id)


def photos(event_id: int) -> list[bytes]:
    """Thumbnails (or the image itself) of the event's photos, from the media store."""
    store = open_store(Settings().media_url)
    out = []
    for a in attachments.list_for_event(engine(), event_id):
        if a.kind == "photo" or a.media_type.startswith("image/"):
            try:
                out.append(store.get(a.thumb_sha256 or a.sha256))
            except Exception:  # a missing file: the rest still show
                continue
    return out


def act(who: Principal, event_id: int, action: str, **kw: Any) -> tuple[str, str] | None:
    """Apply an action; None when done, else the refusal's (code, message) as the API answers."""
    try:
        if action in ("confirm_duplicate", "dismiss_duplicate"):
            fn = duplicates.confirm if action == "confirm_duplicate" else duplicates.dismiss
            fn(engine(), event_id, kw["original_id"], who, kw.get("note"))
        else:
            workflow.transition(engine(), event_id, action, who, note=kw.get("note"),
                                level=kw.get("level"), departments=kw.get("departments"),
                                cal=calendar.district(Settings()))
    except WanggeError as e:
        return e.code, e.message
    return None


def possible_originals(who: Principal, event_id: int) -> list[int]:
    """Originals of the event's undecided duplicate links the caller may see."""
    links = duplicates.links(engine(), "possible", event_id, who)
    return [x["original_id"] for x in links if x["event_id"] == event_id]


def event_map(ev: dict[str, Any], cameras: list[dict[str, Any]],
              grids: list[dict[str, Any]] | None = None) -> folium.Map:
    """A small map of the event, its nearby cameras and the outlines of ``grids`` (the viewer's,
    for bearings without a basemap) on the configured basemap (shifted to GCJ-02 when the
    basemap is)."""
    bm = basemap.configured()
    gcj = bool(bm and bm.datum == "gcj02")

    def at(lon: float, lat: float) -> list[float]:
        """A WGS84 point as [lat, lon] in the basemap's datum."""
        x, y = basemap.shift_coords([lon, lat]) if gcj else (lon, lat)
        return [y, x]

    m = folium.Map(location=at(ev["lon"], ev["lat"]), zoom_start=17, tiles=None,
                   min_zoom=3, max_zoom=19)
    basemap.add_to(m, bm)
    MetricScale().add_to(m)
    for g in grids or []:
        mine = g["code"] == ev["grid"]
        folium.GeoJson(basemap.shift_geometry(g["geometry"]) if gcj else g["geometry"],
                       style_function=lambda _f, w=2.5 if mine else 1.0: {
                           "color": "#1f3b73", "weight": w, "fillOpacity": 0.0},
                       tooltip=f"{g['name'] or g['code']} ({g['code']})").add_to(m)
    folium.CircleMarker(at(ev["lon"], ev["lat"]), radius=9, color="#ffffff", weight=2,
                        fill=True, fill_color="#d62728", fill_opacity=0.9,
                        tooltip=f"#{ev['id']} {item_name(ev['item'], ev['item_name'])}"
                        ).add_to(m)
    for c in cameras:
        folium.CircleMarker(at(c["lon"], c["lat"]), radius=5, color="#1f6feb", fill=True,
                            tooltip=str(c["name"] or c["code"])).add_to(m)
    mapview.stabilise_ids(m)  # the vendored Leaflet, no CDN (the desk may be offline)
    return m
