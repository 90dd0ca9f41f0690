"""Download buttons of the exports (gis.oversight.exports): events as filtered, the assessment.

The files are the API's and the command line's, read as the logged-in person (the same scope
rule); their headers stay Chinese in both languages (files for official use), the page's
labels go through the ``exports`` catalogue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import data, i18n
from gis.access import scope
from gis.access.auth import Principal
from gis.clock import CST
from gis.errors import Forbidden, InvalidInput
from gis.oversight import exports
from gis.oversight.sheets import FORMATS, Table, csv_cell

t = i18n.domain("exports")
TTL_S = 30  # a file is read again after this long (or when a filter changes)
PREVIEW_ROWS = 100
LABELS = {"xlsx": "Download Excel (.xlsx)", "csv": "Download CSV (UTF-8)"}
ASSESSMENT_NOTE = ("Cases opened, closed, closed on time, rates, reopened and overdue per "
                   "street, community, grid and worker")
REFUSALS = {"area_required": "Choose an area in the sidebar (you hold several)",
            "wrong_role": "Planners and departments do not see the assessment",
            "outside_area": "That area is outside yours"}


def months(n: int = 12, now: datetime | None = None) -> list[str]:
    """The current month in China Standard Time and the ``n - 1`` before it, newest first."""
    day = (now or datetime.now(UTC)).astimezone(CST).date().replace(day=1)
    out = []
    for _ in range(n):
        out.append(day.strftime("%Y-%m"))
        day = (day - timedelta(days=1)).replace(day=1)
    return out


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _event_table(url: str, who: Principal, filt: exports.EventFilter, minute: str) -> Table:
    """The events ``who`` may read matching ``filt`` (``minute``: the cache's clock)."""
    return data._call(exports.event_table, data._read_engine(url), filt, who)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _assessment_table(url: str, month: str, area: str | None) -> Table:
    """The month's indicators in ``area`` (checked by the caller)."""
    return data._call(exports.assessment_table, data._read_engine(url), month, area)


def preview(table: Table) -> None:
    """The first rows as on paper (times in CST), under the file's Chinese headers."""
    if not table.rows:
        st.info(t("Nothing to export for these filters"))
        return
    heads = [c.header for c in table.columns]
    rows = [[csv_cell(v, c.kind) for v, c in zip(r, table.columns, strict=True)]
            for r in table.rows[:PREVIEW_ROWS]]
    st.dataframe(pd.DataFrame(rows, columns=heads), hide_index=True, width="stretch")


def buttons(files: dict[str, exports.Export], key: str) -> None:
    """One download button per format, side by side."""
    cols = st.columns(len(files))
    for col, (fmt, f) in zip(cols, files.items(), strict=True):
        col.download_button(t(LABELS[fmt]), f.content, file_name=f.filename_zh,
                            mime=f.media_type, key=f"{key}_{fmt}", on_click="ignore")


def event_downloads(who: Principal, filt: exports.EventFilter, key: str = "ex_events") -> None:
    """Row count, preview and the two buttons of the events export."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        table = _event_table(data.database_url(), who, filt, now.isoformat())
    except InvalidInput as e:
        st.warning(str(e))
        return
    st.caption(t("{n} events, oldest first", n=len(table.rows)))
    buttons({fmt: exports.events_file(table, fmt, filt.area, now) for fmt in FORMATS}, key)
    preview(table)


def assessment_downloads(who: Principal, month: str, area: str | None,
                         key: str = "ex_assessment") -> None:
    """The two buttons (and a preview) of a month's assessment in ``area`` within who's own."""
    try:
        chosen = scope.report_area(who.role, who.areas, area)
    except Forbidden as e:
        st.info(t(REFUSALS.get(e.code, str(e))))
        return
    table = _assessment_table(data.database_url(), month, chosen)
    st.caption(t("{n} rows: streets, communities, grids and workers", n=len(table.rows)))
    buttons({fmt: exports.assessment_file(table, fmt, month, chosen) for fmt in FORMATS}, key)
    preview(table)
