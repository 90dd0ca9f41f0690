"""Every table emptied: the known database each test starts from."""

from __future__ import annotations

from sqlalchemy import Engine, text

from gis.intake import catalogue

# Rows the migrations seed and the schema relies on (a singleton counter, a singleton
# configuration) stay, reset to their defaults; the catalogue is loaded again.
KEPT = ("alembic_version", "spatial_ref_sys", "territory_state", "duplicate_config")
# what TRUNCATE ... RESTART IDENTITY does to the sequences of the data tables (serial or
# identity columns), for those used since they started
SEQUENCES_RESTART = """
SELECT setval(s.oid, q.start_value, false)
FROM pg_class s
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname
WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname = ANY(:tables)
  AND q.last_value IS NOT NULL
"""


def data_tables(engine: Engine) -> list[str]:
    """Every table of the schema but the kept ones (found anew, so new tables are included)."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND NOT tablename = ANY(:kept) ORDER BY tablename"), {"kept": list(KEPT)}).scalars())


def empty_every_table(owner: Engine) -> None:
    """Truncate every data table that holds a row (the owner's right), restart every used
    sequence of theirs, reset the seeded rows, reload the catalogue.

    Only the tables in use are truncated: a TRUNCATE costs new files for the table and each
    of its indexes, about 0.15 s for all 45 tables, and most tests fill a few."""
    tables = data_tables(owner)
    with owner.begin() as conn:
        probe = " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
        used = ", ".join(f'"{t}"' for t in conn.execute(text(probe)).scalars())
        if used:
            conn.execute(text(f"TRUNCATE {used} CASCADE"))
        conn.execute(text(SEQUENCES_RESTART), {"tables": tables})
        conn.execute(text("UPDATE duplicate_config SET distance_m = 100, window_h = 24, "
                          "enabled = true"))
        catalogue.load(conn)


def appended_counts(engine: Engine) -> int:
    """The live map's count changes appended by the event triggers and not folded yet."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT (SELECT count(*) FROM event_tally_delta) "
                                 "+ (SELECT count(*) FROM event_due_delta)")).scalar_one()
