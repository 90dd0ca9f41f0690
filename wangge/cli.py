"""The ``wangge`` command: gis's commands, boundaries, etl, and serving the platform."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

import boundaries.cli
import etl.cli
from gis.cli import alerts as alerts_cli
from gis.cli import core
from gis.cli import exports as exports_cli
from gis.cli import users as users_cli
from gis.cli import workflow as workflow_cli
from gis.cli.core import engine, fail, owner_engine, settings
from gis.errors import WanggeError

app = typer.Typer(help="Wangge 网格: grid governance on PostGIS.", no_args_is_help=True,
                  add_completion=False)
app.add_typer(core.app)  # db, catalogue, locate
app.add_typer(boundaries.cli.app, name="boundaries")
app.add_typer(etl.cli.app, name="etl")
app.add_typer(workflow_cli.report_app, name="report")
app.add_typer(workflow_cli.token_app, name="token")
app.add_typer(workflow_cli.events_app, name="events")
app.add_typer(workflow_cli.patrols_app, name="patrols")
app.add_typer(users_cli.app, name="user")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(exports_cli.app, name="export")


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="API processes, each on its own SO_REUSEPORT socket "
        "(default WANGGE_API_WORKERS, 1)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from wangge.app import create_app
    from wangge.workers import serve as serve_workers

    s = settings()
    host, port, n = host or s.api_host, port or s.api_port, workers or s.api_workers
    if n > 1:
        try:
            rc = serve_workers("wangge.main:app", host, port, n)
        except WanggeError as e:
            fail(e, 2)
        raise typer.Exit(rc)
    uvicorn.run(create_app(s), host=host, port=port, log_level="info", access_log=False)


def dashboard_command(port: int, host: str,
                      max_upload_bytes: int | None = None) -> list[str] | None:
    """The command that runs the Streamlit dashboard, when the dashboard exists; its uploads
    limited to the platform's WANGGE_MAX_UPLOAD_BYTES (Streamlit counts whole MiB)."""
    entry = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    if not entry.exists():
        return None
    limit = max_upload_bytes if max_upload_bytes is not None else settings().max_upload_bytes
    return [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
            "--server.address", host, "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
            "--server.maxUploadSize", str(max(1, limit // 2**20))]


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
    from gis.db import migrate
    from wangge import demo as demo_mod

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    s = settings()
    e = engine()
    try:
        migrate.upgrade_and_grant(s)
        owner = owner_engine()
        info = demo_mod.prepare(owner, force=reload)
        owner.dispose()  # set-up done: the served platform holds no owner connection
    except WanggeError as err:
        fail(err)
    typer.echo(json.dumps({"demo": info}, default=str))
    if not serve_:
        return
    if s.auth_required:
        from gis.access import auth

        tok = auth.create_token(e, "district_centre", name="wangge demo")
        typer.echo(f"API token for this demo (district centre): {tok['token']}\n"
                   f"  curl -H 'Authorization: Bearer {tok['token']}' "
                   f"http://{s.api_host}:{port or s.api_port}/api/v1/events")
    base = f"http://{s.api_host}:{port or s.api_port}"
    acct = demo_mod.field_account(e)
    if acct is not None:  # shown once, on the operator's terminal only (never logged)
        typer.echo(f"field app (phone): {base}/m/  user {acct.username}, one-time password "
                   f"{acct.password} (the app asks for a new one)")
    typer.echo(f"resident page (phone): {base}/r/")
    demo_mod.supervise()  # SIGTERM, SIGHUP, Ctrl-C, exit: the dashboard stops too
    cmd = dashboard_command(dashboard_port or s.dashboard_port, s.api_host)
    if cmd is not None:
        demo_mod.spawn(cmd)
        typer.echo(f"dashboard: http://{s.api_host}:{dashboard_port or s.dashboard_port}/  "
                   "log-ins (one-time passwords; the first log-in asks for a new one):")
        for who, acct in demo_mod.desk_accounts(e):  # the operator's terminal only
            typer.echo(f"  {who}: user {acct.username}, password {acct.password}")
    typer.echo(f"API: http://{s.api_host}:{port or s.api_port}/docs")
    try:
        serve(port=port, host=None)
    finally:
        demo_mod.stop_children()


def main() -> None:
    """Console-script entry point; a statement timeout anywhere is one line on stderr, exit 1."""
    from gis.db.engine import is_query_timeout
    from gis.errors import QueryTimeout

    try:
        app()
    except Exception as e:
        if not is_query_timeout(e):
            raise
        typer.echo(json.dumps(QueryTimeout().to_dict(), ensure_ascii=False), err=True)
        raise SystemExit(1) from None
