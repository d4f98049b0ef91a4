"""Evaluation: criteria, scores, conflicts of interest, assignments, private notes

Revision ID: b6d4f2a8c1e3
Revises: a3c8e1f7b9d2
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'b6d4f2a8c1e3'
down_revision = 'a3c8e1f7b9d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
