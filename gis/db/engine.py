"""The one engine / connection-pool factory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2.errors
from sqlalchemy import Connection, Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError

from gis.db.queries import q
from gis.db.replica import ReadRouter
from gis.errors import QueryTimeout
from gis.settings import Settings

_engines: dict[str, Engine] = {}
_heavy: dict[tuple[str, int, int], Engine] = {}
_replicas: dict[str, Engine] = {}
_routers: dict[tuple[str, str, float, float], ReadRouter] = {}
_routers_lock = threading.Lock()
HEAVY_APP_NAME = "wangge-heavy"
READ_APP_NAME = "wangge-read"


def make_engine(settings: Settings, *, pool_size: int | None = None, overflow: int | None = None,
                statement_timeout_ms: int | None = None, app_name: str = "wangge",
                read_only: bool = False) -> Engine:
    """Create a pooled engine for ``settings.database_url`` (psycopg2); ``read_only``: every
    transaction read-only (a replica's pools, even should it be writable)."""
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
            "options": f"-c statement_timeout={timeout_ms} -c timezone=UTC"
                       + (" -c default_transaction_read_only=on" if read_only else ""),
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
                                        app_name=HEAVY_APP_NAME,
                                        read_only=settings.database_url
                                        == settings.read_database_url)
    return eng


def on_replica(settings: Settings) -> Settings:
    """``settings`` with the replica's URL as the database URL (``read_database_url`` set)."""
    if not settings.read_database_url:
        raise ValueError("no read_database_url in the settings")
    return settings.model_copy(update={"database_url": settings.read_database_url})


def read_router(settings: Settings) -> ReadRouter | None:
    """The one router of reads between the primary and the replica of ``settings`` (None
    without ``read_database_url``, or when it is the primary's)."""
    if settings.read_database_url in (None, settings.database_url):
        return None
    key = (settings.database_url, settings.read_database_url, settings.read_max_lag_s,
           settings.read_check_s)
    router = _routers.get(key)
    if router is None:
        with _routers_lock:
            router = _routers.get(key)
            if router is None:
                url = make_url(settings.read_database_url)
                router = _routers[key] = ReadRouter(
                    get_engine(settings), _replica_engine(settings), settings.read_max_lag_s,
                    settings.read_check_s, name=f"replica {url.host}:{url.port or 5432}")
    return router


def _replica_engine(settings: Settings) -> Engine:
    """The replica's shared pool (application name ``wangge-read``)."""
    replica = on_replica(settings)
    eng = _replicas.get(replica.database_url)
    if eng is None:
        eng = _replicas[replica.database_url] = make_engine(replica, app_name=READ_APP_NAME,
                                                                read_only=True)
    return eng


def get_read_engine(settings: Settings) -> Engine:
    """The engine for reads that may be a little behind the last write: the replica's while
    it answers and is within ``read_max_lag_s``, else the primary's (``get_engine``).

    The one switch between the two; a write never goes through it."""
    router = read_router(settings)
    if router is not None and router.use_replica():
        return router.replica
    return get_engine(settings)


def get_heavy_read_engine(settings: Settings) -> Engine:
    """``get_heavy_engine`` on the replica while reads go there, else on the primary."""
    router = read_router(settings)
    if router is not None and router.use_replica():
        eng = get_heavy_engine(on_replica(settings))
        router.watch(eng)
        return eng
    return get_heavy_engine(settings)


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
    for eng in (*_engines.values(), *_heavy.values(), *_replicas.values()):
        eng.dispose()
    _engines.clear()
    _heavy.clear()
    _replicas.clear()
    _routers.clear()
