"""Dispatcher workbench (调度工作台): queues, an event's detail and the closed-loop actions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, session
from dashboard import workbench as wb
from gis.clock import CST

# TODO(d2): strings through dashboard.i18n.domain("workbench") once d1's i18n exists;
# TODO(d3): alerts.watch(who) is called by app.py once dashboard/alerts.py exists.
who = session.require_login()
st.title("调度工作台 (dispatcher workbench)")
if who.role not in wb.queues.READERS:
    st.info("工作台仅供调度员和指挥中心使用 (dispatchers and the district centre only)")
    st.stop()


def _t(v) -> str:
    """A time in China Standard Time for people."""
    return v.astimezone(CST).strftime("%Y-%m-%d %H:%M") if v is not None else ""


def _table(rows: list[dict]) -> pd.DataFrame:
    """A queue as a table with Chinese headers, times in CST."""
    return pd.DataFrame([{"编号": r["id"], "事项": r["item_name"], "状态": r["status"],
                          "层级": r["level"], "网格": r["grid"] or "",
                          "上报时间(北京时间)": _t(r["reported_at"]),
                          "期限(北京时间)": _t(r["due_at"]), "超期": "是" if r["overdue"] else ""}
                         for r in rows])


def _actions(ev: dict) -> None:
    """The action buttons; each calls the same gis function as the API and shows refusals."""
    eid = ev["id"]
    note = st.text_input("说明/理由 (note, reason)", key="wb_note")
    c = st.columns(5)
    done: tuple[str, str | None] | None = None
    for col, action in zip(c, ("accept", "reject", "close", "reopen", "whistle"), strict=True):
        if col.button(wb.ACTIONS[action], key=f"wb_{action}"):
            done = (action, wb.act(who, eid, action, note=note or None))
    lvl = st.selectbox("派遣至层级 (level)", ["grid", "community", "street", "district"],
                       key="wb_level")
    deps = st.text_input("通报部门 (departments, 逗号分隔)", key="wb_deps")
    if st.button(wb.ACTIONS["dispatch"], key="wb_dispatch"):
        depts = [d.strip() for d in deps.split(",") if d.strip()] or None
        done = ("dispatch", wb.act(who, eid, "dispatch", note=note or None, level=lvl,
                                   departments=depts))
    for orig in wb.possible_originals(who, eid):
        a, b = st.columns(2)
        if a.button(f"确认与 {orig} 重复", key=f"wb_dup_yes_{orig}"):
            done = ("confirm_duplicate", wb.act(who, eid, "confirm_duplicate", original_id=orig))
        if b.button(f"不重复 {orig}", key=f"wb_dup_no_{orig}"):
            done = ("dismiss_duplicate", wb.act(who, eid, "dismiss_duplicate", original_id=orig))
    if done is not None:
        if done[1] is None:
            st.success(f"已完成：{wb.ACTIONS.get(done[0], done[0])} (done)")
        else:
            st.error(f"操作被拒绝 (refused)：{done[1]}")


def _detail(eid: int) -> None:
    """An event: state, responsible worker, history, photos, nearby cameras, actions."""
    ev = wb.load_event(who, eid)
    st.subheader(f"事件 {ev['id']} · {ev['item_name']}")
    st.markdown(f"状态 **{ev['status']}** · 层级 **{ev['level']}** · 网格 {ev['grid'] or '—'}"
                f" · 期限 {_t(ev['due_at']) or '—'}（北京时间）")
    if ev["description"]:
        st.caption(ev["description"])
    if ev["worker_name"]:
        phone = ev["worker_phone"]
        link = f" · [{phone}](tel:{phone})" if phone else ""
        st.markdown(f"责任网格员：{ev['worker_name']}{link}")
    st.dataframe(pd.DataFrame([{"时间(北京时间)": _t(h["at"]), "动作": h["action"],
                                "从": h["from_status"], "到": h["to_status"],
                                "操作人": h["actor"], "说明": h["note"]}
                               for h in ev["history"]]), hide_index=True)
    pics = wb.photos(eid)
    if pics:
        st.image(pics, width=160)
    cams = data.cameras_near_event(data.database_url(), eid, 200.0) if ev["lon"] else []
    if cams:
        st.caption("附近摄像头 (nearby cameras)：" + "、".join(
            str(c.get("name") or c.get("code") or c.get("id")) for c in cams[:10]))
    _actions(ev)


@st.fragment(run_every=10)
def _workbench() -> None:
    """Queues and the selected event, refreshed every 10 s."""
    qs = wb.load_queues(who)["queues"]
    tabs = st.tabs([f"{wb.LABELS[q['name']]} ({q['count']})" for q in qs])
    ids: dict[int, str] = {}
    for tab, q in zip(tabs, qs, strict=True):
        with tab:
            if q["rows"]:
                st.dataframe(_table(q["rows"]), hide_index=True)
            else:
                st.info("暂无事件 (nothing in this queue)")
        for r in q["rows"]:
            ids.setdefault(r["id"], f"{r['id']} · {r['item_name']} · {r['status']}")
    if not ids:
        return
    eid = st.selectbox("选择事件 (event)", list(ids), format_func=ids.get, key="wb_event")
    if eid is not None:
        _detail(eid)


_workbench()
