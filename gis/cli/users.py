"""``wangge user create | reset | disable``: accounts of people who log in (gis.access.accounts).

A new or reset password is printed once on stdout (for the person to change at first log-in);
nothing else about it is printed or logged.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gis.access.accounts import OneTimePassword
from gis.errors import WanggeError

app = typer.Typer(help="Accounts of people who log in (user name + password).",
                  no_args_is_help=True)


def _engine():
    """The configured engine (via gis.cli.core, for its friendly configuration errors)."""
    from gis.cli.core import engine

    return engine()


def _fail(err: Exception) -> None:
    """Print the error as JSON and exit 1."""
    from gis.cli.core import fail

    fail(err)


def _show(otp: OneTimePassword, what: str) -> None:
    """The one-time password on stdout, once; what happened on stderr."""
    typer.echo(otp.password)
    typer.echo(f"account #{otp.id} {otp.username}: {what}; the password above is shown once "
               "and must be changed at first log-in", err=True)


@app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Worker code or phone number.")],
    role: Annotated[str, typer.Option(help="grid_worker | community_dispatcher | "
                                      "street_dispatcher | district_centre | planner | "
                                      "department")],
    area: Annotated[str | None, typer.Option(help="Area code the account acts on.")] = None,
    worker: Annotated[str | None, typer.Option(help="Worker code (grid workers).")] = None,
    department: Annotated[str | None, typer.Option(
        help="Department code of the dispatch rules (role department).")] = None,
) -> None:
    """Create an account and print its one-time initial password."""
    from gis.access import accounts

    try:
        otp = accounts.create_account(_engine(), username, role, area, worker, department)
    except WanggeError as e:
        _fail(e)
        raise
    _show(otp, f"created, role {role}")


@app.command("reset")
def user_reset(username: Annotated[str, typer.Argument()]) -> None:
    """Give an account a new one-time password (lifts a lock, ends its sessions)."""
    from gis.access import accounts

    try:
        otp = accounts.reset_password(_engine(), username)
    except WanggeError as e:
        _fail(e)
        raise
    _show(otp, "password reset")


@app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account and end its sessions."""
    from gis.access import accounts

    try:
        aid = accounts.disable_account(_engine(), username)
    except WanggeError as e:
        _fail(e)
        raise
    typer.echo(f"account #{aid} {username}: disabled")
