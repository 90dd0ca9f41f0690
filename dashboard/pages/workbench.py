"""Dispatcher workbench (调度工作台): queues, an event's detail and the closed-loop actions."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, i18n, session
from dashboard import workbench as wb

t = i18n.domain("workbench")
# TODO(d3): alerts.watch(who) is called by app.py once dashboard/alerts.py exists.
who = session.require_login()
st.title(t("Dispatcher workbench"))
if who.role not in wb.queues.READERS:
    st.info(t("The workbench is for dispatchers and the district centre only"))
    st.stop()
TZ = i18n.TZ_LABEL()


def _table(rows: list[dict]) -> pd.DataFrame:
    """A queue as a table, headers and values in the current language, times in CST."""
    return pd.DataFrame([{
        t("No."): r["id"], t("Item"): r["item_name"], t("Status"): i18n.status_label(r["status"]),
        t("Level"): i18n.level_label(r["level"]), t("Grid"): r["grid"] or "",
        f"{t('Reported')} ({TZ})": i18n.fmt_time(r["reported_at"]),
        f"{t('Due')} ({TZ})": i18n.fmt_time(r["due_at"]),
        t("Overdue"): t("yes") if r["overdue"] else ""} for r in rows])


def _refusal(code: str, message: str) -> str:
    """A refusal for people: its reason by code in Chinese (when known) and the API's message."""
    key = f"refusal:{code}"
    reason = t(key)
    return message if reason == key else f"{reason}（{message}）"


def _actions(ev: dict) -> None:
    """The action buttons; each calls the same gis function as the API and shows refusals."""
    eid = ev["id"]
    note = st.text_input(t("Note / reason"), key="wb_note")
    done: tuple[str, tuple[str, str] | None] | None = None
    cols = st.columns(5)
    for col, action in zip(cols, ("accept", "reject", "close", "reopen", "whistle"), strict=True):
        if col.button(t(wb.ACTIONS[action]), key=f"wb_{action}"):
            done = (action, wb.act(who, eid, action, note=note or None))
    lvl = st.selectbox(t("Dispatch to level"), ["grid", "community", "street", "district"],
                       format_func=i18n.level_label, key="wb_level")
    deps = st.text_input(t("Notify departments (comma-separated)"), key="wb_deps")
    depts = [d.strip() for d in deps.split(",") if d.strip()] or None
    a, b = st.columns(2)
    for col, action in ((a, "dispatch"), (b, "escalate")):
        if col.button(t(wb.ACTIONS[action]), key=f"wb_{action}"):
            done = (action, wb.act(who, eid, action, note=note or None, level=lvl,
                                   departments=depts))
    for orig in wb.possible_originals(who, eid):
        a, b = st.columns(2)
        for col, action in ((a, "confirm_duplicate"), (b, "dismiss_duplicate")):
            if col.button(f"{t(wb.ACTIONS[action])} · #{orig}", key=f"wb_{action}_{orig}"):
                done = (action, wb.act(who, eid, action, original_id=orig))
    if done is not None:
        if done[1] is None:
            st.success(t("Done: {action}", action=t(wb.ACTIONS[done[0]])))
        else:
            st.error(t("Refused: {message}", message=_refusal(*done[1])))


def _detail(eid: int) -> None:
    """An event: state, responsible worker, history, photos, nearby cameras, actions."""
    ev = wb.load_event(who, eid)
    st.subheader(f"#{ev['id']} · {ev['item_name']}")
    st.markdown(t("Status **{status}** · level **{level}** · grid {grid} · due {due} ({tz})",
                  status=i18n.status_label(ev["status"]), level=i18n.level_label(ev["level"]),
                  grid=ev["grid"] or "—", due=i18n.fmt_time(ev["due_at"]) or "—", tz=TZ))
    if ev["description"]:
        st.caption(ev["description"])
    if ev["worker_name"]:
        phone = ev["worker_phone"]
        link = f" · [{phone}](tel:{phone})" if phone else ""
        st.markdown(t("Responsible worker: {name}", name=ev["worker_name"]) + link)
    st.dataframe(pd.DataFrame([{
        f"{t('Time')} ({TZ})": i18n.fmt_time(h["at"]), t("Action"): h["action"],
        t("From"): h["from_status"], t("To"): h["to_status"], t("By"): h["actor"],
        t("Note"): h["note"]} for h in ev["history"]]), hide_index=True)
    pics = wb.photos(eid)
    if pics:
        st.image(pics, width=160)
    cams = data.cameras_near_event(data.database_url(), eid, 200.0) if ev["lon"] else []
    if ev["lon"] is not None:
        st_folium(wb.event_map(ev, cams), key="wb_map", height=320, width=None,
                  returned_objects=[])
    if cams:
        st.caption(t("Nearby cameras: {names}", names=", ".join(
            f"{c['name'] or c['code']} ({c['distance_m']:.0f} m)" for c in cams[:10])))
    _actions(ev)


@st.fragment(run_every=10)
def _workbench() -> None:
    """Queues and the selected event, refreshed every 10 s."""
    qs = wb.load_queues(who)["queues"]
    tabs = st.tabs([f"{t(wb.LABELS[q['name']])} ({q['count']})" for q in qs])
    ids: dict[int, str] = {}
    for tab, q in zip(tabs, qs, strict=True):
        with tab:
            if q["rows"]:
                st.dataframe(_table(q["rows"]), hide_index=True)
            else:
                st.info(t("Nothing in this queue"))
        for r in q["rows"]:
            ids.setdefault(r["id"], f"#{r['id']} · {r['item_name']} · "
                                    f"{i18n.status_label(r['status'])}")
    prev = st.session_state.get("wb_event")
    if isinstance(prev, int) and prev not in ids:  # acted on: it left its queue, keep it open
        ids[prev] = f"#{prev}"
    if not ids:
        return
    eid = st.selectbox(t("Event"), list(ids), format_func=ids.get, key="wb_event")
    if eid is not None:
        _detail(eid)


_workbench()
