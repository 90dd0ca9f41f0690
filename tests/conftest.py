"""Shared fixtures: a real PostGIS test database, migrated once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, event, make_url, text

from gis import catalogue, migrate
from gis.db import dispose_all, make_engine
from gis.settings import Settings

DATA_TABLES = (
    "event_history, event, idempotency_key, patrol_track, grid_role, worker, camera, building, "
    "area_piece, unit, grid, community, street, district, area, generation"
)


@event.listens_for(Engine, "before_cursor_execute")
def _no_bind_in_a_comment(_conn, _cursor, statement, _params, _context, _many) -> None:
    """Every statement the suite runs: a bind parameter inside a comment fails the test."""
    from test_hardening_sql_lint import binds_in_comments

    bad = binds_in_comments(statement)
    if bad:
        raise AssertionError(f"bind parameter inside an SQL comment: {bad[0]!r}")


def _test_url() -> str:
    """The test database: WANGGE_TEST_DATABASE_URL, else DATABASE_URL's server + _test name."""
    explicit = os.environ.get("WANGGE_TEST_DATABASE_URL")
    if explicit:
        return explicit
    base = Settings().database_url
    url = make_url(base)
    return url.set(database=(url.database or "wangge") + "_test").render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at the (freshly created) test database."""
    url = _test_url()
    u = make_url(url).set(drivername="postgresql+psycopg2")
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    except Exception as e:  # no server: fail loudly, never skip
        pytest.exit(f"cannot create the test database at {u.render_as_string()}: {e}", 2)
    finally:
        admin.dispose()
    s = Settings(database_url=url, locator_poll_s=0.05)
    eng = make_engine(s)
    migrate.upgrade(eng)
    with eng.begin() as conn:
        catalogue.load(conn)
    eng.dispose()
    return s


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """Engine on the test database."""
    from gis.db import get_engine

    eng = get_engine(settings)
    yield eng
    dispose_all()


@pytest.fixture()
def clean_db(engine: Engine) -> Engine:
    """Empty every data table (the catalogue stays)."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture()
def demo_district(clean_db: Engine) -> int:
    """The small generated district (2 streets, 8 communities, 32 grids, 288 units) active."""
    from gis.demo import load_synthetic

    return load_synthetic(clean_db)


@pytest.fixture()
def api(settings: Settings, clean_db: Engine):
    """A TestClient on a fresh app (no LISTEN thread; the locator polls every 50 ms)."""
    from fastapi.testclient import TestClient

    from gis import auth
    from gis.api.app import create_app

    app = create_app(settings, listen=False)
    token = auth.create_token(clean_db, "district_centre", name="tests")["token"]
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"  # the district centre by default
        yield client
