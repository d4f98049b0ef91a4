"""Supports, quotas, journal of casts and withdrawals, frozen tallies

Revision ID: 95854ce58eba
Revises: 3b0cf4bb02b3
Create Date: 2026-11-23 04:43:39.822184
"""

from alembic import op
import sqlalchemy as sa
import app.core.db

revision = '95854ce58eba'
down_revision = '3b0cf4bb02b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_quotas',
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_support_quotas_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_support_quotas_organization_id_organizations')),
    sa.PrimaryKeyConstraint('consultation_id', 'organization_id', name=op.f('pk_support_quotas'))
    )
    op.create_table('tallies',
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('frozen_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('support_count', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_tallies_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('consultation_id', name=op.f('pk_tallies'))
    )
    op.create_table('support_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_support_events_actor_id_users')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_support_events_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_support_events_organization_id_organizations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_support_events_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_events'))
    )
    with op.batch_alter_table('support_events', schema=None) as batch_op:
        batch_op.create_index('ix_support_events_consultation', ['consultation_id', 'at'], unique=False)

    op.create_table('supports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('cast_by_id', sa.Integer(), nullable=False),
    sa.Column('cast_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('receipt_code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['cast_by_id'], ['users.id'], name=op.f('fk_supports_cast_by_id_users')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_supports_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_supports_organization_id_organizations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_supports_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supports')),
    sa.UniqueConstraint('proposal_id', 'organization_id', name=op.f('uq_supports_proposal_id_organization_id')),
    sa.UniqueConstraint('receipt_code', name=op.f('uq_supports_receipt_code'))
    )
    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.create_index('ix_supports_organization', ['organization_id', 'consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supports_proposal_id'), ['proposal_id'], unique=False)

    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.add_column('consultations', sa.Column('supporters_hidden', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))



def downgrade() -> None:
    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.drop_column('consultations', 'supporters_hidden')

    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supports_proposal_id'))
        batch_op.drop_index('ix_supports_organization')

    op.drop_table('supports')
    with op.batch_alter_table('support_events', schema=None) as batch_op:
        batch_op.drop_index('ix_support_events_consultation')

    op.drop_table('support_events')
    op.drop_table('tallies')
    op.drop_table('support_quotas')
