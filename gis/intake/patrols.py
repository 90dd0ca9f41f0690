"""Patrol tracks: a worker's GPS fixes stored as a LineStringM (M = epoch seconds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.db.queries import q
from gis.errors import InvalidInput, UnknownReference
from gis.geo.datum import to_wgs84
from gis.territory.locator import Locator, check_coordinates, datum_or_error

SQL = "patrols.sql"
PKG = "gis.intake.sql"


@dataclass
class Fix:
    """One GPS fix."""

    lon: float
    lat: float
    t: datetime


class TrackStored(TypedDict):
    """A stored patrol track: its length and main grid (``ingest_track``)."""

    id: int
    uid: str
    worker: str
    grid: str | None
    points: int
    length_m: float
    started_at: datetime
    ended_at: datetime
    crs: str


def check_fixes(fixes: list[Fix], field: str = "points") -> None:
    """InvalidInput naming ``field[i].lon/lat/t``: bad coordinates, times going backwards."""
    for i, f in enumerate(fixes):
        check_coordinates(f.lon, f.lat, prefix=f"{field}[{i}].")
        if i and f.t < fixes[i - 1].t:
            raise InvalidInput.field(f"{field}[{i}].t", "times must not go backwards "
                                     f"({f.t.isoformat()} < {fixes[i - 1].t.isoformat()}) "
                                     "(时间不能倒退)", "time_order")


def line_wkt(lon: list[float], lat: list[float], ms: list[float]) -> str:
    """A LINESTRING M in WKT from WGS84 coordinates and epoch seconds."""
    return "LINESTRING M (" + ", ".join(
        f"{x!r} {y!r} {m!r}" for x, y, m in zip(lon, lat, ms, strict=True)) + ")"


def main_grid(locator: Locator, lon: np.ndarray, lat: np.ndarray) -> str | None:
    """The grid most of the WGS84 positions fall in (None: none inside a grid)."""
    snap = locator.snapshot
    g, _u, _d = snap.locate_many(lon, lat, with_outside=False)
    inside = g[g >= 0]
    return snap.grid_codes[int(np.bincount(inside).argmax())] if len(inside) else None


def ingest_track(engine: Engine, locator: Locator, worker: str, fixes: list[Fix],
                 crs: str = "wgs84",
                 on_stored: Callable[[Connection, int], None] | None = None) -> TrackStored:
    """Validate, convert to WGS84 and store one track; returns its summary.

    ``on_stored(conn, track_id)`` runs inside the same transaction (e.g. the audit row).
    """
    datum = datum_or_error(crs)
    if len(fixes) < 2:
        raise InvalidInput.field("points", "a track needs at least 2 points", "short_track")
    check_fixes(fixes)
    lon, lat = to_wgs84(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]), datum)
    if len({(round(x, 9), round(y, 9)) for x, y in zip(lon, lat, strict=True)}) < 2:
        raise InvalidInput.field("points", "all points are the same place", "degenerate_track")
    ms = [f.t.timestamp() for f in fixes]
    wkt = line_wkt(lon.tolist(), lat.tolist(), ms)
    grid_code = main_grid(locator, lon, lat)
    with engine.begin() as conn:
        wid = conn.execute(q(SQL, "worker_id", PKG), {"c": worker}).scalar()
        if wid is None:
            raise UnknownReference(f"worker: no worker {worker!r}", code="unknown_worker",
                                   details=[{"field": "worker", "reason": "no such worker"}])
        row = conn.execute(q(SQL, "insert_track", PKG), {
            "w": wid, "g": grid_code, "s": fixes[0].t, "e": fixes[-1].t, "wkt": wkt,
            "crs": datum.value}).one()
        if on_stored is not None:
            on_stored(conn, row.id)
    return {"id": row.id, "uid": row.uid, "worker": worker, "grid": grid_code,
            "points": len(fixes), "length_m": round(row.length_m, 1),
            "started_at": fixes[0].t, "ended_at": fixes[-1].t, "crs": datum.value}
