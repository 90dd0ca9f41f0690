"""Events crowded into a few grids of the generated district (boundary suggestion tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from gis.intake import catalogue
from gis.intake.events import Report, ingest
from gis.territory.locator import Locator

HOT = ("320508001001001", "320508001002003", "320508002004002")  # three crowded grids


def crowd(engine: Engine, per_unit: int = 6) -> int:
    """``per_unit`` events at the centre of every unit of the ``HOT`` grids, last month;
    one old event per unit elsewhere (outside the period); returns the number in the period."""
    with engine.connect() as c:
        it = sorted(catalogue.active_items(c))[0]
        rows = c.execute(text(
            "SELECT grid_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM unit WHERE generation_id = (SELECT id FROM generation WHERE status = "
            "'active') ORDER BY code")).all()
    now = datetime.now(UTC)
    recent, old = now - timedelta(days=20), now - timedelta(days=200)
    reports = [Report(item=it, lon=x, lat=y, reported_at=recent)
               for g, x, y in rows if g in HOT for _ in range(per_unit)]
    reports += [Report(item=it, lon=x, lat=y, reported_at=old) for g, x, y in rows
                if g not in HOT]
    loc = Locator(engine)
    for k in range(0, len(reports), 200):
        ingest(engine, loc, reports[k:k + 200])
    return sum(1 for r in reports if r.reported_at == recent)
