"""Shared page pieces: the database error state, empty state, the sidebar filters and the file
uploader in the page's language."""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from dashboard import data
from dashboard.i18n import bound, item_label, status_label, t
from gis.settings import Settings

REFRESH_S = 5
BOUNDARIES_HINT = ("No district boundaries yet — import your district's real boundaries: "
                   "`wangge boundaries import FILE --commit` (README, section Boundaries).")


def reason(why: Exception | str) -> str:
    """Why the database could not answer, in the page's language (``data.TIMED_OUT``
    translated; a driver's own line as it is)."""
    return t(str(why))


def database_down(why: str) -> None:
    """Say the database is unreachable (``why``) and retry by itself every few seconds."""
    st.error(t("Database unreachable: {reason}. Retrying every {s} s…", reason=reason(why),
               s=REFRESH_S))
    shown = time.monotonic()

    @st.fragment(run_every=REFRESH_S)
    def _probe() -> None:
        """Rerun the whole page once the database answers again, at the earliest a refresh
        after the outage was shown: a query that failed while the database still answers
        (cancelled by the statement timeout) would otherwise rerun the page at once, forever."""
        data.extent.clear()
        if time.monotonic() - shown >= REFRESH_S * 0.9 and data.ping(data.database_url()):
            st.rerun(scope="app")
        st.caption(t("still waiting for the database"))

    _probe()


def upload_limit_mb() -> int:
    """The largest upload in whole MB: WANGGE_MAX_UPLOAD_BYTES as `wangge dashboard` gives it
    to Streamlit (server.maxUploadSize counts whole MiB, rounded down)."""
    return max(1, Settings().max_upload_bytes // 2**20)


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _dropzone_css(key: str, button: str, instructions: str, dragging: str) -> str:
    """CSS that hides the dropzone's built-in English of the uploader ``key`` (Streamlit has no
    locale) and shows ``button``, ``instructions`` and ``dragging`` instead."""
    zone = f'.st-key-{key} [data-testid="stFileUploaderDropzone"]'
    hint = f'{zone} [data-testid="stFileUploaderDropzoneInstructions"]'
    label = f'{zone} > span > button [data-testid="stMarkdownContainer"]'
    # shown while a file is dragged over: the one child without test ids (the chips of an
    # uploaded file have them)
    drag = f'{zone} > div:not([data-testid]):not(:has([data-testid]))'
    return (f"<style>{label} p{{display:none}}"
            f"{label}::after{{content:{_css_text(button)}}}"
            f"{hint} span{{display:none}}"
            f"{hint} > div::after{{content:{_css_text(instructions)};font-size:0.875rem;"
            "line-height:1.4}"
            f"{drag} > span{{display:none}}"
            f"{drag}::after{{content:{_css_text(dragging)}}}</style>")


def file_uploader(label: str, types: list[str], key: str, kinds: str) -> UploadedFile | None:
    """``st.file_uploader`` whose dropzone speaks the page's language: its button, the
    instructions with the platform's limit (WANGGE_MAX_UPLOAD_BYTES) and ``kinds`` (the file
    kinds taken, for people) from the core catalogue. Every uploader of the dashboard uses it."""
    st.html(_dropzone_css(
        key, t("Choose a file"),
        t("Drag and drop a file here · up to {mb} MB per file · {kinds}", mb=upload_limit_mb(),
          kinds=kinds),
        t("Drop the file here")))
    return st.file_uploader(label, type=types, key=key)


def no_district() -> None:
    """The empty state before any district is loaded."""
    st.info(t(BOUNDARIES_HINT))


def district(url: str, scope: data.Scope = None) -> tuple[dict, dict] | None:
    """The extent of the viewer's area (the district for the district centre) and the filter
    options; None (after showing the empty or the database-down state) when the page has
    nothing to draw."""
    try:
        ext = (scope and data.extent(url, scope)) or data.extent(url)
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
    window = sb.selectbox(t("Time window"), list(data.WINDOWS),
                          index=list(data.WINDOWS).index(data.TODAY), key=f"{key}_window",
                          format_func=bound(t))
    classes = sb.multiselect(
        t("Event class"), [c["code"] for c in options["classes"]], key=f"{key}_classes",
        placeholder=t("all"),
        format_func=bound(lambda c: next((item_label(c, o["name"], o["name_zh"])
                                          for o in options["classes"] if o["code"] == c), c)))
    picked_statuses: list[str] = []
    overdue = False
    if statuses:
        picked_statuses = sb.multiselect(t("Status"), list(data.STATUSES), key=f"{key}_statuses",
                                         format_func=bound(status_label), placeholder=t("all"))
        overdue = sb.checkbox(t("Overdue only"), key=f"{key}_overdue")
    names = {a["code"]: a["name"] for lv in ("street", "community", "grid") for a in options[lv]}
    area_name = bound(lambda c: t("all") if c is None else f"{names[c]} ({c})")
    street = sb.selectbox(t("Street"), [None] + [a["code"] for a in options["street"]],
                          key=f"{key}_street",
                          format_func=area_name)
    comms = [a["code"] for a in options["community"] if street is None or a["parent"] == street]
    community = sb.selectbox(t("Community"), [None] + comms, key=f"{key}_community",
                             format_func=area_name)
    grids = [a["code"] for a in options["grid"]
             if (community is None or a["parent"] == community)
             and (street is None or a["code"].startswith(street))]
    grid = sb.selectbox(t("Grid"), [None] + grids, key=f"{key}_grid",
                        format_func=area_name)
    area = grid or community or street
    filters = data.Filters(since=data.since_for(window), classes=tuple(classes),
                           statuses=tuple(picked_statuses), area=area, overdue_only=overdue,
                           scope=scope)
    return Choice(window, filters, area_label(area, names, scope))


def area_label(area: str | None, names: dict[str, str], scope: data.Scope) -> str:
    """The area shown: the one picked, else the viewer's own (全区 for the whole district)."""
    if area:
        return f"{names[area]} ({area})"
    if scope is None:
        return t("whole district")
    return "、".join(f"{names.get(p, p)} ({p})" if p in names else p for p in scope)
