"""Alerts on an open page: a banner and a short beep for each new alert of the caller's area.

``watch(who)`` polls the alerts the database triggers write (gis.workflow.alerts) every few
seconds in a Streamlit fragment; only alerts newer than the page's opening are shown, at or
above the caller's level and inside their area (the API's scope rule). The beep is a WAV made
here with the ``wave`` module and handed to the browser as data (no CDN).
"""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache
from typing import Any

import streamlit as st

from dashboard import data, i18n
from dashboard.workbench import item_name
from gis.access.auth import Principal
from gis.workflow import alerts

t = i18n.domain("alerts")
AFTER = "wg_alerts_after"
SHOWN = "wg_alerts_shown"
EVERY_S = 5.0
KEEP = 5  # banners kept on the page
BEEP = "wg_alert_beep"  # the hidden container of the beep
KIND = {"high_level_event": "New high-level event", "escalated": "Escalated",
        "whistle": "Whistle (report upward)"}


@lru_cache(maxsize=1)
def beep(freq: float = 880.0, seconds: float = 0.35, rate: int = 16_000) -> bytes:
    """A short sine beep as a 16-bit mono WAV file, faded in and out."""
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        fade = min(1.0, i / (0.02 * rate), (n - i) / (0.05 * rate))
        frames += struct.pack("<h", int(0.5 * fade * 32767 * math.sin(2 * math.pi * freq * i
                                                                      / rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def label(a: dict[str, Any]) -> str:
    """One alert for people, in the current language (the item as the catalogue names it)."""
    p = a.get("payload") or {}
    item = item_name(p.get("item_code") or "", p.get("item_name") or "")
    area = a.get("area_code") or t("whole district")
    return t("{kind}: {item} (event #{id}), handled at {level} level, area {area}, {at} {tz}",
             kind=t(KIND.get(a["kind"], a["kind"])), item=item, id=a["event_id"],
             level=i18n.level_label(a["level"]), area=area,
             at=i18n.fmt_time(a["created_at"]), tz=i18n.TZ_LABEL())


def _poll(who: Principal) -> None:
    """Fetch new alerts, toast and remember them, show the kept banners, beep if any."""
    engine = data._engine(data.database_url())
    try:
        new = alerts.recent(engine, who, st.session_state[AFTER])
    except Exception:  # noqa: BLE001 - the page's own outage banner tells the story
        new = []
    if new:
        st.session_state[AFTER] = new[-1]["id"]
        kept = [dict(a) for a in new]
        st.session_state[SHOWN] = (kept[::-1] + st.session_state[SHOWN])[:KEEP]
        for a in kept:
            st.toast(label(a), icon=":material/notifications_active:")
    for a in st.session_state[SHOWN]:  # worded on every run: the language may have changed
        show = st.error if a["level"] == "district" or a["kind"] != "high_level_event" \
            else st.warning
        show(label(a), icon=":material/campaign:")
    if new:  # the beep plays out of sight: no player bar on the page
        with st.container(key=BEEP):
            st.html(f"<style>.st-key-{BEEP}{{display:none}}</style>")
            st.audio(beep(), format="audio/wav", autoplay=True)


@st.fragment(run_every=EVERY_S)
def _fragment(who: Principal) -> None:
    """The polling part of the page, re-run on its own every few seconds."""
    _poll(who)


def watch(who: Principal) -> None:
    """Show a banner and beep for each new alert of ``who``'s area and level on this page."""
    if AFTER not in st.session_state:
        try:
            st.session_state[AFTER] = alerts.last_id(data._engine(data.database_url()))
        except Exception:  # noqa: BLE001 - database down: start from nothing, retry later
            return
        st.session_state[SHOWN] = []
        st.caption(t("Alerts sound here; a browser may need one click on the page first."))
    _fragment(who)
