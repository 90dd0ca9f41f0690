"""Run Alembic migrations programmatically (``wangge db upgrade`` / ``downgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from gis.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at ``gis/db/migrations`` for ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def app_role(settings: Settings) -> str | None:
    """The platform's own role when it differs from the owner (else None: one role)."""
    from gis.db.roles import url_user

    app, owner = url_user(settings.database_url), url_user(settings.owner_url)
    return app if app and app != owner else None


def upgrade_and_grant(settings: Settings, revision: str = "head") -> str | None:
    """Migrate as the owner role, then give the platform's role its data rights."""
    from gis.db.engine import get_engine
    from gis.db.roles import grant_app_role

    owner = get_engine(settings.as_owner())
    upgrade(owner, revision)
    role = app_role(settings)
    if role:
        with owner.begin() as conn:
            grant_app_role(conn, role)
    return current(owner)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to ``revision``."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
