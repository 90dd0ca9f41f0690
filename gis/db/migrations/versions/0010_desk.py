"""The desk: time limits in working time; alerts and their outbox.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add event_item.time_limit_unit and the tables alert and alert_delivery."""
    op.execute(read_sql("010_desk_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("010_desk_down.sql", "gis.db.sql"))
