"""An empty database of a test's own beside the test database, for migrations from nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, make_url, text

from gis.db.engine import make_engine
from gis.settings import Settings


@contextmanager
def scratch_database(settings: Settings, suffix: str) -> Iterator[Engine]:
    """The empty database ``<test database>_<suffix>`` (made anew, the owner's: creating and
    migrating one is the owner's right); its engine; dropped afterwards."""
    u = make_url(settings.owner_url)
    name = f"{u.database or 'wangge'}_{suffix}"
    admin = create_engine(u.set(drivername="postgresql+psycopg2", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(settings.model_copy(update={
        "database_url": u.set(database=name).render_as_string(hide_password=False)}))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
