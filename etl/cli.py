"""``wangge etl``: load buildings, cameras and rosters; draw units. Preview unless --commit."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl.common import Report
from gis.errors import WanggeError

if TYPE_CHECKING:
    from gis.access.accounts import WorkerAccounts

app = typer.Typer(help="Load GIS layers (buildings, streets, cameras, roster) and draw "
                  "minimal units. Commands that change data only preview unless given --commit.",
                  no_args_is_help=True)


def _engine():
    """The configured engine (settings errors exit 2)."""
    from gis.cli.core import engine

    return engine()


def _owner_engine():
    """The owner role's engine: bulk loads that may swap tables in or switch triggers off."""
    from gis.cli.core import owner_engine

    return owner_engine()


UNREADABLE = frozenset({"no_such_file", "empty_file", "unreadable_file", "unknown_layer",
                        "several_layers", "bad_encoding", "unknown_encoding"})


def _fail(err: Exception) -> None:
    """Print the error as JSON on stderr; exit 2 when the file cannot be read as given, else 1."""
    from gis.cli.core import fail

    fail(err, 2 if getattr(err, "code", None) in UNREADABLE else 1)


def _finish(report: Report, file: Path, report_path: Path | None) -> None:
    """Print the report, write report and rejects files, say whether it was a preview."""
    if report_path:
        report.write(report_path)
    elif report.rejects:
        report.write_rejects(Path.cwd() / (file.name + ".rejects.csv"))
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, default=str, indent=1))
    if report.rejects:
        typer.echo(f"{report.rejected} row(s) rejected; all of them are in "
                   f"{report.rejects_file}", err=True)
    if not report.committed:
        typer.echo("preview only: nothing was written; run again with --commit to load", err=True)


CommitOpt = Annotated[bool, typer.Option("--commit", help="Write to the database.")]
ProgressOpt = Annotated[bool | None, typer.Option(
    "--progress/--no-progress", help="Progress of long loads on stderr (default: only when "
    "stderr is a terminal).", show_default=False)]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", help="Text encoding of a CSV (default: UTF-8 with or without BOM, else "
    "GB18030/GBK as Excel saves it on Chinese Windows)", show_default=False)]
ReportOpt = Annotated[Path | None, typer.Option(
    "--report", help="Write the JSON report here (rejects go to <report>.rejects.csv).")]


@app.command()
def buildings(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, zipped Shapefile, "
                                         ".osm.pbf / .osm, or CSV with a WKT column")],
    crs: Annotated[str | None, typer.Option(help="CRS of the coordinates when the file does not "
                                            "say (EPSG:4547 ...), or gcj02 / bd09")] = None,
    source: Annotated[str | None, typer.Option(help="Source name (default: the file name)")
                      ] = None,
    id_field: Annotated[str | None, typer.Option(help="Field holding the building id")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer (GeoPackage ...)")] = None,
    geometry_field: Annotated[str | None, typer.Option(help="WKT column of a CSV")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="make_valid invalid polygons "
                                         "instead of rejecting them")] = False,
    placement: Annotated[Path | None, typer.Option(help="CSV of each building's grid and unit")
                         ] = None,
    commit: CommitOpt = False,
    report: ReportOpt = None,
    progress: ProgressOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """Load building footprints: COPY + upsert by (source, id); each building gets its grid."""
    from etl import buildings as mod

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        r = mod.load_file(_owner_engine(), file, source=source, crs=crs, id_field=id_field,
                          layer=layer, geometry_field=geometry_field, repair=repair,
                          commit=commit, placement_file=placement, progress=progress,
                          encoding=encoding)
    except WanggeError as err:
        _fail(err)
    _finish(r, file, report)


@app.command()
def streets(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile lines, or an "
                                         ".osm.pbf / .osm extract (highway ways by class; "
                                         "waterways, water areas' outlines and railways as "
                                         "barriers)")],
    crs: Annotated[str | None, typer.Option(help="CRS of the coordinates when the file does not "
                                            "say (EPSG:4547 ...), or gcj02 / bd09")] = None,
    source: Annotated[str | None, typer.Option(help="Source name (default: the file name); "
                                               "a reload replaces the source's lines")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer (GeoPackage ...)")] = None,
    id_field: Annotated[str | None, typer.Option(help="Field holding the line id")] = None,
    class_field: Annotated[str | None, typer.Option(help="Field holding the road class "
                                                    "(default: class, highway, fclass ...)")
                           ] = None,
    default_class: Annotated[str | None, typer.Option(help="Class of lines without a class "
                                                      "field (residential, water, rail ...)")
                             ] = None,
    commit: CommitOpt = False,
    report: ReportOpt = None,
) -> None:
    """Load streets and barriers (道路、河道、铁路) that unit and grid drawing follow."""
    from etl import streets as mod

    try:
        r = mod.load_file(_engine(), file, source=source, crs=crs, layer=layer,
                          id_field=id_field, class_field=class_field,
                          default_class=default_class, commit=commit)
    except WanggeError as err:
        _fail(err)
    _finish(r, file, report)


@app.command()
def cameras(
    file: Annotated[Path, typer.Argument(help="CSV (code,name,lon,lat,type,direction,status,"
                                         "datum) or GeoJSON points")],
    crs: Annotated[str, typer.Option(help="Datum of rows without one: wgs84 | gcj02 | bd09 | "
                                     "cgcs2000")] = "wgs84",
    commit: CommitOpt = False,
    report: ReportOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """Load cameras (upsert by code); each camera gets its grid."""
    from etl import cameras as mod

    try:
        r = mod.load_file(_engine(), file, crs=crs, commit=commit, encoding=encoding)
    except WanggeError as err:
        _fail(err)
    _finish(r, file, report)


@app.command()
def roster(
    file: Annotated[Path, typer.Argument(help="CSV: worker_code,name,phone,id_number,role,"
                                         "area_code,valid_from,valid_to")],
    commit: CommitOpt = False,
    report: ReportOpt = None,
    encoding: EncodingOpt = None,
    accounts: Annotated[bool, typer.Option(
        "--accounts", help="Also create a log-in account (role grid_worker) with a one-time "
        "password for every worker of the file who has none; the passwords are printed once, "
        "at --commit")] = False,
    accounts_by: Annotated[str, typer.Option(
        "--accounts-by", help="User name of the new accounts: code (the worker code) or "
        "phone")] = "code",
) -> None:
    """Load workers and their roles in grids / units (phone and ID numbers masked)."""
    from etl import roster as mod

    try:
        r = mod.load(_engine(), file, commit=commit, encoding=encoding,
                     accounts_by=accounts_by if accounts else None)
    except WanggeError as err:
        _fail(err)
    _finish(r.report, file, report)
    if r.accounts is not None:
        _show_accounts(r.accounts, commit)


def _show_accounts(made: WorkerAccounts, commit: bool) -> None:
    """The new accounts' one-time passwords on stdout, once (a preview: only how many)."""
    if not commit:
        typer.echo(f"--accounts: {made.planned} account(s) would be created; their one-time "
                   "passwords are shown only with --commit", err=True)
        return
    typer.echo("username\tpassword")
    for otp in made.created:
        typer.echo(f"{otp.username}\t{otp.password}")
    typer.echo(f"{len(made.created)} account(s) created; the passwords above are shown once "
               "and must be changed at first log-in", err=True)


@app.command()
def units(
    grid: Annotated[list[str] | None, typer.Option("--grid", help="Grid code (repeatable)")
                    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every grid; with no territory yet, draw "
                                       "streets, communities and grids too")] = False,
    district: Annotated[str, typer.Option(help="District code when drawing a territory")
                        ] = "320508",
    name: Annotated[str, typer.Option(help="District name when drawing a territory")
                    ] = "District",
    source: Annotated[str | None, typer.Option(help="Only buildings of this source "
                                               "(drawing a territory)")] = None,
    new_territory: Annotated[bool, typer.Option("--new-territory", help="Draw a whole new "
                                                "territory even if one is active")] = False,
    grid_max_buildings: Annotated[int, typer.Option(help="Most buildings in one grid")] = 250,
    grid_max_floor_area: Annotated[float, typer.Option(help="Most floor area (m²) in one grid")
                                   ] = 400_000.0,
    grid_max_residents: Annotated[float, typer.Option(
        help="Most residents in one grid (when the buildings have population or households)")
                                  ] = 1_500.0,
    regroup: Annotated[bool, typer.Option("--regroup", help="Redraw: group every building "
                                          "afresh (codes still follow the buildings) instead "
                                          "of keeping unchanged units")] = False,
    streets: Annotated[bool | None, typer.Option(
        "--streets/--no-streets", help="Follow the stored street and barrier lines (wangge "
        "etl streets): grids along streets, units inside street blocks; default: when any "
        "are stored",
        show_default=False)] = None,
    street_classes: Annotated[str | None, typer.Option(
        help="Comma-separated classes that close blocks (default: roads, water, rail; not "
        "footway, cycleway, path, service, track)")] = None,
    commit: CommitOpt = False,
) -> None:
    """Draw minimal units of 1-3 buildings (a new generation, activated with --commit).

    Redrawing grids that have units keeps the units whose buildings did not change, with
    their codes; new units get new codes (never a retired one). The new generation is
    activated like a boundary import (open events re-located, undone by
    `wangge boundaries rollback --commit`)."""
    from etl import draw
    from etl.units import DrawParams
    from gis.territory.activation import has_territory

    if not grid and not all_:
        typer.echo("name grids with --grid CODE (repeatable) or use --all", err=True)
        raise typer.Exit(2)
    params = DrawParams(grid_max_buildings=grid_max_buildings,
                        grid_max_floor_area_m2=grid_max_floor_area,
                        grid_max_residents=grid_max_residents)
    e = _engine()
    from gis.cli.core import settings

    max_m = settings().outside_max_distance_m
    try:
        if all_ and (new_territory or not has_territory(e)):
            classes = (frozenset(c.strip() for c in street_classes.split(",") if c.strip())
                       if street_classes else None)
            out = draw.draw_district(e, district, name, source=source, params=params,
                                     commit=commit, actor="cli", max_m=max_m, streets=streets,
                                     street_classes=classes)
            out.pop("drawn")
            from etl.workload import lines_text

            typer.echo("\n".join(lines_text(out)), err=True)
        else:
            out = draw.redraw_units(e, None if all_ else grid, params=params, commit=commit,
                                    regroup=regroup, actor="cli", max_m=max_m,
                                    streets=streets)
            out["per_grid"] = dict(list(out["per_grid"].items())[:50])
    except WanggeError as err:
        _fail(err)
    typer.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))
    if not commit:
        typer.echo("preview only: nothing was written; run again with --commit", err=True)


@app.command()
def near(
    lon: Annotated[float, typer.Argument(help="Longitude")],
    lat: Annotated[float, typer.Argument(help="Latitude")],
    radius: Annotated[float, typer.Option(help="Metres")] = 300.0,
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
    limit: Annotated[int, typer.Option(help="Most cameras listed (1-500)")] = 50,
) -> None:
    """Cameras near a point, nearest first, with distances in metres; how many are in range in
    all (total) and whether the list was cut at --limit (truncated)."""
    from etl.cameras import cameras_in_range

    try:
        out = cameras_in_range(_engine(), lon, lat, radius, crs, limit)
    except WanggeError as err:
        _fail(err)
    typer.echo(json.dumps(out, ensure_ascii=False))
    if out["truncated"]:
        typer.echo(f"{out['count']} of {out['total']} cameras in range listed; raise --limit "
                   "to see more", err=True)


@app.command()
def city(
    grids: Annotated[int, typer.Option(help="About how many grids (10000: the benchmark city)",
                                       min=1, max=200_000)] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same city")] = 1,
    events: Annotated[int, typer.Option(help="Located events to add", min=0)] = 0,
    units_per_grid: Annotated[int, typer.Option(help="Units in each grid", min=1, max=999)
                              ] = 10,
    footprints_per_unit: Annotated[int, typer.Option(
        help="Footprints in each unit: its 1-3 numbered buildings topped up with ancillary "
             "structures (10: the benchmark city's 1,000,000; 0: numbered buildings only)",
        min=0, max=12)] = 10,
    commit: CommitOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """Generate a seeded benchmark city: territory, buildings (1-3 numbered buildings per unit
    plus ancillary structures), roster, events.

    The territory becomes the active generation. A rerun with the same options changes
    nothing. Without --commit only says what it would load.
    """
    import sys
    import time

    from etl import citygen

    t = time.perf_counter()
    c = citygen.generate_city(grids, seed, events, units_per_grid,
                              footprints_per_unit=footprints_per_unit)
    if not commit:
        out = {"seed": seed, "layout": str(c.layout), "bounds": c.bounds, "counts": c.counts(),
               "generate_s": round(time.perf_counter() - t, 2), "committed": False}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        typer.echo("preview only: nothing was written; run again with --commit", err=True)
        return

    def log(msg: str) -> None:
        if progress or (progress is None and sys.stderr.isatty()):
            typer.echo(msg, err=True)

    try:
        out = citygen.load_city(_owner_engine(), seed=seed, n_events=events, grids=grids,
                                units_per_grid=units_per_grid, progress=progress, log=log,
                                city=c)
    except WanggeError as err:
        _fail(err)
    out["timings"]["generate_s"] = round(time.perf_counter() - t - out["timings"]["total_s"]
                                         + out["timings"]["generate_s"], 2)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
