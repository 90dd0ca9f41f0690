"""Workers and the roles they hold in grids and units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from psycopg2.extras import execute_values
from sqlalchemy import Connection

from gis.db.queries import q

ROLES = ("grid_leader", "grid_instructor", "full_time", "specialist", "part_time", "auxiliary",
         "unit_head", "building_head", "volunteer")


def mask_phone(phone: str | None) -> str | None:
    """138****5678 style masking for logs and reports."""
    if not phone:
        return phone
    p = str(phone)
    return p[:3] + "*" * max(len(p) - 7, 0) + p[-4:] if len(p) > 7 else "*" * len(p)


def mask_id_number(idn: str | None) -> str | None:
    """Resident ID masked to its first 6 and last 2 characters."""
    if not idn:
        return idn
    s = str(idn)
    return s[:6] + "*" * max(len(s) - 8, 0) + s[-2:] if len(s) > 8 else "*" * len(s)


def upsert_workers(conn: Connection,
                   workers: Iterable[tuple[str, str, str | None]]) -> dict[str, int]:
    """Insert or update (code, name, phone) workers; returns code → id."""
    rows = list({w[0]: w for w in workers}.values())
    if not rows:
        return {}
    cur = conn.connection.dbapi_connection.cursor()
    try:
        res = execute_values(
            cur,
            "INSERT INTO worker (code, name, phone) VALUES %s ON CONFLICT (code) DO UPDATE SET "
            "name = EXCLUDED.name, phone = COALESCE(EXCLUDED.phone, worker.phone) "
            "RETURNING code, id",
            rows, page_size=2000, fetch=True,
        )
    finally:
        cur.close()
    return dict(res)


def assign_roles(conn: Connection,
                 roles: Iterable[tuple[int, str, str, datetime | None]]) -> int:
    """Add (worker_id, area_code, role, valid_from) roles not already held open-ended."""
    rows = [(w, a, r, f) for w, a, r, f in roles]
    if not rows:
        return 0
    cur = conn.connection.dbapi_connection.cursor()
    try:
        execute_values(
            cur,
            "INSERT INTO grid_role (worker_id, area_code, role, valid_from) "
            "SELECT v.w, v.a, v.r, COALESCE(v.f, now()) FROM (VALUES %s) AS v(w, a, r, f) "
            "WHERE NOT EXISTS (SELECT 1 FROM grid_role g WHERE g.worker_id = v.w "
            "AND g.area_code = v.a AND g.role = v.r AND g.valid_to IS NULL)",
            [(w, a, r, f) for w, a, r, f in rows],
            template="(%s::bigint, %s::text, %s::text, %s::timestamptz)", page_size=2000,
        )
        n = cur.rowcount
    finally:
        cur.close()
    if n:
        rederive_workers(conn, sorted({a for _w, a, _r, _f in rows}), note="roles assigned")
    return n


def rederive_workers(conn: Connection, grids: Sequence[str] | None = None, *,
                     actor: str | None = None, note: str = "roles changed") -> int:
    """Give the open events of ``grids`` (None: all) the worker the roles name now.

    The one rule for a change of roles: the full-time worker of the event's grid, else its
    grid leader, else none; each event whose worker changes gets a 'reassigned' history row.
    A worker who never held a full-time or leader role in the event's grid was set by hand
    and is kept. Returns how many events changed.
    """
    row = conn.execute(q("people.sql", "rederive_workers", "gis.territory.sql"), {
        "grids": None if grids is None else list(grids), "actor": actor, "note": note}).one()
    return int(row.changed)
