"""Boundaries: activations and the former assignments of re-assigned events (for rollback).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create boundary_activation and event_assignment."""
    op.execute(read_sql("003_boundaries_up.sql", "gis.db.sql"))


def downgrade() -> None:
    """Drop them."""
    op.execute(read_sql("003_boundaries_down.sql", "gis.db.sql"))
