"""The ``wangge`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from gis.errors import WanggeError
from gis.plugins import import_optional
from gis.settings import Settings

app = typer.Typer(help="Wangge 网格: grid governance on PostGIS.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
catalogue_app = typer.Typer(help="Event catalogue (classes and items).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalogue_app, name="catalogue")

# Sub-commands of other packages, added when they are installed: (module, attribute, name).
OPTIONAL_APPS = [
    ("boundaries.cli", "app", "boundaries"),
    ("etl.cli", "app", "etl"),
    ("gis.workflow_cli", "report_app", "report"),
    ("gis.workflow_cli", "token_app", "token"),
    ("gis.workflow_cli", "events_app", "events"),
    ("gis.workflow_cli", "patrols_app", "patrols"),
]


def settings() -> Settings:
    """Settings from the environment, with a readable message when they are bad."""
    try:
        return Settings()
    except Exception as e:  # pydantic ValidationError
        typer.echo(f"configuration error: {e}", err=True)
        raise typer.Exit(2) from None


def engine():
    """The engine for the configured database."""
    from gis.db import get_engine

    return get_engine(settings())


def owner_engine():
    """The engine for the owner role (migrations, loads that need DDL)."""
    from gis.db import get_engine

    return get_engine(settings().as_owner())


def fail(err: Exception, code: int = 1) -> None:
    """Print an error as JSON on stderr and exit."""
    if isinstance(err, WanggeError):
        typer.echo(json.dumps(err.to_dict(), ensure_ascii=False), err=True)
    else:
        typer.echo(json.dumps({"error": {"code": type(err).__name__, "message": str(err)}}),
                   err=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database up as the owner role, then grant the platform's role its rights."""
    from gis import migrate

    rev = migrate.upgrade_and_grant(settings(), revision)
    typer.echo(f"database at revision {rev}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "base",
                 yes: Annotated[bool, typer.Option("--yes", help="Really drop data.")] = False,
                 ) -> None:
    """Migrate the database down (default: drop everything Wangge created)."""
    from gis import migrate

    if not yes:
        typer.echo("downgrade drops tables and their data; add --yes to do it", err=True)
        raise typer.Exit(1)
    e = owner_engine()
    migrate.downgrade(e, revision)
    typer.echo(f"database at revision {migrate.current(e)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    from gis import migrate

    typer.echo(migrate.current(engine()) or "empty")


@catalogue_app.command("load")
def catalogue_load(
    file: Annotated[Path | None, typer.Argument(help="TOML file (default: shipped)")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Write to the database.")] = False,
) -> None:
    """Load the event catalogue; without --commit only shows what would change."""
    from gis import catalogue

    e = engine()
    try:
        with e.begin() as conn:
            result = catalogue.load(conn, file)
            if not commit:
                conn.rollback()
    except WanggeError as err:
        fail(err)
    typer.echo(json.dumps(result | {"committed": commit}))
    if not commit:
        typer.echo("preview only: run again with --commit to write", err=True)


@app.command()
def locate(
    lon: Annotated[float, typer.Argument(help="Longitude")],
    lat: Annotated[float, typer.Argument(help="Latitude")],
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
) -> None:
    """Locate a point: prints one JSON object (status inside / outside / unassigned)."""
    from gis.locator import Locator

    s = settings()
    try:
        loc = Locator(engine(), s.outside_max_distance_m).locate(lon, lat, crs)
    except WanggeError as err:
        fail(err, 2)
    typer.echo(json.dumps(loc.to_dict(), ensure_ascii=False))


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from gis.api.app import create_app

    s = settings()
    uvicorn.run(create_app(s), host=host or s.api_host, port=port or s.api_port,
                log_level="info", access_log=False)


def dashboard_command(port: int, host: str) -> list[str] | None:
    """The command that runs the Streamlit dashboard, when the dashboard exists."""
    entry = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    if not entry.exists():
        return None
    return [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
            "--server.address", host, "--server.headless", "true",
            "--browser.gatherUsageStats", "false"]


@app.command()
def dashboard(port: Annotated[int | None, typer.Option(help="Dashboard port")] = None,
              host: Annotated[str | None, typer.Option(help="Bind address")] = None) -> None:
    """Run the commanders' live map alone."""
    s = settings()
    cmd = dashboard_command(port or s.dashboard_port, host or s.api_host)
    if cmd is None:
        typer.echo("the dashboard is not installed", err=True)
        raise typer.Exit(1)
    os.execv(cmd[0], cmd)


@app.command()
def demo(
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading.")] = True,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    dashboard_port: Annotated[int | None, typer.Option(help="Dashboard port")] = None,
    reload: Annotated[bool, typer.Option("--reload", help="Load the district again.")] = False,
) -> None:
    """Load the demo district (migrations, catalogue, territory) and serve API + dashboard."""
    from gis import demo as demo_mod
    from gis import migrate

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    s = settings()
    e = engine()
    try:
        migrate.upgrade_and_grant(s)
        info = demo_mod.prepare(owner_engine(), force=reload)
    except WanggeError as err:
        fail(err)
    typer.echo(json.dumps({"demo": info}, default=str))
    if not serve_:
        return
    if s.auth_required:
        from gis import auth

        tok = auth.create_token(e, "district_centre", name="wangge demo")
        typer.echo(f"API token for this demo (district centre): {tok['token']}\n"
                   f"  curl -H 'Authorization: Bearer {tok['token']}' "
                   f"http://{s.api_host}:{port or s.api_port}/api/v1/events")
    demo_mod.supervise()  # SIGTERM, SIGHUP, Ctrl-C, exit: the dashboard stops too
    cmd = dashboard_command(dashboard_port or s.dashboard_port, s.api_host)
    if cmd is not None:
        demo_mod.spawn(cmd)
        typer.echo(f"dashboard: http://{s.api_host}:{dashboard_port or s.dashboard_port}/")
    typer.echo(f"API: http://{s.api_host}:{port or s.api_port}/docs")
    try:
        serve(port=port, host=None)
    finally:
        demo_mod.stop_children()


def _mount_optional() -> None:
    """Add the sub-commands of the packages that are installed."""
    for module, attr, name in OPTIONAL_APPS:
        mod = import_optional(module)
        sub = getattr(mod, attr, None) if mod is not None else None
        if sub is not None:
            app.add_typer(sub, name=name)


_mount_optional()


def main() -> None:
    """Console-script entry point; a statement timeout anywhere is one line on stderr, exit 1."""
    from gis.db import is_query_timeout
    from gis.errors import QueryTimeout

    try:
        app()
    except Exception as e:
        if not is_query_timeout(e):
            raise
        typer.echo(json.dumps(QueryTimeout().to_dict(), ensure_ascii=False), err=True)
        raise SystemExit(1) from None
