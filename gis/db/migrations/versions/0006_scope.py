"""The area-scope rule as one SQL function, ``in_scope(code, prefixes)``, used by every query.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the function in_scope."""
    op.execute(read_sql("006_scope_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("006_scope_down.sql", "gis.db.sql"))
