"""The core commands (db, catalogue, locate) and the helpers every command uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gis.errors import WanggeError
from gis.settings import Settings

app = typer.Typer(help="Core commands.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
catalogue_app = typer.Typer(help="Event catalogue (classes and items).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalogue_app, name="catalogue")

def settings() -> Settings:
    """Settings from the environment, with a readable message when they are bad."""
    try:
        return Settings()
    except Exception as e:  # pydantic ValidationError
        typer.echo(f"configuration error: {e}", err=True)
        raise typer.Exit(2) from None


def engine():
    """The engine for the configured database."""
    from gis.db.engine import get_engine

    return get_engine(settings())


def owner_engine():
    """The engine for the owner role (migrations, loads that need DDL)."""
    from gis.db.engine import get_engine

    return get_engine(settings().as_owner())


# What to type, by error code: domain messages name fields and values, the command line adds its
# flags and commands here.
HINTS = {
    "no_generation": "give --generation",
    "department_required": "give --department CODE",
    "area_required": "give --area CODE (a grid worker: --area GRID or --worker CODE)",
    "no_buildings": "load some with `wangge etl buildings FILE --commit`",
    "no_territory": "draw one first with `wangge etl units --all --district CODE --commit`",
}


def error_body(err: WanggeError) -> dict:
    """The JSON body of a typed error, its message followed by the command line's hint."""
    body = err.to_dict()
    hint = HINTS.get(err.code)
    if hint:
        body["error"]["message"] = f"{err.message}; {hint}"
    return body


def fail(err: Exception, code: int = 1) -> None:
    """Print an error as JSON on stderr and exit."""
    if isinstance(err, WanggeError):
        typer.echo(json.dumps(error_body(err), ensure_ascii=False), err=True)
    else:
        typer.echo(json.dumps({"error": {"code": type(err).__name__, "message": str(err)}}),
                   err=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database up as the owner role, then grant the platform's role its rights."""
    from gis.db import migrate

    rev = migrate.upgrade_and_grant(settings(), revision)
    typer.echo(f"database at revision {rev}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "base",
                 yes: Annotated[bool, typer.Option("--yes", help="Really drop data.")] = False,
                 ) -> None:
    """Migrate the database down (default: drop everything Wangge created)."""
    from gis.db import migrate

    if not yes:
        typer.echo("downgrade drops tables and their data; add --yes to do it", err=True)
        raise typer.Exit(1)
    e = owner_engine()
    migrate.downgrade(e, revision)
    typer.echo(f"database at revision {migrate.current(e)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    from gis.db import migrate

    typer.echo(migrate.current(engine()) or "empty")


@catalogue_app.command("load")
def catalogue_load(
    file: Annotated[Path | None, typer.Argument(help="TOML file (default: shipped)")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Write to the database.")] = False,
) -> None:
    """Load the event catalogue; without --commit only shows what would change."""
    from gis.intake import catalogue

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
    lon: Annotated[float | None, typer.Argument(help="Longitude")] = None,
    lat: Annotated[float | None, typer.Argument(help="Latitude")] = None,
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09 | cgcs2000")] = "wgs84",
    building_id: Annotated[str | None, typer.Option(help="Building id or source id.")] = None,
    address: Annotated[str | None, typer.Option(help="A building's address.")] = None,
) -> None:
    """Locate a point, a building or an address: prints one JSON object (as GET /api/v1/locate)."""
    from gis.territory.locate import Place, locate_place
    from gis.territory.locator import Locator

    s = settings()
    try:
        loc = locate_place(Locator(engine(), s.outside_max_distance_m),
                           Place(lon, lat, crs, building_id, address))
    except WanggeError as err:
        fail(err, 2)
    typer.echo(json.dumps(loc.to_dict(), ensure_ascii=False))
