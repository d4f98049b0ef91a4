"""Outbox: a failed message waits before its next attempt, longer after each failure

Revision ID: f1a7c3e9b5d2
Revises: d5a9e3c7f1b4
Create Date: 2026-12-01 14:30:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'f1a7c3e9b5d2'
down_revision = 'd5a9e3c7f1b4'
branch_labels = None
depends_on = None


# Plain statements, not batch mode: batch mode would copy the whole outbox to drop the column, which
# SQLite (3.35 and later) and PostgreSQL drop in place.
def upgrade() -> None:
    op.add_column('outbox', sa.Column('retry_after', app.core.db.UTCDateTime(), nullable=True))
    op.create_index('ix_outbox_pending', 'outbox', ['id'], unique=False,
                    postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox', postgresql_where=sa.text('sent_at IS NULL'),
                  sqlite_where=sa.text('sent_at IS NULL'))
    op.drop_column('outbox', 'retry_after')
