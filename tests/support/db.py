"""Every table emptied: the known database each test starts from."""

from __future__ import annotations

from sqlalchemy import Engine, text

from gis.intake import catalogue

# Rows the migrations seed and the schema relies on (a singleton counter, a singleton
# configuration) stay, reset to their defaults; the catalogue is loaded again.
KEPT = ("alembic_version", "spatial_ref_sys", "territory_state", "duplicate_config")


def data_tables(engine: Engine) -> list[str]:
    """Every table of the schema but the kept ones (found anew, so new tables are included)."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND NOT tablename = ANY(:kept) ORDER BY tablename"), {"kept": list(KEPT)}).scalars())


def empty_every_table(owner: Engine) -> None:
    """Truncate every data table (the owner's right), reset the seeded rows, reload the
    catalogue."""
    tables = ", ".join(f'"{t}"' for t in data_tables(owner))
    with owner.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE duplicate_config SET distance_m = 100, window_h = 24, "
                          "enabled = true"))
        catalogue.load(conn)


def appended_counts(engine: Engine) -> int:
    """The live map's count changes appended by the event triggers and not folded yet."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT (SELECT count(*) FROM event_tally_delta) "
                                 "+ (SELECT count(*) FROM event_due_delta)")).scalar_one()
