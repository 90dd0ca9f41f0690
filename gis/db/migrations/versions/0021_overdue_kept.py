"""The live map's overdue count kept by report hour and due hour (event_due_tally), folded
with the rest of its counts, so the district's overdue count does not walk the open events.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The kept due counts, their triggers, and the fold and recount that take them along."""
    op.execute(read_sql("021_overdue_kept_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Back to counting the window's open events one by one."""
    op.execute(read_sql("021_overdue_kept_down.sql", "gis.db.sql"))
