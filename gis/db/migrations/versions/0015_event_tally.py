"""The live map's counts kept as events arrive: event_tally (events and open events per hour
and per day, per zoom-13 heat cell and grid), the statement triggers appending their changes
to event_tally_delta, event_tally_compact() folding them in, and partial indexes on the open
backlog (gis/oversight/dashboard.py reads them).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the tally tables, their triggers and functions, and the open-backlog indexes."""
    op.execute(read_sql("015_event_tally_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them."""
    op.execute(read_sql("015_event_tally_down.sql", "gis.db.sql"))
