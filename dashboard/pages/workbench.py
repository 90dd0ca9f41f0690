"""Dispatcher workbench (调度工作台): queues, an event's detail and the closed-loop actions."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, i18n, session
from dashboard import workbench as wb
from gis.access import accounts
from gis.errors import WanggeError

t = i18n.domain("workbench")
who = session.require_login()
st.title(t("Dispatcher workbench"))
if who.role not in wb.queues.READERS:
    st.info(t("The workbench is for dispatchers and the district centre only"))
    st.stop()
TZ = i18n.TZ_LABEL()


REFRESH_S = 10
DONE = "wb_done"  # (event id, action, refusal or None) of the last action on the page
OPEN = "wb_open"  # the event chosen or acted on: it stays open after it leaves the queues
LEVELS = (None, "grid", "community", "street", "district")
NUMBER = "wb_number"  # the 事件编号 input
NOT_FOUND = "wb_not_found"  # the number typed that is not an event the viewer may see


def _table(rows: list[dict]) -> pd.DataFrame:
    """A queue as a table, headers and values in the current language, times in CST."""
    return pd.DataFrame([{
        t("No."): r["id"], t("Item"): wb.item_name(r["item"], r["item_name"]),
        t("Status"): i18n.status_label(r["status"]),
        t("Level"): i18n.level_label(r["level"]), t("Grid"): r["grid"] or "",
        f"{t('Reported')} ({TZ})": i18n.fmt_time(r["reported_at"]),
        f"{t('Due')} ({TZ})": i18n.fmt_time(r["due_at"]),
        t("Overdue"): t("yes") if r["overdue"] else ""} for r in rows])


def _refusal(code: str, message: str) -> str:
    """A refusal for people: its reason by code in Chinese (when known) and the API's message."""
    key = f"refusal:{code}"
    reason = t(key)
    return message if reason == key else f"{reason}（{message}）"


def _step(action: str) -> str:
    """A step of an event's history (accept, dispatch, whistle, ...) in the current language."""
    key = f"step:{action}"
    label = t(key)
    return action.replace("_", " ") if label == key else label


def _level_name(level: str | None) -> str:
    """A level to move to; None: the dispatch rules' level, or the next one up."""
    return t("By the rules / next level up") if level is None else i18n.level_label(level)


def _do(eid: int, action: str, original_id: int | None = None) -> None:
    """Button callback: apply ``action`` (before the page runs again, so the queues are
    fresh) with the note, level and departments chosen on the page; remember the outcome."""
    ss = st.session_state
    kw: dict = {"note": (ss.get("wb_note") or "").strip() or None}
    if action in ("dispatch", "escalate"):
        kw |= {"level": ss.get("wb_level"), "departments": ss.get("wb_deps") or None}
    if original_id is not None:
        kw["original_id"] = original_id
    refusal = wb.act(who, eid, action, **kw)
    ss[DONE] = (eid, action, refusal)
    if refusal is None:
        ss["wb_note"] = ""


def _outcome(eid: int) -> None:
    """The outcome of the last action on this event: done, or refused with the reason."""
    done = st.session_state.get(DONE)
    if not done or done[0] != eid:
        return
    _eid, action, refusal = done
    if refusal is None:
        st.success(t("Done: {action}", action=t(wb.ACTIONS[action])))
    else:
        st.error(t("Refused: {message}", message=_refusal(*refusal)))


def _actions(ev: dict) -> None:
    """The actions gis lets the caller take now; each calls the same gis function as the API
    and shows the same refusals."""
    eid, can = ev["id"], wb.offered(who, ev)
    originals = wb.possible_originals(who, eid)
    row = [a for a in wb.BUTTONS if a in can]
    moves = [a for a in ("dispatch", "escalate") if a in can]
    if not (row or moves or originals):
        st.caption(t("No action is open to you on this event now"))
        _outcome(eid)
        return
    st.text_input(t("Note / reason"), key="wb_note")
    for col, action in zip(st.columns(len(wb.BUTTONS)), row, strict=False):
        col.button(t(wb.ACTIONS[action]), key=f"wb_{action}", on_click=_do, args=(eid, action))
    if moves:
        a, b = st.columns(2)
        a.selectbox(t("Dispatch to level"), LEVELS, format_func=i18n.bound(_level_name),
                    key="wb_level")
        b.multiselect(t("Notify departments"), wb.departments(), key="wb_deps",
                      format_func=i18n.bound(wb.department_label),
                      placeholder=t("By the dispatch rules"))
        for col, action in zip(st.columns(len(wb.BUTTONS)), moves, strict=False):
            col.button(t(wb.ACTIONS[action]), key=f"wb_{action}", on_click=_do,
                       args=(eid, action))
    for orig in originals:
        a, b = st.columns(2)
        for col, action in ((a, "confirm_duplicate"), (b, "dismiss_duplicate")):
            col.button(f"{t(wb.ACTIONS[action])} · #{orig}", key=f"wb_{action}_{orig}",
                       on_click=_do, args=(eid, action), kwargs={"original_id": orig})
    _outcome(eid)


def _history(ev: dict) -> pd.DataFrame:
    """The event's full history, oldest first, in the current language."""
    return pd.DataFrame([{
        f"{t('Time')} ({TZ})": i18n.fmt_time(h["at"]), t("Action"): _step(h["action"]),
        t("From"): i18n.status_label(h["from_status"]) if h["from_status"] else "",
        t("To"): i18n.status_label(h["to_status"]) if h["to_status"] else "",
        t("To level"): i18n.level_label(h["level"]) if h["level"] else "",
        t("Departments notified"): "、".join(wb.department_label(d) for d in h["departments"]),
        t("By"): (h["actor"] or "").removeprefix(accounts.SESSION_PREFIX),
        t("Note"): h["note"] or ""} for h in ev["history"]])


def _detail(eid: int) -> None:
    """An event: state, responsible worker, history, photos, nearby cameras, actions."""
    ev = wb.load_event(who, eid)
    st.subheader(f"#{ev['id']} · {wb.item_name(ev['item'], ev['item_name'])}")
    st.markdown(t("Status **{status}** · level **{level}** · grid {grid} · due {due} ({tz})",
                  status=i18n.status_label(ev["status"]), level=i18n.level_label(ev["level"]),
                  grid=ev["grid"] or "—", due=i18n.fmt_time(ev["due_at"]) or "—", tz=TZ))
    if ev["description"]:
        st.caption(ev["description"])
    if ev["worker_name"]:
        phone = ev["worker_phone"]
        link = f" · [{phone}](tel:{phone})" if phone else ""
        st.markdown(t("Responsible worker: {name}", name=ev["worker_name"]) + link)
    st.table(_history(ev), hide_index=True)  # a few rows: plain text, all of it on the page
    pics = wb.photos(eid)
    if pics:
        st.image(pics, width=160)
    cams = data.cameras_near_event(data.database_url(), eid, 200.0, session.scope_of(who)) \
        if ev["lon"] is not None else []
    if ev["lon"] is not None:
        grids = data.grids(data.database_url(), session.scope_of(who))
        home = next((g["community_code"] for g in grids if g["code"] == ev["grid"]), None)
        grids = [g for g in grids if g["community_code"] == home]  # the event's community
        st_folium(wb.event_map(ev, cams, grids), key="wb_map", height=320, width=None,
                  returned_objects=[])
    if cams:
        st.caption(t("Nearby cameras: {names}", names=", ".join(
            t("{name} ({m} m)", name=c["name"] or c["code"], m=f"{c['distance_m']:.0f}")
            for c in cams[:10])))
    _actions(ev)


def _open_by_number() -> None:
    """Input callback: open the event whose number was typed, when the viewer may see it
    (the queues' own gis.workflow.queues.event_detail); else 无此事件, as if it did not exist."""
    raw = (st.session_state.get(NUMBER) or "").strip().lstrip("#")
    if not raw:
        return
    try:
        eid = int(raw)
        wb.load_event(who, eid)
    except (ValueError, WanggeError):
        st.session_state[NOT_FOUND] = raw
        return
    st.session_state.pop(NOT_FOUND, None)
    st.session_state[OPEN] = eid
    st.session_state.pop(f"wb_event_{i18n.lang()}", None)  # the picker made anew, on it


def _option(ev: dict) -> str:
    """An event in the event picker: number, item and report time. Not its status: the
    picker keeps its choice by this text, which must not change when the event moves on."""
    return (f"#{ev['id']} · {wb.item_name(ev['item'], ev['item_name'])} · "
            f"{i18n.fmt_time(ev['reported_at'])}")


@st.fragment(run_every=REFRESH_S)
def _workbench() -> None:
    """Queues and the selected event, refreshed every few seconds (actions done elsewhere
    show here)."""
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
            ids.setdefault(r["id"], _option(r))
    st.text_input(t("Event number"), key=NUMBER, on_change=_open_by_number,
                  placeholder=t("type a number and press Enter"))
    if st.session_state.get(NOT_FOUND):
        st.warning(t("No such event: {n}", n=st.session_state[NOT_FOUND]))
    chosen = st.session_state.get(OPEN)
    if isinstance(chosen, int) and chosen not in ids:  # it left its queues: keep it open
        try:
            ids[chosen] = _option(wb.load_event(who, chosen))
        except WanggeError:  # not (or no longer) in the caller's area
            st.session_state.pop(OPEN, None)
    if not ids:
        return
    keys = list(ids)
    # one picker per language: a picker keeps its choice by the option's text
    eid = st.selectbox(t("Event"), keys, index=keys.index(chosen) if chosen in ids else 0,
                       format_func=ids.get, key=f"wb_event_{i18n.lang()}")
    st.session_state[OPEN] = eid
    if eid is not None:
        _detail(eid)


_workbench()
