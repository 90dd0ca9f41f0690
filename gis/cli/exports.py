"""``wangge export events | assessment``: the exports (gis.oversight.exports) as files.

The command line is the operator's tool on the server: like the other commands it reads as
the district centre (every area); ``--area`` narrows the export to a street, community or grid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gis.clock import MAX_DAYS, parse_time
from gis.errors import InvalidInput, WanggeError

app = typer.Typer(help="Exports (导出): events and the assessment as Excel or CSV.",
                  no_args_is_help=True)
Out = Annotated[Path, typer.Option("--out", help="File to write (.xlsx or .csv).")]
Format = Annotated[str | None, typer.Option(
    "--format", help="xlsx or csv (default: from --out's suffix, else xlsx).")]
Area = Annotated[str | None, typer.Option(help="Street, community or grid code.")]


def _format(fmt: str | None, out: Path) -> str:
    """The format asked for, else the one of the file's suffix, else xlsx."""
    if fmt is not None:
        return fmt
    return "csv" if out.suffix.lower() == ".csv" else "xlsx"


def _listed(values: list[str] | None) -> tuple[str, ...]:
    """Repeated and comma-separated option values, as one tuple."""
    return tuple(s for v in (values or []) for s in v.split(",") if s)


def _write(export, out: Path) -> None:
    """Write the file and say how many rows it holds (on stderr)."""
    out.write_bytes(export.content)
    typer.echo(f"wrote {export.rows} rows to {out} (已导出 {export.rows} 条)", err=True)


def _since(since: str | None, days: float | None) -> datetime | None:
    """--since, or --days back from now (not both)."""
    if days is None:
        return parse_time(since, "since")
    if since is not None:
        raise InvalidInput.field("days", "give --since or --days, not both", "conflict")
    if not 0 < days <= MAX_DAYS:
        raise InvalidInput.field("days", f"must be > 0 and at most {MAX_DAYS}", "out_of_range")
    return datetime.now(UTC) - timedelta(days=days)


@app.command("events")
def export_events(
    out: Out, fmt: Format = None, area: Area = None,
    since: Annotated[str | None, typer.Option(help="Reported from (ISO; naive = UTC+8).")]
    = None,
    until: Annotated[str | None, typer.Option(help="Reported before (ISO; naive = UTC+8).")]
    = None,
    days: Annotated[float | None, typer.Option(help="The last DAYS days (instead of --since).")]
    = None,
    status: Annotated[list[str] | None, typer.Option(help="Status (repeatable).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="Item or class code (repeatable).")]
    = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open events past their "
                                          "due time.")] = False,
) -> None:
    """Events as filtered, oldest first, with Chinese headers and names."""
    from gis.cli.core import engine, fail
    from gis.oversight import exports

    try:
        filt = exports.EventFilter(
            since=_since(since, days), until=parse_time(until, "until"), area=area,
            statuses=_listed(status), items=_listed(item), overdue=overdue)
        _write(exports.export_events(engine(), filt, _format(fmt, out), None), out)
    except WanggeError as e:
        fail(e)


@app.command("assessment")
def export_assessment(
    out: Out,
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    fmt: Format = None, area: Area = None,
) -> None:
    """The month's standard indicators per street, community, grid and worker."""
    from gis.cli.core import engine, fail
    from gis.oversight import exports

    try:
        _write(exports.export_assessment(engine(), month, area, _format(fmt, out)), out)
    except WanggeError as e:
        fail(e)
