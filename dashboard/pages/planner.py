"""边界规划 Boundaries: upload a boundary file, read its validation report and preview on a map,
commit it with a note, list the generations and roll back — for planners and the district
centre, through the same core as `wangge boundaries` and /api/v1/boundaries. A first draft of
streets, communities, grids and units drawn from the stored buildings and streets (as `wangge
etl units --all`) is downloaded for QGIS or imported through that same path; the active
boundaries are downloaded for QGIS and uploaded again (the units of moved grids re-cut)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from boundaries.api import SUFFIXES
from boundaries.core import UNREADABLE
from boundaries.report import SEVERITY_ZH, TITLES
from dashboard import data, i18n, session, ui
from dashboard import planner as pl
from etl.units import DrawParams
from gis.access import auth
from gis.errors import Forbidden, WanggeError

t = pl.t
CHECKED = "pl_checked"  # (upload id, pl.Checked) of the file now shown
DONE = "pl_done"  # the message of the last commit or rollback, shown after the rerun
UPLOADS = "pl_uploads"  # bumps the uploader's key after a commit (an empty uploader again)
ROLLBACK = "pl_rollback"  # what a rollback would do, asked for and not yet confirmed
DRAFT = "pl_draft"  # the draft drawn (pl.Draft), shown until drawn again or committed
DRAFT_CHECKED = "pl_draft_checked"  # the draft through the import (pl.Checked), once asked
GEOJSON = "application/geo+json"


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
        st.info(t("{n} units re-cut in the {g} grids whose boundary moved (were {before}); "
                  "dotted purple on the map.", n=rc["units_after"], g=rc["grids"],
                  before=rc["units_before"]))
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
        t("area change %"): "—" if g.get("area_change_pct") is None
        else f"{g['area_change_pct']:+.1f}",
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


def commit_form(who, c: pl.Checked, content: bytes, key: str = "pl") -> None:
    """A note and a confirmation, then the import is activated (``key``: the widgets' prefix,
    one per place the form is shown)."""
    st.subheader(t("Commit"))
    note = st.text_input(t("Note (why these boundaries change)"), key=f"{key}_note")
    sure = st.checkbox(t("I have checked the preview: activate these boundaries now"),
                       key=f"{key}_confirm")
    if not st.button(t("Commit and activate"), key=f"{key}_commit", type="primary"):
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
    for shown in (CHECKED, DRAFT, DRAFT_CHECKED):
        st.session_state.pop(shown, None)
    st.session_state[UPLOADS] = st.session_state.get(UPLOADS, 0) + 1
    st.rerun()


def import_section(who) -> None:
    """Upload, report, counts, map and commit."""
    st.caption(t("Same checks as `wangge boundaries import`: GeoJSON, GeoPackage or a zipped "
                 "Shapefile; nothing changes until you commit."))
    up = ui.file_uploader(t("Boundary file"), [s.lstrip(".") for s in SUFFIXES],
                          key=f"pl_file_{st.session_state.get(UPLOADS, 0)}",
                          kinds=t("GeoJSON, GeoPackage or zipped Shapefile (.zip)"))
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
    review(who, seen[1], content)


def review(who, c: pl.Checked, content: bytes, key: str = "pl") -> None:
    """A file through the import: outcome, counts, grouped report, preview map, the grids that
    change and, when acceptable, the commit with a note (``key``: the widgets' prefix)."""
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
        st_folium(m, key=f"{key}_map", height=520, width=None, returned_objects=[])
    table = _grid_table(rep)
    if not table.empty:
        st.dataframe(table, hide_index=True)
    if rep.get("acceptable"):
        commit_form(who, c, content, key)


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
    download_active(who, rows)
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


def download_active(who, rows: list[dict]) -> None:
    """The active boundaries as a boundary file: move a grid edge in QGIS, upload it again
    (the units of the moved grids are re-cut by the import)."""
    active = next((r["id"] for r in rows if r["status"] == "active"), None)
    if active is None:
        return
    st.download_button(t("Download the active grids (GeoJSON)"),
                       data=lambda: pl.active_file(who).content, mime=GEOJSON,
                       file_name=f"wangge-boundaries-generation-{active}.geojson",
                       key="pl_active_download", icon=":material/download:",
                       on_click="ignore")
    st.caption(t("Generation {g} as a boundary file (every level, units included). Move a "
                 "grid edge in QGIS, save, and upload the file under “{tab}”: the units of "
                 "the grids that moved are re-cut from the buildings, the others stay.",
                 g=active, tab=t("Import a boundary file")))


# -- the first draft --------------------------------------------------------------------------

def _in_language(text: str) -> str:
    """A drawing's "中文 (English)" sentence in the current language."""
    head, sep, tail = text.partition(" (")
    if not sep or not tail.endswith(")"):
        return text
    return head if i18n.lang() == "zh" else tail[:-1]


def draft_form(who) -> None:
    """District, grid size limits and the button that draws a draft (nothing stored)."""
    try:
        known = pl.active_district()
        streets = pl.has_streets()
    except data.DatabaseUnavailable as e:
        ui.database_down(str(e))
        return
    if not streets:
        st.warning(t("No street layer is stored: the draft will ignore streets (grid and unit "
                     "edges follow the gaps between buildings, not necessarily the streets). "
                     "Load one first with `wangge etl streets FILE --commit`."))
    code_col, name_col = st.columns(2)
    code = code_col.text_input(t("District code (6 digits)"), key="pld_code",
                               value=known[0] if known else "")
    name = name_col.text_input(t("District name"), key="pld_name",
                               value=known[1] if known else "")
    left, right = st.columns(2)
    most_b = left.number_input(t("Most buildings in one grid"), min_value=1, value=250,
                               step=10, key="pld_max_buildings")
    most_fa = right.number_input(t("Most floor area in one grid (m²)"), min_value=1000,
                                 value=400_000, step=10_000, key="pld_max_floor_area")
    if not st.button(t("Draw the draft"), key="pld_draw", type="primary"):
        return
    params = DrawParams(grid_max_buildings=int(most_b), grid_max_floor_area_m2=float(most_fa))
    with st.spinner(t("Drawing streets, communities, grids and units from the buildings…")):
        try:
            st.session_state[DRAFT] = pl.draft(who, code, name, params)
        except data.DatabaseUnavailable as e:
            ui.database_down(str(e))
            return
        except WanggeError as e:
            st.session_state.pop(DRAFT, None)
            st.error(_refusal(e))
            return
    st.session_state.pop(DRAFT_CHECKED, None)


def _measures() -> dict[str, str]:
    """The workload's measures (etl.workload.MEASURES) named for people."""
    return {"buildings": t("buildings"), "floor_area_m2": t("floor area (m²)"),
            "km2": t("km²"), "units": t("units"), "population": t("residents"),
            "households": t("households")}


def _workload_table(d: pl.Draft) -> pd.DataFrame:
    """One row per drafted grid: its workload."""
    names = {g.code: g.name for g in d.grids}
    cols = _measures()
    return pd.DataFrame([{t("grid"): r["grid"], t("name"): names.get(r["grid"], ""),
                          **{label: r[m] if m == "km2" else int(r[m])
                             for m, label in cols.items() if m in r}}
                         for r in d.out["workload"]["grids"]])


def _spread_table(d: pl.Draft) -> pd.DataFrame:
    """The spread of each measure over the drafted grids."""
    label = _measures()

    def fig(m: str, v: float | None) -> str:
        """A figure of measure ``m`` for people: km² to 0.001, others whole (— for none)."""
        if v is None:
            return "—"
        return f"{v:.3f}" if m == "km2" else f"{v:,.0f}"
    return pd.DataFrame([{t("measure"): label.get(m, m), t("min"): fig(m, s["min"]),
                          t("median"): fig(m, s["median"]), t("max"): fig(m, s["max"]),
                          t("max/min"): "—" if s["max_over_min"] is None
                          else f"{s['max_over_min']:.2f}", t("variation (cv)"): f"{s['cv']:.2f}"}
                         for m, s in d.out["workload"]["spread"].items()])


def show_streets(d: pl.Draft) -> None:
    """Whether the draft follows streets and how well (share of grid boundary near one)."""
    s = d.out["streets"]
    if not d.streets_used:
        st.warning(t("Drawn without a street layer: no street lines are stored near the "
                     "buildings, so this draft ignores streets. Load them with `wangge etl "
                     "streets FILE --commit` and draw again."))
        return
    fit = s.get("fit") or {}
    st.success(t("Drawn along the stored street and barrier lines ({n} stored near the "
                 "buildings).", n=s["lines"]))
    c = st.columns(3)
    c[0].metric(t("Grid boundary near a street"), f"{fit.get('near_share', 0):.0%}",
                help=t("Share of the boundary between grids within {m} m of a street, a "
                       "barrier or the district edge.", m=f"{fit.get('within_m', 10):g}"))
    c[1].metric(t("Units across a street"),
                f"{fit.get('multi_units_across', 0)} / {fit.get('multi_units', 0)}",
                help=t("Units of several buildings whose buildings lie on both sides of a "
                       "street, of all units of several buildings."))
    c[2].metric(t("Grids in pieces"), fit.get("grids_in_pieces", 0),
                help=t("{n} of them because the district itself is in parts there.",
                       n=fit.get("grids_in_pieces_forced", 0)))


def show_flags(d: pl.Draft) -> None:
    """Grids and units drawn in several pieces, each with its reason."""
    flags = d.out["flags"]
    if not flags:
        return
    lines = [t("Areas drawn in several pieces ({n}):", n=len(flags))]
    for f in flags[:50]:
        reason = t(f"reason:{f['reason']}")
        if reason == f"reason:{f['reason']}":
            reason = _in_language(f["reason_text"])
        lines.append("- " + t("{level} {code}: {pieces} pieces — {reason}",
                              level=i18n.level_label(f["level"]), code=f["code"],
                              pieces=f["pieces"], reason=reason))
    if len(flags) > 50:
        lines.append("- " + t("… and {n} more", n=len(flags) - 50))
    st.warning("\n".join(lines))


def show_draft(d: pl.Draft) -> None:
    """What was drawn: counts, streets, workload per grid and its spread, flags, the map."""
    lv = d.out["levels"]
    st.success(t("Draft of {when} ({tz}): {s} streets, {c} communities, {g} grids and {u} "
                 "units from {b} buildings. Nothing has been stored.",
                 when=i18n.fmt_time(d.drawn_at), tz=i18n.TZ_LABEL(), s=lv.get("street", 0),
                 c=lv.get("community", 0), g=lv.get("grid", 0), u=lv.get("unit", 0),
                 b=d.out["buildings"]))
    show_streets(d)
    st.subheader(t("Workload per grid"))
    st.dataframe(_workload_table(d), hide_index=True, column_config={
        t("floor area (m²)"): st.column_config.NumberColumn(format="localized")})
    st.caption(t("Spread over the grids"))
    st.dataframe(_spread_table(d), hide_index=True)
    notes = [d.out["workload"]["imputed_floors"]] if d.out["workload"]["imputed_floors"][
        "buildings"] else []
    for text in [n["text"] for n in notes] + list(d.out["notes"]):
        st.caption(_in_language(text))
    show_flags(d)
    st.subheader(t("Draft map"))
    m = pl.draft_map(d)
    if m is not None:
        st_folium(m, key="pld_draft_map", height=520, width=None, returned_objects=[])


def draft_actions(who, d: pl.Draft) -> None:
    """Download the draft for QGIS, or send it through the import (preview, then commit)."""
    left, right = st.columns(2)
    left.download_button(t("Download the draft (GeoJSON, editable in QGIS)"), data=d.content,
                         file_name=d.name, mime=GEOJSON, key="pld_download",
                         icon=":material/download:", on_click="ignore")
    if right.button(t("Import this draft"), key="pld_import", icon=":material/upload:"):
        with st.spinner(t("Checking the file…")):
            try:
                st.session_state[DRAFT_CHECKED] = pl.check(who, d.name, d.content)
            except data.DatabaseUnavailable as e:
                ui.database_down(str(e))
                return
    st.caption(t("The download is a boundary file as the import takes it: edit it in QGIS and "
                 "upload it under “{tab}”. Importing checks it and shows the preview; nothing "
                 "is activated until you commit it with a note.",
                 tab=t("Import a boundary file")))
    c = st.session_state.get(DRAFT_CHECKED)
    if c is not None:
        st.subheader(t("The draft through the import"))
        review(who, c, d.content, key="pld")


def draft_section(who) -> None:
    """Draw a first draft, read it, download it or import it."""
    st.caption(t("Streets, communities, grids and units drawn from the buildings and street "
                 "lines already stored (`wangge etl buildings`, `wangge etl streets`), as "
                 "`wangge etl units --all` draws them. Nothing is stored by drawing."))
    draft_form(who)
    d = st.session_state.get(DRAFT)
    if d is None:
        return
    show_draft(d)
    draft_actions(who, d)


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
    # keyed and tracked: the tab shown stays across reruns (a commit's message, a download)
    upload, drafting, gens = st.tabs([t("Import a boundary file"), t("Draw a first draft"),
                                      t("Generations and rollback")], key="pl_tab",
                                     on_change="rerun")
    with upload:
        import_section(who)
    with drafting:
        draft_section(who)
    with gens:
        rollback_section(who)


main()
