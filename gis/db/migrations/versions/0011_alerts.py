"""Alerts: triggers that write an alert for a new high-level event and for each climb.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the alert triggers on event and event_history."""
    op.execute(read_sql("011_alerts_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them."""
    op.execute(read_sql("011_alerts_down.sql", "gis.db.sql"))
