"""``wangge boundaries``: import (validate, preview, activate), rollback, export, list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gis.errors import WanggeError

app = typer.Typer(help="Grid boundaries: import, validate, preview, activate, roll back, export.",
                  no_args_is_help=True)


def _engine():
    """Engine of the configured database."""
    from gis.cli.core import engine

    return engine()


def _settings():
    """Settings (for outside_max_distance_m)."""
    from gis.cli.core import settings

    return settings()


def _fail(err: WanggeError, code: int = 1) -> None:
    """Print a typed error (with the command line's hint) and exit."""
    from gis.cli.core import fail

    fail(err, code)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage or zipped Shapefile")],
    commit: Annotated[bool, typer.Option("--commit", help="Activate when acceptable.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the JSON report (and NAME.recut.geojson of re-cut units).")] = None,
    problems: Annotated[Path | None, typer.Option(
        "--problems", help="GeoJSON of problem geometries (default: next to --report).")] = None,
    level: Annotated[str | None, typer.Option(
        "--level", help="Level of features without a 'level' property.")] = None,
    crs: Annotated[str | None, typer.Option(
        "--crs", help="CRS of the file: EPSG:4490, EPSG:4547, gcj02, bd09, ...")] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="TARGET=FIELD, targets code/name/parent_code/kind/level.")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="GeoPackage layer.")] = None,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Use make_valid's repair of invalid geometries.")] = False,
    min_area: Annotated[float, typer.Option(
        "--min-area", help="Sliver / gap / overlap threshold in m².")] = 5.0,
    description: Annotated[str, typer.Option(help="Description of the generation.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Validate a boundary file, preview it against the active one; --commit activates it.

    Exit code 0: acceptable (activated with --commit); 1: blocking problems; 2: unreadable.
    """
    from boundaries.core import run_import
    from boundaries.reader import parse_mapping
    from boundaries.validate import Options

    try:
        mapping = parse_mapping(map_)
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    try:
        res = run_import(_engine(), file, crs=crs, level=level, mapping=mapping, layer=layer,
                         options=Options(min_area_m2=min_area, repair=repair), commit=commit,
                         description=description,
                         max_m=_settings().outside_max_distance_m, actor="cli")
    except WanggeError as err:
        _fail(err)
    _show(res, as_json, report, problems)


def _show(res, as_json: bool, report: Path | None, problems: Path | None) -> None:
    """Print an import's report (and write its files), then exit with its code."""
    from boundaries.core import table

    if as_json:
        typer.echo(json.dumps(res.report, ensure_ascii=False, default=str, indent=1))
    else:
        typer.echo(table(res.report))
    if report is not None:
        report.write_text(json.dumps(res.report, ensure_ascii=False, default=str, indent=1),
                          encoding="utf-8")
        if problems is None:
            problems = report.with_name(report.stem + ".problems.geojson")
    if problems is not None and res.problems_geojson:
        problems.write_text(json.dumps(res.problems_geojson, ensure_ascii=False),
                            encoding="utf-8")
    if report is not None and res.recut_geojson:
        report.with_name(report.stem + ".recut.geojson").write_text(
            json.dumps(res.recut_geojson, ensure_ascii=False), encoding="utf-8")
    if res.exit_code == 2:
        typer.echo(res.report.get("error", "unreadable"), err=True)
    raise typer.Exit(res.exit_code)


@app.command()
def draft() -> None:
    """Open a draft (a copy of the active boundaries) to edit in QGIS through /ogc."""
    from gis.interop import drafts

    try:
        gen = drafts.new_draft(_engine(), "QGIS draft (cli)")
    except WanggeError as err:
        _fail(err)
    typer.echo(f"草稿 {gen} 已打开 (draft {gen} open): 在 QGIS 中编辑 OGC API 图层 draft_grids / "
               "draft_units, then: wangge boundaries import-draft [--commit]")


@app.command("import-draft")
def import_draft(
    commit: Annotated[bool, typer.Option("--commit", help="Activate when acceptable.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report.")
                      ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Validate the draft edited in QGIS like a file, preview it; --commit activates it."""
    from boundaries.drafts import import_draft as run

    try:
        res = run(_engine(), commit=commit, actor="cli",
                  max_m=_settings().outside_max_distance_m)
    except WanggeError as err:
        _fail(err)
    _show(res, as_json, report, None)


@app.command()
def rollback(
    commit: Annotated[bool, typer.Option("--commit", help="Really roll back.")] = False,
) -> None:
    """Return to the previous generation and restore the former event assignments."""
    from gis.territory import activation as act

    e = _engine()
    try:
        out = act.rollback_generation(e, commit=commit, actor="cli",
                                      max_m=_settings().outside_max_distance_m)
    except WanggeError as err:
        _fail(err)
    out["committed"] = commit
    typer.echo(json.dumps(out))
    if not commit:
        typer.echo("preview only: nothing changed; run again with --commit", err=True)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output .geojson")],
    generation: Annotated[int | None, typer.Option(help="Generation id (default: active)")] = None,
) -> None:
    """Export a generation as GeoJSON (code, name, parent_code, kind, level)."""
    from boundaries.export import write

    try:
        with _engine().connect() as conn:
            n = write(conn, out, generation)
    except WanggeError as err:
        _fail(err)
    typer.echo(json.dumps({"file": str(out), "features": n}))


@app.command("list")
def list_() -> None:
    """The generations, newest last; open events counted by their current codes."""
    from boundaries.listing import generations

    with _engine().connect() as conn:
        rows = generations(conn)
    typer.echo("版本 generations：未结事件按其当前编码计 "
               "(open events counted by their current codes)")
    typer.echo(f"{'id':>4} {'status':<9} {'activated':<20} {'communities':>11} {'grids':>6} "
               f"{'units':>7} {'open ev':>8}  description")
    for r in rows:
        at = r["activated_at"].strftime("%Y-%m-%d %H:%M:%S") if r["activated_at"] else ""
        typer.echo(f"{r['id']:>4} {r['status']:<9} {at:<20} {r['communities']:>11} "
                   f"{r['grids']:>6} {r['units']:>7} {r['open_events']:>8}  {r['description']}")


@app.command()
def suggest(
    out: Annotated[Path, typer.Argument(help="Output boundary file (.geojson)")],
    months: Annotated[int, typer.Option("--months", help="Months of events and patrols.")] = 6,
    community: Annotated[list[str] | None, typer.Option(
        "--community", help="Only this community (repeat for more; default: all).")] = None,
    w_events: Annotated[float, typer.Option(help="Weight per event a month.")] = 1.0,
    w_patrol: Annotated[float, typer.Option(help="Weight per patrol km a month.")] = 0.25,
    w_buildings: Annotated[float, typer.Option(help="Weight per building.")] = 0.1,
    w_floor: Annotated[float, typer.Option(help="Weight per 1,000 m² floor area.")] = 0.05,
    w_unit: Annotated[float, typer.Option(help="Weight of each minimal unit.")] = 1.0,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report.")
                      ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Propose grids that even out workload within each community, as a boundary file with
    its import preview; never activated (import the file with --commit to do that)."""
    from boundaries import suggest as sg
    from boundaries.core import table

    w = sg.Weights(w_events, w_patrol, w_buildings, w_floor, w_unit)
    try:
        s = sg.suggest(_engine(), out, months=months, communities=community, weights=w,
                       max_m=_settings().outside_max_distance_m)
    except WanggeError as err:
        _fail(err)
    body = json.dumps(s.to_dict(), ensure_ascii=False, default=str, indent=1)
    if report is not None:
        report.write_text(body, encoding="utf-8")
    typer.echo(body if as_json else "\n".join([*sg.lines(s), "", table(s.preview.report)]))
    if not as_json:
        typer.echo(f"wangge boundaries import {out} --commit  # 启用 (to activate)")
    raise typer.Exit(s.preview.exit_code)
