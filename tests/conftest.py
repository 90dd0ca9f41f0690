"""Shared fixtures: a real PostGIS test database, migrated once per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, event, make_url, text
from support.db import empty_every_table

from gis.db import migrate
from gis.db.engine import dispose_all, make_engine
from gis.intake import catalogue
from gis.settings import Settings


@event.listens_for(Engine, "before_cursor_execute")
def _no_bind_in_a_comment(_conn, _cursor, statement, _params, _context, _many) -> None:
    """Every statement the suite runs: a bind parameter inside a comment fails the test."""
    from support.sqllint import binds_in_comments

    bad = binds_in_comments(statement)
    if bad:
        raise AssertionError(f"bind parameter inside an SQL comment: {bad[0]!r}")


BROWSER = "tests/browser/"  # node ids use "/" on every platform


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup``: each file's tests on one worker, and
    every browser test on one worker, one after another (two browsers, each with its own API,
    dashboard and Chromium, on two cores starved each other into timeouts)."""
    for item in items:
        path = item.nodeid.split("::")[0]
        group = "browser" if path.startswith(BROWSER) else path
        item.add_marker(pytest.mark.xdist_group(group))


def _test_db(url: str, database: str | None = None) -> str:
    """``url`` on the test database (``database``, else its own name + ``_test``)."""
    u = make_url(url)
    return u.set(database=database or (u.database or "wangge") + "_test").render_as_string(
        hide_password=False)


def _test_urls() -> tuple[str, str]:
    """(platform role, owner role) URLs of the test database.

    WANGGE_TEST_DATABASE_URL / WANGGE_TEST_OWNER_DATABASE_URL, else DATABASE_URL's and the
    owner URL's server with the database name + ``_test``; under pytest-xdist each worker
    gets its own database (the name + ``_gw0``, ``_gw1``, …).
    """
    base = Settings()
    app = os.environ.get("WANGGE_TEST_DATABASE_URL") or _test_db(base.database_url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        app = _test_db(app, f"{make_url(app).database}_{worker}")
    owner = os.environ.get("WANGGE_TEST_OWNER_DATABASE_URL") or base.owner_url
    return app, _test_db(owner, make_url(app).database)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at the (freshly created) test database, with both roles."""
    url, owner_url = _test_urls()
    u = make_url(owner_url).set(drivername="postgresql+psycopg2")
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    except Exception as e:  # no server: fail loudly, never skip
        pytest.exit(f"cannot create the test database at {u.render_as_string()}: {e}", 2)
    finally:
        admin.dispose()
    media = tempfile.mkdtemp(prefix="wangge-media-")  # photos of this run, never the repo's
    s = Settings(database_url=url, owner_database_url=owner_url, locator_poll_s=0.05,
                 media_url=media)
    # commands run by the tests (in process or as children) find the owner role as an
    # operator's environment gives it; DATABASE_URL is set per test
    os.environ["WANGGE_OWNER_DATABASE_URL"] = owner_url
    migrate.upgrade_and_grant(s)
    eng = make_engine(s.as_owner())
    with eng.begin() as conn:
        catalogue.load(conn)
    eng.dispose()
    return s


@pytest.fixture(scope="session")
def owner_engine(settings: Settings) -> Engine:
    """Engine of the owner role (DDL, TRUNCATE, bulk loads)."""
    from gis.db.engine import get_engine

    return get_engine(settings.as_owner())


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """Engine on the test database."""
    from gis.db.engine import get_engine

    eng = get_engine(settings)
    yield eng
    dispose_all()


@pytest.fixture()
def clean_db(engine: Engine, owner_engine: Engine) -> Engine:
    """Every table emptied (the catalogue loaded again): the known database a test starts
    from; TRUNCATE is the owner's right."""
    empty_every_table(owner_engine)
    return engine


@pytest.fixture()
def owner_db(clean_db: Engine, owner_engine: Engine) -> Engine:
    """``clean_db`` as the owner role: bulk loads that swap tables in or switch triggers off."""
    return owner_engine


@pytest.fixture()
def demo_district(clean_db: Engine) -> int:
    """The small generated district (2 streets, 8 communities, 32 grids, 288 units) active."""
    from gis.territory.synthetic import load_synthetic

    return load_synthetic(clean_db)


@pytest.fixture()
def api(settings: Settings, clean_db: Engine):
    """A TestClient on a fresh app (no LISTEN thread; the locator polls every 50 ms)."""
    from fastapi.testclient import TestClient

    from gis.access import auth
    from wangge.app import create_app

    app = create_app(settings, listen=False)
    token = auth.create_token(clean_db, "district_centre", name="tests")["token"]
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"  # the district centre by default
        yield client
