"""Core schema: territory generations, buildings, workers, cameras, events, patrols.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the core schema."""
    op.execute(read_sql("001_core_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop the core schema."""
    op.execute(read_sql("001_core_down.sql", "gis.db.sql"))
