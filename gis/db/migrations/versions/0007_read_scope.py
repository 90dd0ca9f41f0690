"""The whole read scope as one SQL function, ``visible_events(prefixes, department)``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the function visible_events."""
    op.execute(read_sql("007_read_scope_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("007_read_scope_down.sql", "gis.db.sql"))
