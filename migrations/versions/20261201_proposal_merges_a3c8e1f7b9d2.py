"""Merged proposals: who merged them, when

Revision ID: a3c8e1f7b9d2
Revises: e5a1c9f3b7d4
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'a3c8e1f7b9d2'
down_revision = 'e5a1c9f3b7d4'
branch_labels = None
depends_on = None


def _listing_index(include: list[str]) -> None:
    # Plain index statements, not batch mode: on SQLite batch mode may copy the table, which would
    # drop the full-text search triggers.
    op.drop_index('ix_proposals_listing', table_name='proposals')
    op.create_index('ix_proposals_listing', 'proposals', ['consultation_id', 'state', 'hidden_at'],
                    postgresql_include=include)


def upgrade() -> None:
    op.add_column('proposals', sa.Column('merged_at', app.core.db.UTCDateTime(), nullable=True))
    # SQLite adds a constraint only by copying the table (batch mode), which would drop the full-text search
    # triggers of `proposals`: there the reference goes inline in ALTER TABLE … ADD COLUMN, unnamed.
    op.add_column('proposals', sa.Column('merged_by_id', sa.Integer(), sa.ForeignKey(
        'users.id', name=op.f('fk_proposals_merged_by_id_users')), nullable=True),
        inline_references=op.get_bind().dialect.name == 'sqlite')
    op.create_index('ix_proposals_merged_into_id', 'proposals', ['merged_into_id'], unique=False,
                    sqlite_where=sa.text('merged_into_id IS NOT NULL'),
                    postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    # Lists leave merged originals out: the listing index holds the column, for index-only scans.
    _listing_index(['id', 'kind', 'published_at', 'support_count', 'comment_count', 'merged_into_id'])


def downgrade() -> None:
    _listing_index(['id', 'kind', 'published_at', 'support_count', 'comment_count'])
    op.drop_index('ix_proposals_merged_into_id', table_name='proposals')
    op.drop_column('proposals', 'merged_by_id')  # ALTER TABLE … DROP COLUMN on SQLite too (3.35+), no copy
    op.drop_column('proposals', 'merged_at')
