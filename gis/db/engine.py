"""The one engine / connection-pool factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2.errors
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError

from gis.db.queries import q
from gis.errors import QueryTimeout
from gis.settings import Settings

_engines: dict[str, Engine] = {}
_heavy: dict[tuple[str, int, int], Engine] = {}
HEAVY_APP_NAME = "wangge-heavy"


def make_engine(settings: Settings, *, pool_size: int | None = None, overflow: int | None = None,
                statement_timeout_ms: int | None = None, app_name: str = "wangge") -> Engine:
    """Create a pooled engine for ``settings.database_url`` (psycopg2)."""
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    size = settings.pool_size if pool_size is None else pool_size
    timeout_ms = statement_timeout_ms or settings.statement_timeout_ms
    engine = create_engine(
        url,
        pool_size=size,
        max_overflow=size if overflow is None else overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=settings.pool_pre_ping,
        connect_args={
            "connect_timeout": 3,
            "application_name": app_name,
            "options": f"-c statement_timeout={timeout_ms} -c timezone=UTC",
        },
    )
    return engine


def get_engine(settings: Settings) -> Engine:
    """Shared engine per database URL (one pool per process)."""
    eng = _engines.get(settings.database_url)
    if eng is None:
        eng = _engines[settings.database_url] = make_engine(settings)
    return eng


def get_heavy_engine(settings: Settings) -> Engine:
    """The separate small pool of heavy reads (``heavy_pool_size``, no overflow) per database."""
    timeout_ms = settings.heavy_statement_timeout_ms or settings.statement_timeout_ms
    key = (settings.database_url, settings.heavy_pool_size, timeout_ms)
    eng = _heavy.get(key)
    if eng is None:
        eng = _heavy[key] = make_engine(settings, pool_size=settings.heavy_pool_size, overflow=0,
                                        statement_timeout_ms=timeout_ms,
                                        app_name=HEAVY_APP_NAME)
    return eng


def is_query_timeout(exc: BaseException) -> bool:
    """True for a cancelled statement (SQLSTATE 57014: the statement timeout), raw or wrapped."""
    if isinstance(exc, DBAPIError):
        exc = exc.orig
    return isinstance(exc, psycopg2.errors.QueryCanceled)


@contextmanager
def heavy_connect(engine: Engine) -> Iterator[Connection]:
    """A read-only-use connection for a heavy read: no JIT, a timeout raised as QueryTimeout."""
    try:
        with engine.connect() as conn:
            conn.execute(q("engine.sql", "jit_off", "gis.db.sql"))
            yield conn
    except DBAPIError as e:
        if is_query_timeout(e):
            raise QueryTimeout() from None
        raise


def ping(engine: Engine) -> None:
    """One round trip to the database; raises when it is unreachable."""
    with engine.connect() as conn:
        conn.execute(q("engine.sql", "ping", "gis.db.sql"))


def dispose_all() -> None:
    """Close every pooled connection (tests, shutdown)."""
    for eng in (*_engines.values(), *_heavy.values()):
        eng.dispose()
    _engines.clear()
    _heavy.clear()
