"""The field app and the resident page: attachments, resident reports, patrol chunks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables attachment, resident_report and patrol_chunk."""
    op.execute(read_sql("009_field_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("009_field_down.sql", "gis.db.sql"))
