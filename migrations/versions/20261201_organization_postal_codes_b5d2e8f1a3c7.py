"""Postal codes of communes, for the directory search

Revision ID: b5d2e8f1a3c7
Revises: e7b2c9a4d1f6
Create Date: 2026-12-01 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'b5d2e8f1a3c7'
down_revision = 'e7b2c9a4d1f6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'organization_postal_codes',
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('postal_code', sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_organization_postal_codes_organization_id_organizations')),
        sa.PrimaryKeyConstraint('organization_id', 'postal_code', name=op.f('pk_organization_postal_codes')),
    )
    with op.batch_alter_table('organization_postal_codes') as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_postal_codes_postal_code'), ['postal_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('organization_postal_codes') as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_postal_codes_postal_code'))
    op.drop_table('organization_postal_codes')
