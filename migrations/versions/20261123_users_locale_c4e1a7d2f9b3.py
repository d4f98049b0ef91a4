"""Users' language, in which their mails are written

Revision ID: c4e1a7d2f9b3
Revises: 38b3810bad15
Create Date: 2026-11-23 16:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c4e1a7d2f9b3'
down_revision = '38b3810bad15'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('locale', sa.String(length=5), server_default='fr', nullable=False))


def downgrade() -> None:
    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.drop_column('users', 'locale')
