"""Proposals: an index on the answer (the laureates, the answered proposals), and the listing index holds the
major issue (the supports per issue of the results, read from the index alone)

Revision ID: b7e3d9a1c5f8
Revises: e8c4a2f6b1d3
Create Date: 2026-12-01 11:30:00
"""

from alembic import op

revision = 'b7e3d9a1c5f8'
down_revision = 'e8c4a2f6b1d3'
branch_labels = None
depends_on = None


LISTING_COLUMNS = ['consultation_id', 'state', 'hidden_at']
INCLUDED = ['id', 'kind', 'published_at', 'support_count', 'comment_count', 'merged_into_id']


def _listing_index(included: list[str]) -> None:
    op.drop_index('ix_proposals_listing', table_name='proposals')
    op.create_index('ix_proposals_listing', 'proposals', LISTING_COLUMNS, unique=False, postgresql_include=included)


def upgrade() -> None:
    op.create_index('ix_proposals_answer', 'proposals', ['consultation_id', 'answer_state'], unique=False)
    _listing_index(INCLUDED + ['issue_id'])


def downgrade() -> None:
    _listing_index(INCLUDED)
    op.drop_index('ix_proposals_answer', table_name='proposals')
