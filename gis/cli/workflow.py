"""``wangge report | token | events | patrols``: the workflow from the command line."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer

from gis.access.auth import Principal
from gis.clock import MAX_DAYS, parse_day, parse_time
from gis.errors import InvalidInput, WanggeError

report_app = typer.Typer(help="Reports: monthly assessment (考核).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (roles and areas).", no_args_is_help=True)
events_app = typer.Typer(help="Event workflow: transitions, escalation, duplicates.",
                         no_args_is_help=True)
patrols_app = typer.Typer(help="Patrols: coverage, unvisited units, reminders.",
                          no_args_is_help=True)


def _engine():
    """The configured engine (via gis.cli.core, for its friendly configuration errors)."""
    from gis.cli.core import engine

    return engine()


def _calendar():
    """The district calendar of the configured settings (WANGGE_CALENDAR_FILE)."""
    from gis import calendar
    from gis.cli.core import settings

    return calendar.district(settings())


def _fail(err: Exception) -> None:
    """Print the error as JSON and exit 1."""
    from gis.cli.core import fail

    fail(err)


def _out(obj: object) -> None:
    """Print JSON."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str, indent=1))


def _when(value: str | None, name: str) -> datetime | None:
    """ISO time → aware datetime (naive = UTC+8, as in the API; gis.clock); exits 1 when bad."""
    try:
        return parse_time(value, name)
    except InvalidInput as e:
        _fail(e)
        raise


def _cli_principal(actor: str | None) -> Principal:
    """The command line acts as the district centre, named after --actor or $USER."""
    return Principal("district_centre", name=actor or f"cli:{os.environ.get('USER', 'admin')}",
                     worker_code=None)


def _expires(value: str | None, now: datetime | None = None) -> datetime | None:
    """--expires: a number of days from now (``30``, ``0.5``) or an ISO time (naive = UTC+8)."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    try:
        days = float(value)
    except ValueError:
        t = _when(value, "expires")
        assert t is not None
        if t <= now:
            raise InvalidInput.field("expires", f"{value} is in the past", "expired") from None
        return t
    if not 0 < days <= 36_500:
        raise InvalidInput.field("expires", "days must be > 0 (and at most 36500)",
                                 "out_of_range")
    return now + timedelta(days=days)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="grid_worker | community_dispatcher | "
                                      "street_dispatcher | district_centre | planner | "
                                      "department")],
    area: Annotated[str | None, typer.Option(help="Area code the token acts on.")] = None,
    worker: Annotated[str | None, typer.Option(help="Worker code (grid workers).")] = None,
    department: Annotated[str | None, typer.Option(
        help="Department code of the dispatch rules (role department).")] = None,
    expires: Annotated[str | None, typer.Option(
        help="Expiry: DAYS from now (e.g. 30) or an ISO time (naive = UTC+8). "
             "Default: never.")] = None,
    name: Annotated[str, typer.Option(help="A label.")] = "",
) -> None:
    """Create a token and print it (shown once; only its hash is stored)."""
    from gis.access import auth

    try:
        t = auth.create_token(_engine(), role, area, worker, name, _expires(expires),
                              department)
    except WanggeError as e:
        _fail(e)
    typer.echo(t["token"])
    typer.echo(f"token #{t['id']}: role {role}" + (f", area {area}" if area else "")
               + (f", worker {worker}" if worker else "")
               + (f", department {department}" if department else "")
               + (f", expires {t['expires_at'].isoformat()}" if t["expires_at"] else
                  ", never expires"), err=True)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from gis.access import auth

    _out(auth.list_tokens(_engine()))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument()]) -> None:
    """Revoke a token."""
    from gis.access import auth

    _out({"revoked": auth.revoke_token(_engine(), token_id)})


@events_app.command("transition")
def events_transition(
    event_id: Annotated[int, typer.Argument()],
    action: Annotated[str, typer.Argument(help="accept | reject | mark_duplicate | dispatch | "
                                          "start | resolve | close | reopen | escalate | "
                                          "whistle")],
    note: Annotated[str | None, typer.Option()] = None,
    actor: Annotated[str | None, typer.Option(help="Name recorded in history.")] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    crs: Annotated[str, typer.Option()] = "wgs84",
    level: Annotated[str | None, typer.Option(help="dispatch / escalate target level")] = None,
    department: Annotated[list[str] | None, typer.Option(help="Notify (repeatable).")] = None,
    original: Annotated[int | None, typer.Option(help="mark_duplicate: original id")] = None,
    now: Annotated[str | None, typer.Option(help="ISO time (replays)")] = None,
) -> None:
    """Apply one action to an event (as the district centre)."""
    from gis.workflow import transitions as workflow

    try:
        res = workflow.transition(_engine(), event_id, action, _cli_principal(actor), note=note,
                                  lon=lon, lat=lat, crs=crs, now=_when(now, "now"), level=level,
                                  departments=department or None, original_id=original,
                                  cal=_calendar())
    except WanggeError as e:
        _fail(e)
    _out(res)


@events_app.command("escalate")
def events_escalate(now: Annotated[str | None, typer.Option(help="ISO time (default now)")]
                    = None) -> None:
    """Scheduler: overdue events climb one level. Safe to run twice or concurrently."""
    from gis.workflow import escalation

    try:
        done = escalation.escalate_overdue(_engine(), _when(now, "now"), cal=_calendar())
    except WanggeError as e:
        _fail(e)
    _out({"escalated": len(done), "events": [
        {k: d[k] for k in ("id", "from_level", "to_level", "area", "departments", "due_at")}
        for d in done]})


@events_app.command("overdue")
def events_overdue(area: Annotated[str | None, typer.Option()] = None,
                   now: Annotated[str | None, typer.Option()] = None) -> None:
    """Open events past their due time."""
    from gis.workflow import escalation

    _out(escalation.overdue(_engine(), _when(now, "now"), area))


@events_app.command("show")
def events_show(event_id: Annotated[int, typer.Argument()]) -> None:
    """An event's workflow: allowed actions, dispatch records, duplicate links."""
    from gis.workflow import transitions as workflow

    try:
        _out(workflow.workflow_view(_engine(), event_id))
    except WanggeError as e:
        _fail(e)


@events_app.command("duplicates")
def events_duplicates(status: Annotated[str, typer.Option()] = "possible") -> None:
    """Possible duplicate links waiting for a dispatcher."""
    from gis.workflow import duplicates

    try:
        _out(duplicates.links(_engine(), status))
    except WanggeError as e:
        _fail(e)


@events_app.command("duplicate-window")
def events_duplicate_window(
    distance_m: Annotated[float | None, typer.Option()] = None,
    window_h: Annotated[float | None, typer.Option()] = None,
) -> None:
    """Show or change the duplicate detection distance and time window."""
    from gis.workflow import duplicates

    e = _engine()
    try:
        if distance_m is None and window_h is None:
            _out(duplicates.get_config(e))
        else:
            _out(duplicates.set_config(e, _cli_principal(None), distance_m, window_h))
    except WanggeError as err:
        _fail(err)


@events_app.command("rules")
def events_rules(item: Annotated[str | None, typer.Option(help="Preview one item")] = None,
                 level: Annotated[str | None, typer.Option()] = None) -> None:
    """The dispatch rules (or what dispatching one item would do)."""
    from gis import rulebook
    from gis.workflow import dispatch

    try:
        if item:
            with _engine().connect() as conn:
                _out(dispatch.preview(conn, item, level))
        else:
            _out(rulebook.rules().to_dict())
    except WanggeError as e:
        _fail(e)


def _day(value: str | None) -> date | None:
    """YYYY-MM-DD → date (gis.clock); exits 1 when bad."""
    try:
        return parse_day(value, "date")
    except InvalidInput as e:
        _fail(e)
        raise


@patrols_app.command("reminders")
def patrols_reminders(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
    worker: Annotated[str | None, typer.Option()] = None,
    area: Annotated[str | None, typer.Option()] = None,
    days: Annotated[int | None, typer.Option(help="Unvisited for N days", min=0,
                                             max=MAX_DAYS)] = None,
) -> None:
    """Per worker: patrols due today and units not visited for N days."""
    from gis.oversight import coverage

    try:
        _out(coverage.reminders(_engine(), _day(day), worker, area, days))
    except WanggeError as e:
        _fail(e)


@patrols_app.command("coverage")
def patrols_coverage(
    since: Annotated[str, typer.Option(help="ISO time")],
    until: Annotated[str, typer.Option(help="ISO time")],
    area: Annotated[str | None, typer.Option()] = None,
    worker: Annotated[str | None, typer.Option()] = None,
    distance_m: Annotated[float | None, typer.Option()] = None,
) -> None:
    """Units passed within D metres by tracks in the period."""
    from gis.oversight import coverage

    try:
        _out(coverage.coverage(_engine(), _when(since, "since"), _when(until, "until"), area,
                               distance_m, worker))
    except WanggeError as e:
        _fail(e)


@patrols_app.command("unvisited")
def patrols_unvisited(days: Annotated[int | None, typer.Option(min=0, max=MAX_DAYS)] = None,
                      area: Annotated[str | None, typer.Option()] = None) -> None:
    """Units not visited for N days."""
    from gis.oversight import coverage

    try:
        _out(coverage.unvisited(_engine(), days, datetime.now(UTC), area))
    except WanggeError as e:
        _fail(e)


@patrols_app.command("duty")
def patrols_duty(grid: Annotated[str, typer.Argument()],
                 per_day: Annotated[int, typer.Argument()]) -> None:
    """Set a grid's daily patrol duty."""
    from gis.oversight import coverage

    try:
        _out(coverage.set_duty(_engine(), _cli_principal(None), grid, per_day))
    except WanggeError as e:
        _fail(e)


@report_app.command("assessment")
def report_assessment(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV instead of JSON.")] = False,
    area: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Per worker and grid: found, handled within limit, overdue, coverage; resident points."""
    from gis.oversight import assessment

    try:
        result = assessment.assess(_engine(), month, area)
    except WanggeError as e:
        _fail(e)
    if csv:
        typer.echo(assessment.to_csv(result), nl=False)
    else:
        _out(result)
