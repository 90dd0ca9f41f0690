"""边界规划 Boundaries: upload a boundary file, read its validation report and preview on a map,
commit it with a note, list the generations and roll back — for planners and the district
centre, through the same core as `wangge boundaries` and /api/v1/boundaries."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from boundaries.api import SUFFIXES
from boundaries.core import UNREADABLE
from boundaries.report import SEVERITY_ZH, TITLES
from dashboard import data, i18n, session, ui
from dashboard import planner as pl
from gis.access import auth
from gis.errors import Forbidden, WanggeError

t = pl.t
CHECKED = "pl_checked"  # (upload id, pl.Checked) of the file now shown
DONE = "pl_done"  # the message of the last commit or rollback, shown after the rerun
UPLOADS = "pl_uploads"  # bumps the uploader's key after a commit (an empty uploader again)
ROLLBACK = "pl_rollback"  # what a rollback would do, asked for and not yet confirmed


def _refusal(e: WanggeError) -> str:
    """A refusal in the current language (by its stable code), the detail after it."""
    text = t(f"error:{e.code}")
    return str(e) if text == f"error:{e.code}" else f"{text} ({e})"


def _check_title(check: str) -> str:
    """A check's name in the current language (boundaries.report's names)."""
    zh, en = TITLES.get(check, (check, check))
    return zh if i18n.lang() == "zh" else en


def _severity(sev: str) -> str:
    """A severity in the current language."""
    return SEVERITY_ZH.get(sev, sev) if i18n.lang() == "zh" else sev


def show_groups(groups: list[dict]) -> None:
    """The report grouped by check, errors first; consequences folded under their cause."""
    for g in groups:
        head = f"**{_severity(g['severity'])}** · {_check_title(g['check'])} " \
               f"(`{g['check']}`) × {g['count']}"
        if g.get("folded"):
            head += " · " + t("causing {n} more problems (folded below)", n=g["folded"])
        lines = [head]
        if g.get("summary"):
            lines.append(f"- {g['summary']}")
        for it in g["items"]:
            cons = "；".join(f"{n} × {_check_title(c)}" for c, n in
                            (it.get("consequences") or {}).items())
            lines.append(f"- {it['message']}" + (f"  \n  ↳ {t('causes')}: {cons}" if cons else ""))
        if g["more"]:
            lines.append("- " + t("… and {n} more of this check", n=g["more"]))
        box = st.error if g["severity"] == "error" else st.warning \
            if g["severity"] == "warning" else st.info
        box("\n".join(lines))


def show_counts(report: dict) -> None:
    """The preview's counts: grids and units, open events by kind of change, re-cut units."""
    tot = (report.get("preview") or {}).get("totals") or {}
    c = st.columns(6)
    c[0].metric(t("Grids added"), tot.get("grids_added", 0))
    c[1].metric(t("Grids removed"), tot.get("grids_removed", 0))
    c[2].metric(t("Grids changed"), tot.get("grids_changed", 0))
    c[3].metric(t("Units added"), tot.get("units_added", 0))
    c[4].metric(t("Units removed"), tot.get("units_removed", 0))
    c[5].metric(t("Units changed"), tot.get("units_changed", 0))
    if "events_changing_grid" in tot:
        c = st.columns(4)
        c[0].metric(t("Open events changing grid"), tot["events_changing_grid"])
        c[1].metric(t("Open events changing worker only"), tot["events_worker_only"])
        c[2].metric(t("Open events changing unit only"), tot["events_unit_only"])
        c[3].metric(t("Buildings changing grid"), tot.get("buildings_moving", 0))
    else:
        st.caption(t("Open events that would move are counted once the errors are fixed."))
    rc = tot.get("units_recut")
    if rc:
        c = st.columns(4)
        c[0].metric(t("Units re-cut"), f"{rc['units_before']} → {rc['units_after']}")
        c[1].metric(t("Grids whose units are re-cut"), rc["grids"])
        st.caption(t("Re-cut: {kept} units keep their buildings, {changed} get other buildings, "
                     "{new} new, {retired} retired; {b} buildings", kept=rc["kept"],
                     changed=rc["changed"], new=rc["new"], retired=rc["retired"],
                     b=rc["buildings"]))
    if tot.get("grids_without_worker"):
        st.caption(t("New grids without a responsible worker: {codes}",
                     codes=", ".join(tot["grids_without_worker"][:20])))


def _grid_table(report: dict) -> pd.DataFrame:
    """The grids that change or whose events move, one row each."""
    rows = [g for g in (report.get("preview") or {}).get("grids", [])
            if g["change"] != "unchanged" or g.get("events_out") or g.get("events_in")
            or g.get("units_added") or g.get("units_removed") or g.get("units_changed")]
    return pd.DataFrame([{
        t("grid"): g["grid"], t("change"): t(g["change"]),
        t("area change %"): g.get("area_change_pct"),
        t("units +/−/~"): f"+{g['units_added']} −{g['units_removed']} ~{g['units_changed']}",
        t("events out"): g["events_out"], t("events in"): g["events_in"],
        t("buildings out"): g["buildings_out"], t("buildings in"): g["buildings_in"],
        t("workers"): ", ".join(g.get("workers", [])[:3])} for g in rows])


def show_outcome(c: pl.Checked) -> None:
    """Acceptable (a preview), blocked or unreadable — nothing stored in any case."""
    rep = c.result.report
    if c.result.exit_code == UNREADABLE:
        st.error(t("The file cannot be read; nothing was stored.") + "  \n" + str(rep["error"]))
        return
    n = rep.get("counts", {})
    if rep.get("acceptable"):
        st.success(t("Acceptable: this is a preview, nothing has been changed yet. "
                     "{w} warnings.", w=n.get("warning", 0)))
    else:
        st.error(t("Blocked: {e} errors must be fixed in the file; nothing was stored.",
                   e=n.get("error", 0)))


def commit_form(who, c: pl.Checked, content: bytes) -> None:
    """A note and a confirmation, then the import is activated."""
    st.subheader(t("Commit"))
    note = st.text_input(t("Note (why these boundaries change)"), key="pl_note")
    sure = st.checkbox(t("I have checked the preview: activate these boundaries now"),
                       key="pl_confirm")
    if not st.button(t("Commit and activate"), key="pl_commit", type="primary"):
        return
    if not sure:
        st.warning(t("Tick the confirmation first."))
        return
    try:
        res = pl.commit(who, c.name, content, note)
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))
        return
    except WanggeError as e:
        st.error(_refusal(e))
        return
    if not res.report.get("committed"):
        st.error(t("Not activated: the file was blocked; nothing was stored."))
        return
    a = res.report.get("activation") or {}
    st.session_state[DONE] = t(
        "Generation {g} is active (was {p}); {n} open events re-located, {m} of them moved.",
        g=res.report["generation"], p=a.get("previous"), n=a.get("relocated", 0),
        m=a.get("moved", 0))
    st.session_state.pop(CHECKED, None)
    st.session_state[UPLOADS] = st.session_state.get(UPLOADS, 0) + 1
    st.rerun()


def import_section(who) -> None:
    """Upload, report, counts, map and commit."""
    st.caption(t("Same checks as `wangge boundaries import`: GeoJSON, GeoPackage or a zipped "
                 "Shapefile; nothing changes until you commit."))
    up = st.file_uploader(t("Boundary file"), type=[s.lstrip(".") for s in SUFFIXES],
                          key=f"pl_file_{st.session_state.get(UPLOADS, 0)}")
    if up is None:
        st.session_state.pop(CHECKED, None)
        return
    content = up.getvalue()
    seen = st.session_state.get(CHECKED)
    if seen is None or seen[0] != up.file_id:
        with st.spinner(t("Checking the file…")):
            try:
                seen = (up.file_id, pl.check(who, up.name, content))
            except data.DatabaseUnavailable as e:
                ui.database_down(str(e))
                return
        st.session_state[CHECKED] = seen
    c: pl.Checked = seen[1]
    show_outcome(c)
    if not c.readable:
        return
    rep = c.result.report
    show_counts(rep)
    st.subheader(t("Validation report"))
    if rep.get("groups"):
        show_groups(rep["groups"])
    else:
        st.info(t("No problems found."))
    st.subheader(t("Preview map"))
    m = pl.preview_map(c)
    if m is not None:
        st_folium(m, key="pl_map", height=520, width=None, returned_objects=[])
    table = _grid_table(rep)
    if not table.empty:
        st.dataframe(table, hide_index=True)
    if rep.get("acceptable"):
        commit_form(who, c, content)


def _generation_table(rows: list[dict]) -> pd.DataFrame:
    """The generations, newest first, with times in China Standard Time."""
    return pd.DataFrame([{
        t("generation"): r["id"], t("status"): t(f"status:{r['status']}"),
        t("activated ({tz})", tz=i18n.TZ_LABEL()): i18n.fmt_time(r["activated_at"]),
        t("communities"): r["communities"], t("grids"): r["grids"], t("units"): r["units"],
        t("open events"): r["open_events"], t("description"): r["description"] or ""}
        for r in reversed(rows)])


def rollback_section(who) -> None:
    """The generations and a rollback to the previous one, previewed, then confirmed."""
    try:
        rows = pl.generations()
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))
        return
    if not rows:
        st.info(t("No generation yet: import a boundary file first."))
        return
    st.dataframe(_generation_table(rows), hide_index=True)
    if st.button(t("Roll back to the previous generation…"), key="pl_rb_ask"):
        try:
            st.session_state[ROLLBACK] = pl.rollback(who, really=False)
        except WanggeError as e:
            st.session_state.pop(ROLLBACK, None)
            st.error(_refusal(e))
    plan = st.session_state.get(ROLLBACK)
    if plan is None:
        return
    st.warning(t("Rolling back makes generation {g} active again instead of {r}: {n} open "
                 "events get their former grid and worker back, {m} are located again.",
                 g=plan["generation"], r=plan["rolled_back"], n=plan["restored"],
                 m=plan["relocated"]))
    sure = st.checkbox(t("Yes, roll back now"), key="pl_rb_confirm")
    left, right = st.columns(2)
    if left.button(t("Cancel"), key="pl_rb_cancel"):
        st.session_state.pop(ROLLBACK, None)
        st.rerun()
    if right.button(t("Roll back"), key="pl_rb_do", type="primary", disabled=not sure):
        try:
            out = pl.rollback(who, really=True)
        except WanggeError as e:
            st.error(_refusal(e))
            return
        st.session_state.pop(ROLLBACK, None)
        st.session_state[DONE] = t("Rolled back: generation {g} is active again (was {r}).",
                                   g=out["generation"], r=out["rolled_back"])
        st.rerun()


def main() -> None:
    """Render the planner's page for planners and the district centre only."""
    who = session.require_login()
    st.title(t("Boundaries"))
    try:
        auth.check_boundary_writer(who)  # the rule the API applies to boundary writes
    except Forbidden:
        st.error(t("Only planners and the district centre may change boundaries; your role "
                   "({role}) may not open this page.", role=i18n.role_label(who.role)))
        return
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(done)
    upload, gens = st.tabs([t("Import a boundary file"), t("Generations and rollback")])
    with upload:
        import_section(who)
    with gens:
        rollback_section(who)


main()
