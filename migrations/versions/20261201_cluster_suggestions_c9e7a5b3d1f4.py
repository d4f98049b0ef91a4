"""Suggested issues: the clustering a committee reviews before accepting it

Revision ID: c9e7a5b3d1f4
Revises: b6d4f2a8c1e3
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'c9e7a5b3d1f4'
down_revision = 'b6d4f2a8c1e3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
