"""The committee's major issues (grands enjeux)

Revision ID: e5a1c9f3b7d4
Revises: d2f8b4c6a1e9
Create Date: 2026-12-01 07:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'e5a1c9f3b7d4'
down_revision = 'd2f8b4c6a1e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
