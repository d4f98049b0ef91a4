"""Suggested issues: the clustering a committee reviews before accepting it

Revision ID: c9e7a5b3d1f4
Revises: b6d4f2a8c1e3
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'c9e7a5b3d1f4'
down_revision = 'b6d4f2a8c1e3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('n_clusters', sa.Integer(), nullable=True),
    sa.Column('duplicate_threshold', sa.Double(), nullable=False),
    sa.Column('computed_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_cluster_suggestions_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_cluster_suggestions_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_suggestions')),
    sa.UniqueConstraint('consultation_id', name=op.f('uq_cluster_suggestions_consultation_id'))
    )


def downgrade() -> None:
    op.drop_table('cluster_suggestions')
