"""Shared page pieces: the database error state, empty state and the sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard import data

REFRESH_S = 5


def database_down(reason: str) -> None:
    """Say the database is unreachable and retry by itself every few seconds."""
    st.error(f"Database unreachable: {reason}. Retrying every {REFRESH_S} s…")

    @st.fragment(run_every=REFRESH_S)
    def _probe() -> None:
        """Rerun the whole page once the database answers again."""
        data.extent.clear()
        if data.ping(data.database_url()):
            st.rerun(scope="app")
        st.caption("still waiting for the database")

    _probe()


def no_district() -> None:
    """The empty state before any district is loaded."""
    st.info(f"No district loaded — {data.EMPTY_HINT} (it loads the demo district).")


def district(url: str, scope: data.Scope = None) -> tuple[dict, dict] | None:
    """The district's extent and filter options; None (after showing the empty or the
    database-down state) when the page has nothing to draw."""
    try:
        ext = data.extent(url)
        options = data.filter_options(url, scope) if ext else None
    except data.DatabaseUnavailable as e:
        database_down(str(e))
        return None
    if ext is None or options is None:
        no_district()
        return None
    return ext, options


@dataclass(frozen=True)
class Choice:
    """The sidebar's choices."""

    window: str
    filters: data.Filters
    area_label: str


def sidebar_filters(options: dict, key: str = "f", statuses: bool = True,
                    scope: data.Scope = None) -> Choice:
    """Time window, event class, status, street, community and grid in the sidebar."""
    sb = st.sidebar
    window = sb.selectbox("Time window", list(data.WINDOWS), index=1, key=f"{key}_window")
    classes = sb.multiselect(
        "Event class", [c["code"] for c in options["classes"]], key=f"{key}_classes",
        format_func=lambda c: next((f"{o['name']} {o['name_zh'] or ''}"
                                    for o in options["classes"] if o["code"] == c), c))
    picked_statuses: list[str] = []
    overdue = False
    if statuses:
        picked_statuses = sb.multiselect("Status", list(data.STATUSES), key=f"{key}_statuses")
        overdue = sb.checkbox("Overdue only", key=f"{key}_overdue")
    names = {a["code"]: a["name"] for lv in ("street", "community", "grid") for a in options[lv]}
    street = sb.selectbox("Street", [None] + [a["code"] for a in options["street"]],
                          key=f"{key}_street",
                          format_func=lambda c: "all" if c is None else f"{names[c]} ({c})")
    comms = [a["code"] for a in options["community"] if street is None or a["parent"] == street]
    community = sb.selectbox("Community", [None] + comms, key=f"{key}_community",
                             format_func=lambda c: "all" if c is None else f"{names[c]} ({c})")
    grids = [a["code"] for a in options["grid"]
             if (community is None or a["parent"] == community)
             and (street is None or a["code"].startswith(street))]
    grid = sb.selectbox("Grid", [None] + grids, key=f"{key}_grid",
                        format_func=lambda c: "all" if c is None else f"{names[c]} ({c})")
    area = grid or community or street
    filters = data.Filters(since=data.since_for(window), classes=tuple(classes),
                           statuses=tuple(picked_statuses), area=area, overdue_only=overdue,
                           scope=scope)
    return Choice(window, filters, f"{names[area]} ({area})" if area else "whole district")
