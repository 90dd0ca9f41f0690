"""Wangge command centre (综治中心): entry point of the Streamlit dashboard."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` only adds dashboard/
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import alerts, session  # noqa: E402
from dashboard.i18n import gettext, t  # noqa: E402
from gis.access import auth  # noqa: E402

st.set_page_config(page_title=t("Wangge command centre"), page_icon="🗺️",
                   layout="wide")
PAGES = Path(__file__).resolve().parent / "pages"
try:
    who = session.current()
except Exception:  # noqa: BLE001 - the database is down: the page says so itself
    who = None
nav = st.navigation([
    st.Page(PAGES / "live_map.py", title=t("Live map"), icon=":material/map:",
            default=True),
    st.Page(PAGES / "grids_workers.py", title=t("Grids & workers"),
            icon=":material/groups:"),
    st.Page(PAGES / "workbench.py", title=gettext("workbench", "Dispatcher workbench"),
            icon=":material/assignment:"),
    st.Page(PAGES / "statistics.py", title=gettext("statistics", "Statistics board"),
            icon=":material/monitoring:"),
    st.Page(PAGES / "exports.py", title=gettext("exports", "Exports"), icon=":material/download:"),
    *([st.Page(PAGES / "planner.py", title=gettext("planner", "Boundaries"),
               icon=":material/edit_location_alt:")]
      if who is not None and auth.may_change_boundaries(who) else []),  # planners, centre
])
if who is not None and not who.must_change_password:
    alerts.watch(who)  # new alerts of the person's area and level, on every page
nav.run()
