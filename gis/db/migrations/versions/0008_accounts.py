"""Accounts: people who log in with a user name and an Argon2id-hashed password.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table account."""
    op.execute(read_sql("008_accounts_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop it."""
    op.execute(read_sql("008_accounts_down.sql", "gis.db.sql"))
