"""Listing index covers proposal ids, so that a page of proposals is ordered from the index alone

Revision ID: 38b3810bad15
Revises: 95854ce58eba
Create Date: 2026-11-23 06:19:08.808143
"""

from alembic import op

revision = '38b3810bad15'
down_revision = '95854ce58eba'
branch_labels = None
depends_on = None


# Plain index statements, not batch mode: on SQLite batch mode may copy the table, which would
# drop the full-text search triggers.
def upgrade() -> None:
    op.drop_index('ix_proposals_listing', table_name='proposals')
    op.create_index('ix_proposals_listing', 'proposals', ['consultation_id', 'state', 'hidden_at'],
                    postgresql_include=['id', 'kind'])


def downgrade() -> None:
    op.drop_index('ix_proposals_listing', table_name='proposals')
    op.create_index('ix_proposals_listing', 'proposals', ['consultation_id', 'state', 'hidden_at'])
