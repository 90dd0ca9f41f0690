"""Streets and barriers: the line layer unit and grid drawing follow (table street_line).

The table street is the administrative level (街道); these are street centre lines, water
and rail.

The platform's role gets its data rights on the new table from the GRANTs run after every
migration (gis.db.roles.grant_app_role), as for building.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table street_line."""
    op.execute(read_sql("012_streets_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("012_streets_down.sql", "gis.db.sql"))
