"""Jobs done outside requests (text vectors), claimed by workers

Revision ID: d2f8b4c6a1e9
Revises: c7d3e9a1f5b2
Create Date: 2026-12-01 07:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd2f8b4c6a1e9'
down_revision = 'c7d3e9a1f5b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
