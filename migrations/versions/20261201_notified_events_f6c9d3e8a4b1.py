"""Notified events: the comments, merges and answers whose followers the reminders scheduler has listed

Revision ID: f6c9d3e8a4b1
Revises: e5b8c2d7f3a9
Create Date: 2026-12-01 18:10:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'f6c9d3e8a4b1'
down_revision = 'e5b8c2d7f3a9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notified_events',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject_id', name=op.f('pk_notified_events'))
    )


def downgrade() -> None:
    op.drop_table('notified_events')
