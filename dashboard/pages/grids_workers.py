"""Grid and worker view: per grid events, patrol coverage and people; per worker work done."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, session, ui
from dashboard import exports as ex
from dashboard.i18n import TZ_LABEL, fmt_time, kind_label, role_label, roles_label, t
from gis.access.auth import Principal


def grid_table(stats: list[dict], area: str | None) -> pd.DataFrame:
    """Per-grid table (filtered to the chosen street / community / grid)."""
    rows = [{
        "grid": s["code"], "name": s["name"], "community": s["community"], "street": s["street"],
        "open": s["open"], "overdue": s["overdue"], "closed": s["closed"],
        "reported": s["reported"], "coverage": round(100 * s["coverage"], 1),
        "units passed": f"{s['units_patrolled']} / {s['units']}",
        "responsible": s["responsible"] or t("nobody assigned"),
        "people": ", ".join(f"{p['name']} ({role_label(p['role'])})" for p in s["people"]),
    } for s in stats if not area or s["code"].startswith(area)]
    return pd.DataFrame(rows)


def show_metrics(df: pd.DataFrame) -> None:
    """The row of headline numbers over the grids shown."""
    c = st.columns(4)
    c[0].metric(t("Grids"), len(df))
    c[1].metric(t("Open events"), int(df["open"].sum()) if len(df) else 0)
    c[2].metric(t("Overdue"), int(df["overdue"].sum()) if len(df) else 0)
    c[3].metric(t("Grids not patrolled in this window"),
                int((df["coverage"] == 0).sum()) if len(df) else 0)


def show_grid(s: dict) -> None:
    """One grid's numbers and the people who answer for it."""
    a, b = st.columns(2)
    with a:
        st.markdown(f"**{s['name']}** ({s['code']}) · {kind_label(s['kind'])} · {s['community']}, "
                    f"{s['street']}")
        st.markdown(t("open **{open}** · overdue **{overdue}** · closed **{closed}** · patrol "
                      "coverage **{cov}** ({done} of {units} units)", open=s["open"],
                      overdue=s["overdue"], closed=s["closed"], cov=f"{s['coverage']:.0%}",
                      done=s["units_patrolled"], units=s["units"]))
    with b:
        st.markdown(f"**{t('People who answer for it')}**")
        if s["people"]:
            st.dataframe(pd.DataFrame([{t("Code"): p["code"], t("Name"): p["name"],
                                        t("Role"): role_label(p["role"])} for p in s["people"]]),
                         hide_index=True, width="stretch")
        else:
            st.caption(t("nobody assigned"))


def show_grids(stats: list[dict], df: pd.DataFrame) -> None:
    """The per-grid table and the details of the grid picked."""
    st.subheader(t("Per grid"))
    if df.empty:
        st.info(t(ui.BOUNDARIES_HINT))
        return
    st.dataframe(
        df.rename(columns={c: t(c) for c in df.columns if c != "coverage"}),
        hide_index=True, width="stretch",
        column_config={"coverage": st.column_config.ProgressColumn(
            t("patrol coverage %"), min_value=0, max_value=100, format="%.0f%%")})
    if int(df["reported"].sum()) == 0:
        st.info(t("No events reported in this window yet."))
    pick = st.selectbox(t("Grid details"), df["grid"].tolist(), key="gw_grid_detail")
    show_grid(next(x for x in stats if x["code"] == pick))


def show_workers(workers: list[dict], area: str | None) -> None:
    """The per-worker table (workers with a role in the chosen area)."""
    st.subheader(t("Per worker"))
    wdf = pd.DataFrame(workers)
    if wdf.empty:
        st.info(t("No workers yet: import the roster (README, section ETL)."))
        return
    if area:
        wdf = wdf[wdf["roles"].fillna("").str.contains(area, regex=False)]
    wdf = wdf.assign(last_patrol=wdf["last_patrol"].map(fmt_time),
                     roles=wdf["roles"].map(roles_label))
    names = {"assigned_open": "open events assigned", "patrol_km": "patrol km",
             "last_patrol": "last patrol"}
    st.dataframe(wdf.rename(columns={c: t(names.get(c, c)) for c in wdf.columns}).rename(
        columns={t("last patrol"): f"{t('last patrol')} ({TZ_LABEL()})"}),
        hide_index=True, width="stretch")


def show_assessment(who: Principal, area: str | None) -> None:
    """A month's assessment (考核) of the area chosen, to download (dashboard.exports)."""
    st.subheader(ex.t("Download the assessment"))
    month = st.selectbox(ex.t("Month"), ex.months(), key="gw_month")
    ex.assessment_downloads(who, month, area, key="gw_assessment")


def main() -> None:
    """Render the grid and worker page."""
    who = session.require_login()
    st.title(t("Grids & workers"))
    url = data.database_url()
    scope = session.scope_of(who)
    loaded = ui.district(url, scope)
    if loaded is None:
        return
    _ext, options = loaded
    choice = ui.sidebar_filters(options, key="gw", statuses=False, scope=scope)
    radius_m = st.sidebar.slider(t("Patrol passes a unit within (m)"), 10, 300, 50, 10,
                                 key="gw_radius")
    since = choice.filters.since
    try:
        stats = data.grid_stats(url, since, radius_m, scope)
        workers = data.worker_stats(url, since, scope)
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))
        return

    st.caption(f"{choice.area_label} · " + t(
        "open and overdue: current backlog; closed, reported and patrol coverage: {window}",
        window=t(choice.window)))
    df = grid_table(stats, choice.filters.area)
    show_metrics(df)
    show_grids(stats, df)
    show_workers(workers, choice.filters.area)
    show_assessment(who, choice.filters.area)

main()
