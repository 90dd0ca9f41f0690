"""The two database roles: the owner (migrations, DDL loads) and the platform's own role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, make_url

from gis.db.queries import q

SQL = "roles.sql"
PKG = "gis.db.sql"
SCHEMA = "public"
APPEND_ONLY = ("audit_log", "event_history")


@dataclass(frozen=True)
class RoleFacts:
    """What a database role may do beyond reading and writing rows."""

    superuser: bool
    createrole: bool
    createdb: bool
    create_in_schema: bool
    create_in_database: bool
    owns_tables: bool

    @property
    def least_privilege(self) -> bool:
        """True when the role can run no DDL and owns nothing."""
        return not (self.superuser or self.createrole or self.create_in_schema
                    or self.owns_tables)


def url_user(url: str) -> str | None:
    """The user name in a database URL."""
    return make_url(url).username


def grant_app_role(conn: Connection, role: str) -> int:
    """Give ``role`` the data rights the platform uses on every table; returns the GRANTs run."""
    stmts = conn.execute(q(SQL, "grant_statements", PKG), {
        "schema": SCHEMA, "role": role, "append_only": list(APPEND_ONLY)}).scalars().all()
    for s in stmts:
        conn.exec_driver_sql(s)
    return len(stmts)


def facts(engine: Engine, role: str) -> RoleFacts | None:
    """What ``role`` may do in the engine's database (None when it does not exist)."""
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "role_facts", PKG),
                           {"schema": SCHEMA, "role": role}).mappings().first()
    return RoleFacts(**row) if row else None
