"""A value bound next to a comment stays a value (database)."""

from __future__ import annotations

from sqlalchemy import text

from gis.db.sqlfiles import strip_comments


def test_a_commented_bind_is_not_injectable(engine) -> None:
    """A value with a newline and a statement, bound next to a comment, stays a value."""
    sql = strip_comments("SELECT CAST(:v AS text) -- :v is echoed\n")
    with engine.connect() as conn:
        got = conn.execute(text(sql), {"v": "x\nSELECT pg_sleep(5);--"}).scalar()
    assert got == "x\nSELECT pg_sleep(5);--"
