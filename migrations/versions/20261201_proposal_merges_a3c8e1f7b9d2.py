"""Merged proposals: who merged them, when

Revision ID: a3c8e1f7b9d2
Revises: e5a1c9f3b7d4
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'a3c8e1f7b9d2'
down_revision = 'e5a1c9f3b7d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
