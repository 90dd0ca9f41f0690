"""Least privilege: the platform runs as a role with data rights only; the owner migrates."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from gis.db import roles as dbroles
from wangge.app import create_app


def app_role(settings) -> str:
    """The platform's role of the test run (it must differ from the owner)."""
    app = dbroles.url_user(settings.database_url)
    assert app != dbroles.url_user(settings.owner_url), (
        "the suite runs with two roles: set DATABASE_URL and WANGGE_OWNER_DATABASE_URL "
        "(./dev.sh test does)")
    return app


def test_the_platform_role_has_no_ddl_rights(settings, engine) -> None:
    """Not superuser, not the owner of any table, no CREATE in the schema or database."""
    f = dbroles.facts(engine, app_role(settings))
    assert f is not None and f.least_privilege
    assert not (f.superuser or f.createrole or f.create_in_schema or f.owns_tables)
    assert not f.create_in_database


@pytest.mark.parametrize("stmt", [
    "CREATE TABLE intruder (id int)",
    "DROP TABLE event_item CASCADE",
    "ALTER TABLE event DISABLE TRIGGER event_duplicate_detect",
    "TRUNCATE event CASCADE",
    "UPDATE event_history SET note = 'rewritten'",
    "DELETE FROM audit_log",
    "CREATE EXTENSION IF NOT EXISTS hstore",
])
def test_ddl_and_rewriting_history_are_refused(clean_db, stmt: str) -> None:
    """What an injected statement would try is refused by the database itself."""
    with clean_db.connect() as conn, pytest.raises(ProgrammingError, match="denied|must be"):
        conn.execute(text(stmt))


def test_api_and_owner_connect_as_their_roles(settings, engine, owner_engine) -> None:
    """The API's engine is the platform role's; migrations use the owner's."""
    app = create_app(settings, listen=False)
    with app.state.engine.connect() as c:
        assert c.execute(text("SELECT current_user")).scalar_one() == app_role(settings)
    with owner_engine.connect() as c:
        assert c.execute(text("SELECT current_user")).scalar_one() == \
            dbroles.url_user(settings.owner_url)


def test_db_upgrade_grants_the_platform_role(settings, owner_engine, engine,
                                             monkeypatch) -> None:
    """`wangge db upgrade` (as the owner) gives the platform role back its data rights."""
    from wangge.cli import app

    role = app_role(settings)
    with owner_engine.begin() as c:
        c.exec_driver_sql(f'REVOKE ALL ON event_item FROM "{role}"')
    with engine.connect() as c, pytest.raises(ProgrammingError, match="denied"):
        c.execute(text("SELECT count(*) FROM event_item"))
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WANGGE_OWNER_DATABASE_URL", settings.owner_url)
    res = CliRunner().invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0, res.output
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM event_item")).scalar_one() > 0
        assert not c.execute(text(
            "SELECT has_table_privilege('event_history', 'UPDATE')")).scalar_one()
