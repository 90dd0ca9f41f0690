"""Grid and worker view: per grid events, patrol coverage and people; per worker work done."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, session, ui


def grid_table(stats: list[dict], area: str | None) -> pd.DataFrame:
    """Per-grid table (filtered to the chosen street / community / grid)."""
    rows = [{
        "grid": s["code"], "name": s["name"], "community": s["community"], "street": s["street"],
        "open": s["open"], "overdue": s["overdue"], "closed": s["closed"],
        "reported": s["reported"], "coverage": round(100 * s["coverage"], 1),
        "units passed": f"{s['units_patrolled']} / {s['units']}",
        "responsible": s["responsible"] or "nobody assigned",
        "people": ", ".join(f"{p['name']} ({p['role']})" for p in s["people"]),
    } for s in stats if not area or s["code"].startswith(area)]
    return pd.DataFrame(rows)


def show_metrics(df: pd.DataFrame) -> None:
    """The row of headline numbers over the grids shown."""
    c = st.columns(4)
    c[0].metric("Grids", len(df))
    c[1].metric("Open events", int(df["open"].sum()) if len(df) else 0)
    c[2].metric("Overdue", int(df["overdue"].sum()) if len(df) else 0)
    c[3].metric("Grids never patrolled", int((df["coverage"] == 0).sum()) if len(df) else 0)


def show_grid(s: dict) -> None:
    """One grid's numbers and the people who answer for it."""
    a, b = st.columns(2)
    with a:
        st.markdown(f"**{s['name']}** ({s['code']}) · {s['kind']} · {s['community']}, "
                    f"{s['street']}")
        st.markdown(f"open **{s['open']}** · overdue **{s['overdue']}** · closed "
                    f"**{s['closed']}** · patrol coverage **{s['coverage']:.0%}** "
                    f"({s['units_patrolled']} of {s['units']} units)")
    with b:
        st.markdown("**People who answer for it**")
        if s["people"]:
            st.dataframe(pd.DataFrame(s["people"]), hide_index=True,
                         width="stretch")
        else:
            st.caption("nobody assigned")


def show_grids(stats: list[dict], df: pd.DataFrame) -> None:
    """The per-grid table and the details of the grid picked."""
    st.subheader("Per grid")
    if df.empty:
        st.info(f"No grids here — {data.EMPTY_HINT}.")
        return
    st.dataframe(
        df, hide_index=True, width="stretch",
        column_config={"coverage": st.column_config.ProgressColumn(
            "patrol coverage %", min_value=0, max_value=100, format="%.0f%%")})
    if int(df["reported"].sum()) == 0:
        st.info(f"No events reported in this window yet — {data.EMPTY_HINT}.")
    pick = st.selectbox("Grid details", df["grid"].tolist(), key="gw_grid_detail")
    show_grid(next(x for x in stats if x["code"] == pick))


def show_workers(workers: list[dict], area: str | None) -> None:
    """The per-worker table (workers with a role in the chosen area)."""
    st.subheader("Per worker")
    wdf = pd.DataFrame(workers)
    if wdf.empty:
        st.info(f"No workers yet — {data.EMPTY_HINT}.")
        return
    if area:
        wdf = wdf[wdf["roles"].fillna("").str.contains(area, regex=False)]
    st.dataframe(wdf.rename(columns={"assigned_open": "open events assigned",
                                     "patrol_km": "patrol km", "last_patrol": "last patrol"}),
                 hide_index=True, width="stretch")


def main() -> None:
    """Render the grid and worker page."""
    who = session.require_login()
    st.title("Grids & workers 网格与人员")
    url = data.database_url()
    scope = session.scope_of(who)
    loaded = ui.district(url, scope)
    if loaded is None:
        return
    _ext, options = loaded
    choice = ui.sidebar_filters(options, key="gw", statuses=False, scope=scope)
    radius_m = st.sidebar.slider("Patrol passes a unit within (m)", 10, 300, 50, 10,
                                 key="gw_radius")
    since = choice.filters.since
    try:
        stats = data.grid_stats(url, since, radius_m, scope)
        workers = data.worker_stats(url, since, scope)
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))
        return

    st.caption(f"{choice.area_label} · open and overdue: current backlog; closed, reported and "
               f"patrol coverage: {choice.window}")
    df = grid_table(stats, choice.filters.area)
    show_metrics(df)
    show_grids(stats, df)
    show_workers(workers, choice.filters.area)

main()
