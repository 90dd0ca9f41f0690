"""The rule for who answers for a grid, once: the grid_responsibility view (candidates in
precedence order) and responsible_worker(grid, at), read by every SQL that names a grid's
worker and by the locator.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The view and the function."""
    op.execute(read_sql("020_responsible_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Back to the rule written in each query."""
    op.execute(read_sql("020_responsible_down.sql", "gis.db.sql"))
