"""Every test starts from a known database: every table emptied."""

from __future__ import annotations

from sqlalchemy import text
from support.db import KEPT, data_tables, empty_every_table


def test_every_table_but_the_seeded_ones_is_empty_at_the_start(clean_db, owner_engine) -> None:
    """api_token, audit_log and any table a new migration adds are emptied too."""
    tables = data_tables(owner_engine)
    assert {"api_token", "audit_log", "event", "worker"} <= set(tables)
    with owner_engine.connect() as conn:
        filled = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in tables}
    assert {t: n for t, n in filled.items() if n and t not in ("event_class", "event_item")} == {}
    assert filled["event_item"] > 0  # the catalogue is loaded again


def test_leftovers_of_a_test_are_gone(clean_db, owner_engine) -> None:
    """Rows a test leaves in tokens and the audit log do not reach the next one."""
    from gis.access import auth

    auth.create_token(clean_db, "district_centre", name="leftover")
    with owner_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (actor, action, outcome) "
                          "VALUES ('x', 'y', 'ok')"))
    empty_every_table(owner_engine)
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_token")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
        assert conn.execute(text("SELECT distance_m FROM duplicate_config")).scalar_one() == 100
    assert "territory_state" in KEPT
