"""Workflow: API tokens, audit log, dispatch records, duplicate links, resident points, duties.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the workflow tables and the duplicate-detection trigger."""
    op.execute(read_sql("002_workflow_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop the workflow tables."""
    op.execute(read_sql("002_workflow_down.sql", "gis.db.sql"))
