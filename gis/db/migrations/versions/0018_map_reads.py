"""The live map's reads from indexes alone: event_tally's key includes the counts, the open
backlog by report time includes the due time and the grid (gis/oversight/dashboard.py).

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Rebuild the two indexes with the columns the map reads."""
    op.execute(read_sql("018_map_reads_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Back to the plain indexes."""
    op.execute(read_sql("018_map_reads_down.sql", "gis.db.sql"))
