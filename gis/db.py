"""The one engine / connection-pool factory."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from gis.settings import Settings

_engines: dict[str, Engine] = {}


def make_engine(settings: Settings) -> Engine:
    """Create a pooled engine for ``settings.database_url`` (psycopg2)."""
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=settings.pool_pre_ping,
        connect_args={
            "connect_timeout": 3,
            "application_name": "wangge",
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
        },
    )
    return engine


def get_engine(settings: Settings) -> Engine:
    """Shared engine per database URL (one pool per process)."""
    eng = _engines.get(settings.database_url)
    if eng is None:
        eng = _engines[settings.database_url] = make_engine(settings)
    return eng


def dispose_all() -> None:
    """Close every pooled connection (tests, shutdown)."""
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()
