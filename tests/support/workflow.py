"""Shared helpers of the workflow tests (no tests here)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from gis.access.auth import Principal
from gis.intake import events, patrols
from gis.territory.locator import Locator

CENTRE = Principal("district_centre", name="centre")
G1, G2 = "320508001001001", "320508001001002"      # community 320508001001, street 320508001
G_OTHER_COMMUNITY = "320508001002001"              # same street, other community
G_OTHER_STREET = "320508002001001"                 # other street
W1, W2 = "W" + G1, "W" + G2
LEADER = "L320508001001"                           # grid leader of G1..G4


def grid_point(engine: Engine, grid: str) -> tuple[float, float]:
    """A point deep inside a grid's first unit (centre of its largest inscribed circle)."""
    return unit_point(engine, grid + "001")


def unit_point(engine: Engine, unit: str) -> tuple[float, float]:
    """The centre of the largest circle inside a unit of the active generation."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT (ST_MaximumInscribedCircle(u.geom)).center AS c "
            "FROM unit u JOIN generation g ON g.id = u.generation_id AND g.status = 'active' "
            "WHERE u.code = :c) s"), {"c": unit}).one()
    return float(row[0]), float(row[1])


def report(engine: Engine, loc: Locator, item: str, grid: str, *, source: str = "worker",
           reporter: str | None = None, reported_at: datetime | None = None,
           offset_m: float = 0.0, unit: str | None = None) -> int:
    """Store one report at a point of ``grid`` (shifted east by ``offset_m``); returns its id."""
    lon, lat = unit_point(engine, unit) if unit else grid_point(engine, grid)
    lon += offset_m / 95_000.0
    _s, stored, _r = events.ingest(engine, loc, [events.Report(
        item=item, source=source, lon=lon, lat=lat, reporter=reporter,
        reported_at=reported_at)])
    return stored[0]["id"]


def row(engine: Engine, event_id: int) -> dict:
    """The event's workflow columns plus counts of its history, dispatch and points rows."""
    with engine.connect() as conn:
        r = conn.execute(text(
            "SELECT status, level, due_at, closed_at, updated_at, "
            "(SELECT count(*) FROM event_history h WHERE h.event_id = e.id) AS history, "
            "(SELECT count(*) FROM event_dispatch d WHERE d.event_id = e.id) AS dispatch, "
            "(SELECT count(*) FROM resident_points p WHERE p.event_id = e.id) AS points "
            "FROM event e WHERE id = :i"), {"i": event_id}).mappings().one()
    return dict(r)


def last_history(engine: Engine, event_id: int) -> dict:
    """The newest history row of an event, with its position."""
    with engine.connect() as conn:
        r = conn.execute(text(
            "SELECT at, action, from_status, to_status, actor, note, ST_X(geom) AS lon, "
            "ST_Y(geom) AS lat, data FROM event_history WHERE event_id = :i "
            "ORDER BY id DESC LIMIT 1"), {"i": event_id}).mappings().one()
    return dict(r)


def track(engine: Engine, loc: Locator, worker: str, unit: str, start: datetime,
          minutes: int = 10) -> None:
    """A short patrol track inside one unit (two fixes a few metres apart)."""
    lon, lat = unit_point(engine, unit)
    patrols.ingest_track(engine, loc, worker, [
        patrols.Fix(lon, lat, start),
        patrols.Fix(lon + 0.00003, lat + 0.00002, start + timedelta(minutes=minutes))])


def as_owner(engine: Engine) -> Engine:
    """The owner role's engine on the test database (TRUNCATE is not the platform's right)."""
    import os

    from gis.db.engine import get_engine
    from gis.settings import Settings

    url = os.environ.get("WANGGE_OWNER_DATABASE_URL")  # set by the settings fixture
    return get_engine(Settings(database_url=url)) if url else engine


def clear_workflow(engine: Engine) -> None:
    """Empty the workflow tables not reached by the core TRUNCATE ... CASCADE."""
    with as_owner(engine).begin() as conn:
        conn.execute(text("TRUNCATE api_token, audit_log, patrol_duty RESTART IDENTITY"))
        conn.execute(text("UPDATE duplicate_config SET distance_m = 100, window_h = 24, "
                          "enabled = true"))


def bearer(engine: Engine, role: str, area: str | None = None, worker: str | None = None,
           name: str = "", department: str | None = None) -> dict[str, str]:
    """The Authorization header of a new token of ``role``."""
    from gis.access import auth

    t = auth.create_token(engine, role, area, worker, name, department=department)["token"]
    return {"Authorization": f"Bearer {t}"}
