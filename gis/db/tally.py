"""The live map's kept counts (migrations 0015-0021): folding what the event triggers appended."""

from __future__ import annotations

from sqlalchemy import Connection

from gis.db.queries import q

SQL = "tally.sql"
PKG = "gis.db.sql"


def fold(conn: Connection) -> int:
    """Fold the count changes the event triggers appended into the kept counts (rows folded)."""
    return int(conn.execute(q(SQL, "fold", PKG)).scalar() or 0)
