"""统计大屏 Statistics board: the viewer's area on a 1920×1080 wall screen, refreshing itself."""

from __future__ import annotations

import streamlit as st

from dashboard import board, data, session, ui
from dashboard.i18n import TZ_LABEL, fmt_time, role_label
from gis.oversight import statistics as stats
from gis.settings import Settings

t = board.t
LAST = "wg_stat_last"  # the last board read, shown with the outage banner


def area_label(who, options: dict) -> str:
    """The viewer's areas by name (the whole district for the district centre)."""
    if session.scope_of(who) is None:
        return t("Whole district")
    if not who.areas:  # a department (its notified events) or a planner (none)
        return who.department or role_label(who.role)
    names = {a["code"]: a["name"] for lv in ("street", "community", "grid") for a in options[lv]}
    return "、".join(names.get(c, c) for c in who.areas)


def show_header(b: stats.Board, area: str, every_s: int) -> None:
    """Title, area, the moment of the figures (北京时间) and the refresh period."""
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.title(t("Statistics board"))
    right.caption(t("{area} · updated {time} ({tz}) · refreshes every {s} s", area=area,
                    time=fmt_time(b.window.now), tz=TZ_LABEL(), s=every_s))


def show_headline(b: stats.Board) -> None:
    """Six big numbers: new today, open, overdue, closed today, on-time rate, coverage."""
    h = b.headline
    days = len(b.window.days)
    cov_days = (b.window.today - b.coverage_since).days + 1 if b.coverage_since else 0
    with st.container(key="wg_stat_head"):
        c = st.columns(6)
        c[0].metric(t("New today"), h.new_today)
        c[1].metric(t("Open"), h.open)
        c[2].metric(t("Overdue"), h.overdue)
        c[3].metric(t("Closed today"), h.closed_today)
        c[4].metric(t("On-time rate (last {days} days)", days=days),
                    board.percent(board.whole(b.on_time)))
        c[5].metric(t("Patrol coverage (last {days} days)", days=cov_days),
                    board.percent(board.whole(b.coverage)))


def chart(spec: dict) -> None:
    """One Vega-Lite chart in the board's own dark style (no Streamlit theme over it)."""
    st.vega_lite_chart(spec=spec, theme=None, width="stretch")


def show_charts(b: stats.Board) -> None:
    """Events per day and top items; per street, per community, on-time rate, coverage."""
    if b.empty:
        st.info(t("No events in the last {days} days in your area yet.",
                  days=len(b.window.days)))
    else:
        wide, narrow = st.columns([3, 2])
        with wide:
            chart(board.per_day(b))
        with narrow:
            chart(board.top_items(b))
    c = st.columns(4)
    if not b.empty:
        with c[0]:
            chart(board.areas(b, "street"))
        with c[1]:
            chart(board.areas(b, "community"))
        with c[2]:
            if board.any_closed(b):
                chart(board.on_time(b))
            else:
                st.info(t("No case closed in the last {days} days yet: no on-time rate.",
                          days=len(b.window.days)))
    with c[3]:
        if b.coverage:
            chart(board.coverage(b))
        else:
            st.info(t("No minimal units in your area to patrol."))


def live(url: str, scope: stats.Scope, area: str, every_s: int) -> None:
    """Read and draw the board (re-run by itself every ``every_s`` seconds, as a fragment)."""
    try:
        b = board.load(url, scope, every_s)
        st.session_state[LAST] = b
    except data.DatabaseUnavailable as e:
        st.error(t(board.DB_DOWN, reason=ui.reason(e), s=every_s))
        b = st.session_state.get(LAST)
        if b is None:
            return
    show_header(b, area, every_s)
    show_headline(b)
    show_charts(b)


def main() -> None:
    """Render the statistics board."""
    st.set_page_config(layout="wide", initial_sidebar_state="collapsed")
    who = session.require_login()
    board.style()
    url = data.database_url()
    loaded = ui.district(url, session.scope_of(who))
    if loaded is None:
        return
    every_s = Settings().board_refresh_s
    st.fragment(live, run_every=every_s)(url, stats.Scope.of(who), area_label(who, loaded[1]),
                                         every_s)


main()
