"""The alert outbox from the moment an alert is written: registered webhook targets and a
trigger that queues every new alert for each of them in the alert's own transaction.

The platform's role gets its data rights on the new table from the GRANTs run after every
migration (gis.db.roles.grant_app_role).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add alert_target, queue what targets in use missed, and the fan-out trigger."""
    op.execute(read_sql("013_alert_outbox_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them (the outbox rows stay)."""
    op.execute(read_sql("013_alert_outbox_down.sql", "gis.db.sql"))
