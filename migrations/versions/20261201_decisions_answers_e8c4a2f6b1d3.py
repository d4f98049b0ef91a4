"""Decisions and answers: laureates, answer templates, the publication of results

Revision ID: e8c4a2f6b1d3
Revises: d4b2f8e6a9c7
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'e8c4a2f6b1d3'
down_revision = 'd4b2f8e6a9c7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultations') as batch_op:
        batch_op.add_column(sa.Column('results_published_at', app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('results_digest', sa.String(length=64), nullable=True))
    op.create_table('answer_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'],
                            name=op.f('fk_answer_templates_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_answer_templates_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_templates')),
    sa.UniqueConstraint('consultation_id', 'state', name=op.f('uq_answer_templates_consultation_id_state'))
    )
    op.add_column('proposals', sa.Column('decision_reason', sa.Text(), nullable=True))
    # SQLite adds a constraint only by copying the table (batch mode), which would drop the full-text search
    # triggers of `proposals`: there the reference goes inline in ALTER TABLE … ADD COLUMN, unnamed.
    op.add_column('proposals', sa.Column('decided_by_id', sa.Integer(), sa.ForeignKey(
        'users.id', name=op.f('fk_proposals_decided_by_id_users')), nullable=True),
        inline_references=op.get_bind().dialect.name == 'sqlite')
    op.add_column('proposals', sa.Column('decided_at', app.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('proposals', 'decided_at')  # ALTER TABLE … DROP COLUMN on SQLite too (3.35+), no copy
    op.drop_column('proposals', 'decided_by_id')
    op.drop_column('proposals', 'decision_reason')
    op.drop_table('answer_templates')
    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.drop_column('consultations', 'results_digest')
    op.drop_column('consultations', 'results_published_at')
