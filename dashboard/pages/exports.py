"""Exports (导出): events as filtered in the sidebar, and a month's assessment, as Excel or CSV."""

from __future__ import annotations

import streamlit as st

from dashboard import data, i18n, session, ui
from dashboard import exports as ex
from gis.oversight.exports import EventFilter

t = i18n.domain("exports")


def main() -> None:
    """Render the exports page for the logged-in person's area."""
    who = session.require_login()
    st.title(t("Exports"))
    st.caption(t("Files have Chinese headers and names; times in China Standard Time"))
    scope = session.scope_of(who)
    loaded = ui.district(data.database_url(), scope)
    if loaded is None:
        return
    _ext, options = loaded
    choice = ui.sidebar_filters(options, key="ex", statuses=True, scope=scope)
    f = choice.filters
    st.subheader(t("Events"))
    st.caption(f"{choice.area_label} · {i18n.t(choice.window)}")
    filt = EventFilter(since=f.since, area=f.area, statuses=f.statuses, items=f.classes,
                       overdue=f.overdue_only)
    try:
        ex.event_downloads(who, filt)
        st.subheader(t("Assessment"))
        month = st.selectbox(t("Month"), ex.months(), key="ex_month")
        st.caption(t(ex.ASSESSMENT_NOTE))
        ex.assessment_downloads(who, month, f.area)
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))


main()
