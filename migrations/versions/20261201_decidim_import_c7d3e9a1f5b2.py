"""Proposals imported from Decidim keep their id, address and vote count

Revision ID: c7d3e9a1f5b2
Revises: a8e4b2c6d9f1
Create Date: 2026-12-01 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c7d3e9a1f5b2'
down_revision = 'a8e4b2c6d9f1'
branch_labels = None
depends_on = None

COLUMNS = ('decidim_id', 'decidim_url', 'imported_vote_count')


def upgrade() -> None:
    op.add_column('proposals', sa.Column('decidim_id', sa.BigInteger(), nullable=True))
    op.add_column('proposals', sa.Column('decidim_url', sa.String(length=500), nullable=True))
    op.add_column('proposals', sa.Column('imported_vote_count', sa.Integer(), nullable=True))
    op.create_index('uq_proposals_consultation_id_decidim_id', 'proposals', ['consultation_id', 'decidim_id'],
                    unique=True, sqlite_where=sa.text('decidim_id IS NOT NULL'),
                    postgresql_where=sa.text('decidim_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_proposals_consultation_id_decidim_id', table_name='proposals')
    # Not in batch mode: on SQLite it would copy the table and lose the full-text triggers on it;
    # SQLite (3.35 and later) drops a column in place.
    for column in reversed(COLUMNS):
        op.drop_column('proposals', column)
