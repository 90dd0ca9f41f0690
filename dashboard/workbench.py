"""Loaders and actions of the dispatcher workbench page: the same gis functions as the API
(gis.workflow.queues, transitions, duplicates), so the page shows the same refusals."""

from __future__ import annotations

from typing import Any

import folium

from dashboard import basemap, data
from gis.access.auth import Principal
from gis.errors import WanggeError
from gis.intake import attachments
from gis.media.store import open_store
from gis.settings import Settings
from gis.workflow import duplicates, queues
from gis.workflow import transitions as workflow

# message ids of the workbench catalogue (dashboard/locale/zh_CN/LC_MESSAGES/workbench.po)
LABELS = {"new": "New reports", "unassigned": "Unassigned / outside",
          "duplicates": "Possible duplicates", "overdue": "Overdue",
          "escalated": "Escalated to my level", "requests": "Requests to escalate"}
ACTIONS = {"accept": "Accept", "reject": "Reject", "dispatch": "Dispatch / report up",
           "escalate": "Escalate to level",
           "close": "Verify and close", "reopen": "Reopen", "whistle": "Whistle",
           "confirm_duplicate": "Confirm duplicate", "dismiss_duplicate": "Not a duplicate"}


def engine():
    """The engine of the configured database."""
    return data._engine(data.database_url())


def load_queues(who: Principal, limit: int = 50) -> queues.Workbench:
    """Every queue of the caller's area."""
    return queues.workbench(engine(), who, limit)


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
                                level=kw.get("level"), departments=kw.get("departments"))
    except WanggeError as e:
        return e.code, e.message
    return None


def possible_originals(who: Principal, event_id: int) -> list[int]:
    """Originals of the event's undecided duplicate links the caller may see."""
    links = duplicates.links(engine(), "possible", event_id, who)
    return [x["original_id"] for x in links if x["event_id"] == event_id]


def event_map(ev: dict[str, Any], cameras: list[dict[str, Any]]) -> folium.Map:
    """A small map of the event and its nearby cameras on the configured basemap (shifted to
    GCJ-02 when the basemap is)."""
    bm = basemap.configured()

    def at(lon: float, lat: float) -> list[float]:
        """A WGS84 point as [lat, lon] in the basemap's datum."""
        x, y = basemap.shift_coords([lon, lat]) if bm and bm.datum == "gcj02" else (lon, lat)
        return [y, x]

    m = folium.Map(location=at(ev["lon"], ev["lat"]), zoom_start=17, tiles=None,
                   control_scale=True, min_zoom=3, max_zoom=19)
    basemap.add_to(m, bm)
    folium.Marker(at(ev["lon"], ev["lat"]), tooltip=f"#{ev['id']} {ev['item_name']}",
                  icon=folium.Icon(color="red")).add_to(m)
    for c in cameras:
        folium.CircleMarker(at(c["lon"], c["lat"]), radius=5, color="#1f6feb", fill=True,
                            tooltip=str(c["name"] or c["code"])).add_to(m)
    return m
