"""Proposals imported from Decidim keep their id, address and vote count

Revision ID: c7d3e9a1f5b2
Revises: a8e4b2c6d9f1
Create Date: 2026-12-01 07:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'c7d3e9a1f5b2'
down_revision = 'a8e4b2c6d9f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
