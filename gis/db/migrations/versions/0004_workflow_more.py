"""Workflow: department tokens (role ``department`` naming one department of the rules).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROLES_OLD = ("'grid_worker', 'community_dispatcher', 'street_dispatcher', 'district_centre', "
             "'planner'")


def upgrade() -> None:
    """Add api_token.department and the role ``department``."""
    op.execute(f"""
        ALTER TABLE api_token ADD COLUMN department text;
        ALTER TABLE api_token DROP CONSTRAINT api_token_role_check;
        ALTER TABLE api_token ADD CONSTRAINT api_token_role_check
            CHECK (role IN ({ROLES_OLD}, 'department'));
        ALTER TABLE api_token ADD CONSTRAINT api_token_department_check
            CHECK ((role = 'department') = (department IS NOT NULL));
    """)


def downgrade() -> None:
    """Drop department tokens and the column."""
    op.execute(f"""
        DELETE FROM api_token WHERE role = 'department';
        ALTER TABLE api_token DROP CONSTRAINT api_token_department_check;
        ALTER TABLE api_token DROP CONSTRAINT api_token_role_check;
        ALTER TABLE api_token ADD CONSTRAINT api_token_role_check CHECK (role IN ({ROLES_OLD}));
        ALTER TABLE api_token DROP COLUMN department;
    """)
