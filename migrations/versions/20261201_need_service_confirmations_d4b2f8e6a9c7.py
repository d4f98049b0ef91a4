"""Links between needs and services confirmed by the committee

Revision ID: d4b2f8e6a9c7
Revises: c9e7a5b3d1f4
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'd4b2f8e6a9c7'
down_revision = 'c9e7a5b3d1f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('need_service_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('is_declared', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('need_service_links', schema=None) as batch_op:
        batch_op.drop_column('is_declared')
        batch_op.drop_column('confirmed_at')
