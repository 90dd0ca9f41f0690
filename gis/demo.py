"""The demo district: a territory, its roster and the catalogue, loaded in one go."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from gis import catalogue, migrate, people, synthetic, territory

log = logging.getLogger(__name__)


def load_synthetic(engine: Engine, layout: synthetic.Layout | None = None,
                   bounds: tuple[float, float, float, float] | None = None,
                   description: str = "generated demo district") -> int:
    """Load a generated district as a new active generation, with its roster; returns its id."""
    areas = synthetic.generate(layout=layout or synthetic.Layout(),
                               **({"bounds": bounds} if bounds else {}))
    entries = synthetic.roster(areas, leader_only_every=5)
    since = datetime.now(UTC) - timedelta(days=365)
    with engine.begin() as conn:
        gen = territory.create_generation(conn, description, source="synthetic")
        territory.insert_areas(conn, gen, areas)
        territory.activate_generation(conn, gen)
        ids = people.upsert_workers(conn, [(e.worker_code, e.name, e.phone) for e in entries])
        people.assign_roles(conn, [(ids[e.worker_code], e.area_code, e.role, since)
                                   for e in entries])
    return gen


def has_territory(engine: Engine) -> bool:
    """True when an active generation exists."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM generation WHERE status = 'active'")
                            ).scalar_one() > 0


def prepare(engine: Engine, force: bool = False) -> dict:
    """Migrate, load the catalogue and — unless one is active already — the demo district."""
    migrate.upgrade(engine)
    with engine.begin() as conn:
        cat = catalogue.load(conn)
    loaded = None
    if force or not has_territory(engine):
        loaded = load_district(engine)
    return {"catalogue": cat, "generation": loaded}


def load_district(engine: Engine) -> int:
    """The best demo district available: the ETL-drawn Suzhou block, else a generated one."""
    try:
        from etl import demo as etl_demo  # provided by the ETL package once it exists
    except ImportError:
        etl_demo = None
    if etl_demo is not None and hasattr(etl_demo, "load_demo"):
        return etl_demo.load_demo(engine)
    return load_synthetic(engine)
