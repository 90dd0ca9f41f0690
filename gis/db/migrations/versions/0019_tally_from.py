"""The live map's open-ended windows from one row per (cell, grid): counts kept from a start
hour on (event_tally_from), folded with the rest of the tally (gis/oversight/dashboard.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The start hours, their counts, and the fold that keeps them."""
    op.execute(read_sql("019_tally_from_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Back to the day and hour rows only."""
    op.execute(read_sql("019_tally_from_down.sql", "gis.db.sql"))
