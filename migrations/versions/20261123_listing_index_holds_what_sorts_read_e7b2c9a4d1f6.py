"""Listing index holds what every sort reads (date, counters), so that sorted pages are read from the index alone

Revision ID: e7b2c9a4d1f6
Revises: c4e1a7d2f9b3
Create Date: 2026-11-23 17:00:00
"""

from alembic import op

revision = 'e7b2c9a4d1f6'
down_revision = 'c4e1a7d2f9b3'
branch_labels = None
depends_on = None


def _listing_index(include: list[str]) -> None:
    # Plain index statements, not batch mode: on SQLite batch mode may copy the table, which would
    # drop the full-text search triggers.
    op.drop_index('ix_proposals_listing', table_name='proposals')
    op.create_index('ix_proposals_listing', 'proposals', ['consultation_id', 'state', 'hidden_at'],
                    postgresql_include=include)


def upgrade() -> None:
    _listing_index(['id', 'kind', 'published_at', 'support_count', 'comment_count'])


def downgrade() -> None:
    _listing_index(['id', 'kind'])
