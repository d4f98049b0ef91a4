"""The committee's major issues (grands enjeux)

Revision ID: e5a1c9f3b7d4
Revises: d2f8b4c6a1e9
Create Date: 2026-12-01 07:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'e5a1c9f3b7d4'
down_revision = 'd2f8b4c6a1e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_issues_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_issues_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issues')),
    sa.UniqueConstraint('consultation_id', 'title', name=op.f('uq_issues_consultation_id_title'))
    )
    op.create_index(op.f('ix_issues_consultation_id'), 'issues', ['consultation_id'], unique=False)
    # SQLite adds a constraint only by copying the table (batch mode), which would drop the full-text search
    # triggers of `proposals`: there the reference goes inline in ALTER TABLE … ADD COLUMN, unnamed.
    op.add_column('proposals', sa.Column('issue_id', sa.Integer(), sa.ForeignKey(
        'issues.id', name=op.f('fk_proposals_issue_id_issues')), nullable=True),
        inline_references=op.get_bind().dialect.name == 'sqlite')
    op.create_index(op.f('ix_proposals_issue_id'), 'proposals', ['issue_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_proposals_issue_id'), table_name='proposals')
    op.drop_column('proposals', 'issue_id')  # ALTER TABLE … DROP COLUMN on SQLite too (3.35+), no copy
    op.drop_index(op.f('ix_issues_consultation_id'), table_name='issues')
    op.drop_table('issues')
