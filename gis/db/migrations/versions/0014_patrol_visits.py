"""Patrol visits kept as tracks arrive: patrol_visit (unit, worker, closest-approach time per
indexed track), patrol_track_indexed (which generation and distance a track was indexed for)
and the trigger that (re)indexes a track when it is written; coverage and unvisited units
read them at city scale (gis/oversight/coverage.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the visit tables, the indexing function and its trigger."""
    op.execute(read_sql("014_patrol_visits_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them."""
    op.execute(read_sql("014_patrol_visits_down.sql", "gis.db.sql"))
