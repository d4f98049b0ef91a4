"""Outbox: the one-click unsubscribe address a message carries in its List-Unsubscribe header

Revision ID: e5b8c2d7f3a9
Revises: d4f7b0c5e1a6
Create Date: 2026-12-01 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'e5b8c2d7f3a9'
down_revision = 'd4f7b0c5e1a6'
branch_labels = None
depends_on = None


# Plain statements, not batch mode: SQLite (3.35 and later) and PostgreSQL add and drop a column in place.
def upgrade() -> None:
    op.add_column('outbox', sa.Column('list_unsubscribe', sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column('outbox', 'list_unsubscribe')
