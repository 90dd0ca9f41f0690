"""Units visited per China Standard Time day: patrol_unit_day (tracks per day, distance and
unit, for the tracks lying within one CST day), kept by triggers on the visit tables of
migration 0014 through patrol_unit_day_delta and patrol_unit_day_compact(); the coverage of
whole days reads it (gis/oversight/coverage.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the day column, the per-day table, its triggers and functions; count what exists."""
    op.execute(read_sql("016_patrol_unit_day_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them."""
    op.execute(read_sql("016_patrol_unit_day_down.sql", "gis.db.sql"))
