"""Links between needs and services confirmed by the committee

Revision ID: d4b2f8e6a9c7
Revises: c9e7a5b3d1f4
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd4b2f8e6a9c7'
down_revision = 'c9e7a5b3d1f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
