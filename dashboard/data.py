"""Cached loaders of the dashboard: short-TTL wrappers around ``gis.oversight.dashboard``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st
from psycopg2.errors import QueryCanceled
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError

from gis.db.engine import get_engine, get_read_engine
from gis.intake.events import OPEN_STATUSES, STATUSES
from gis.oversight import dashboard as dq
from gis.oversight.dashboard import BBox, Filters
from gis.settings import Settings

Scope = tuple[str, ...] | None  # code prefixes the viewer may see (None: everything)
TTL_S = 3  # live data: a little under the refresh period
STATIC_TTL_S = 60  # boundaries and filter options change rarely
COVERAGE_TTL_S = 30  # patrol tracks arrive as patrols end: not recounted at every refresh
FOLD_EVERY_S = 10  # the live map folds the tally's appended changes at most this often
KEEP_START_EVERY_S = 600  # and asks for its window's start hour (dropped 2 h after built)
EMPTY_HINT = "no data yet: run `wangge demo`"
TODAY = "today"  # since 00:00 China Standard Time: the desk's working day, the default
WINDOWS: dict[str, timedelta | None] = {
    TODAY: None, "last 24 hours": timedelta(hours=24), "last 7 days": timedelta(days=7),
    "last 30 days": timedelta(days=30), "last 365 days": timedelta(days=365), "all time": None,
}
__all__ = ["OPEN_STATUSES", "STATUSES", "DatabaseUnavailable", "Filters", "BBox"]


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says why (no traceback for the user)."""


def database_url() -> str:
    """The configured database URL, read at run time."""
    return Settings().database_url


def _engine(url: str) -> Engine:
    """The shared engine of ``url``: the primary (writes, and reads that must see them)."""
    return get_engine(Settings(database_url=url))


def _read_engine(url: str) -> Engine:
    """The engine of the dashboard's data reads: the replica (WANGGE_READ_DATABASE_URL)
    while it is up and close behind, else ``url``'s (``get_read_engine``)."""
    return get_read_engine(Settings(database_url=url))


def _call(fn, *args: Any, **kw: Any) -> Any:
    """Run a query function, turning connection failures into ``DatabaseUnavailable``."""
    try:
        return fn(*args, **kw)
    except (OperationalError, TimeoutError) as e:
        raise DatabaseUnavailable(_reason(e)) from None
    except DBAPIError as e:
        if e.connection_invalidated:
            raise DatabaseUnavailable(_reason(e)) from None
        raise


# why a read failed while the database still answers (a message id: the pages translate it)
TIMED_OUT = "a query took too long and was cancelled (statement timeout)"


def _reason(e: Exception) -> str:
    """One readable line from a driver error (``TIMED_OUT`` for a cancelled statement)."""
    orig = getattr(e, "orig", None) or e
    if isinstance(orig, QueryCanceled):
        return TIMED_OUT
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def since_for(window: str, now: datetime | None = None) -> datetime:
    """Start of a named time window ("today": 00:00 China Standard Time)."""
    if window == TODAY:
        return dq.today_start(now)
    delta = WINDOWS.get(window)
    if delta is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)  # stable cache keys
    return now - delta


def ping(url: str) -> bool:
    """True when the database answers."""
    try:
        dq.ping(_engine(url))
        return True
    except Exception:
        return False


_folded_at = {"t": float("-inf")}  # when this process last folded the tally
_kept_starts: dict[object, float] = {}  # start hours this process had kept, and when


def fold_tally(url: str, filters: dq.Filters | None = None) -> None:
    """Fold the changes the event triggers append (reports, moves, closures) into the live
    map's tally, on the primary, at most every ``FOLD_EVERY_S`` per process (one folder at a
    time; the others skip): the map's reads then sum few appended rows, not every change of
    the window. With ``filters``, their window's start hour is kept too (once, then again
    every ``KEEP_START_EVERY_S``; a new one each hour for "the last N days"), so the window
    reads one row per cell and grid. The primary out of reach: skipped (the reads may still
    reach a replica)."""
    now = time.monotonic()
    hs = dq.tally_start(filters) if filters is not None else None
    try:
        if hs is not None and now - _kept_starts.get(hs, float("-inf")) >= KEEP_START_EVERY_S:
            _call(dq.keep_tally_start, _engine(url), filters)
            for old in [k for k, t in list(_kept_starts.items())
                        if now - t >= KEEP_START_EVERY_S]:
                _kept_starts.pop(old, None)  # sessions share it from several threads
            _kept_starts[hs] = now
        if now - _folded_at["t"] >= FOLD_EVERY_S:
            _folded_at["t"] = now
            _call(dq.compact_tally, _engine(url))
    except DatabaseUnavailable:
        return


@st.cache_data(ttl=STATIC_TTL_S, show_spinner=False)
def extent(url: str, scope: Scope = None) -> dict[str, Any] | None:
    """Extent of the active grids in ``scope`` (None: no district loaded, or none there)."""
    return _call(dq.extent, _read_engine(url), scope)


@st.cache_data(ttl=STATIC_TTL_S, show_spinner=False)
def filter_options(url: str, scope: Scope = None) -> dict[str, Any]:
    """Streets, communities, grids and event classes (areas limited to ``scope``)."""
    out = dict(_call(dq.filter_options, _read_engine(url)))
    if scope is not None:
        for level in ("street", "community", "grid"):
            out[level] = [a for a in out[level] if _overlaps(a["code"], scope)]
    return out


def _overlaps(code: str, scope: tuple[str, ...]) -> bool:
    """True when an area lies in the scope or contains part of it (its street, for example)."""
    return any(code.startswith(p) or p.startswith(code) for p in scope)


@st.cache_data(ttl=STATIC_TTL_S, show_spinner=False)
def grids(url: str, scope: Scope = None) -> list[dict[str, Any]]:
    """Active grids (in ``scope``) with their responsible worker."""
    return _call(dq.grids, _read_engine(url), scope)


@st.cache_data(ttl=STATIC_TTL_S, show_spinner=False)
def units(url: str, bbox: BBox, zoom: int | None = None,
          scope: Scope = None) -> list[dict[str, Any]]:
    """Minimal units in view (in grids of ``scope``; outlines simplified to the zoom)."""
    return _call(dq.units, _read_engine(url), bbox, zoom=zoom, scope=scope)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def event_bins(url: str, filters: Filters, bbox: BBox, zoom: int) -> dict[str, Any]:
    """Server-side heat bins of the events in view."""
    return _call(dq.event_bins, _read_engine(url), filters, bbox, zoom)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def event_summary(url: str, filters: Filters) -> dict[str, int]:
    """Total / open / overdue events matching the filters."""
    return _call(dq.event_summary, _read_engine(url), filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def events(url: str, filters: Filters, bbox: BBox | None = None,
           limit: int = dq.EVENT_POINT_LIMIT) -> list[dict[str, Any]]:
    """Individual events, newest first."""
    return _call(dq.events, _read_engine(url), filters, bbox, limit)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def overdue(url: str, filters: Filters) -> list[dict[str, Any]]:
    """Open events past their time limit (any report date), most late first."""
    return _call(dq.overdue, _read_engine(url), filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def cameras_in_view(url: str, bbox: BBox, scope: Scope = None) -> list[dict[str, Any]]:
    """Cameras in view (in ``scope``)."""
    return _call(dq.cameras_in_view, _read_engine(url), bbox, scope=scope)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def camera_layer(url: str, bbox: BBox, zoom: int, scope: Scope = None) -> dict[str, Any]:
    """Cameras in view (in ``scope``): server-side clusters at low zoom, each camera when
    zoomed in."""
    return _call(dq.camera_layer, _read_engine(url), bbox, zoom, scope=scope)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def cameras_near_event(url: str, event_id: int, radius_m: float,
                       scope: Scope = None) -> list[dict[str, Any]]:
    """Cameras near one event (in ``scope``), nearest first."""
    return _call(dq.cameras_near_event, _read_engine(url), event_id, radius_m, scope=scope)


@st.cache_data(ttl=COVERAGE_TTL_S, show_spinner=False)
def patrol_coverage(url: str, since: datetime, radius_m: float, lat: float,
                    scope: Scope = None) -> dict[str, dict[str, Any]]:
    """Patrol coverage per grid (grids in ``scope``)."""
    cov = _call(dq.patrol_coverage, _read_engine(url), since, None, radius_m, lat)
    if scope is None:
        return cov
    return {code: c for code, c in cov.items() if code.startswith(scope)}


@st.cache_data(ttl=TTL_S, show_spinner=False)
def tracks(url: str, since: datetime, scope: Scope = None) -> list[dict[str, Any]]:
    """Patrol tracks since ``since`` (in grids of ``scope``)."""
    rows = _call(dq.tracks, _read_engine(url), since)
    if scope is None:
        return rows
    return [r for r in rows if (r["grid_code"] or "").startswith(scope)]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def grid_stats(url: str, since: datetime, radius_m: float,
               scope: Scope = None) -> list[dict[str, Any]]:
    """Per-grid events, coverage and people (grids in ``scope``)."""
    return _call(dq.grid_stats, _read_engine(url), since, radius_m, scope)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def worker_stats(url: str, since: datetime, scope: Scope = None) -> list[dict[str, Any]]:
    """Per-worker reports and patrols (workers holding a role in ``scope``)."""
    rows = _call(dq.worker_stats, _read_engine(url), since)
    if scope is None:
        return rows
    return [r for r in rows if any(
        p.split(" ")[-1].startswith(scope) for p in (r["roles"] or "").split(", ") if p)]
