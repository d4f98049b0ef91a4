"""Mandates: an elected official lets an agent of the same organization cast supports for them

Revision ID: b2d5f8a3c9e4
Revises: a1c4e7f2b8d3
Create Date: 2026-12-01 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'b2d5f8a3c9e4'
down_revision = 'a1c4e7f2b8d3'
branch_labels = None
depends_on = None


def _mandate_column(table: str) -> None:
    # SQLite adds a constraint only by copying the table (batch mode): there the reference goes inline in
    # ALTER TABLE … ADD COLUMN, unnamed.
    op.add_column(table, sa.Column('mandate_id', sa.Integer(), sa.ForeignKey(
        'mandates.id', name=op.f(f'fk_{table}_mandate_id_mandates')), nullable=True),
        inline_references=op.get_bind().dialect.name == 'sqlite')


def upgrade() -> None:
    op.create_table(
        'mandates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=False),
        sa.Column('aidant_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('ends_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', app.core.db.UTCDateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['aidant_id'], ['users.id'], name=op.f('fk_mandates_aidant_id_users')),
        sa.ForeignKeyConstraint(['official_id'], ['users.id'], name=op.f('fk_mandates_official_id_users')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_mandates_organization_id_organizations')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_mandates_revoked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')),
    )
    op.create_index(op.f('ix_mandates_aidant_id'), 'mandates', ['aidant_id'], unique=False)
    op.create_index(op.f('ix_mandates_official_id'), 'mandates', ['official_id'], unique=False)
    op.create_index(op.f('ix_mandates_organization_id'), 'mandates', ['organization_id'], unique=False)
    _mandate_column('supports')
    _mandate_column('support_events')


def downgrade() -> None:
    op.drop_column('support_events', 'mandate_id')  # ALTER TABLE … DROP COLUMN on SQLite too (3.35+), no copy
    op.drop_column('supports', 'mandate_id')
    op.drop_index(op.f('ix_mandates_organization_id'), table_name='mandates')
    op.drop_index(op.f('ix_mandates_official_id'), table_name='mandates')
    op.drop_index(op.f('ix_mandates_aidant_id'), table_name='mandates')
    op.drop_table('mandates')
