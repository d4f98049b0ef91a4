"""Open data: the sizes of each consultation's files, counted by a job

Revision ID: d5a9e3c7f1b4
Revises: c2f8a4e6d0b9
Create Date: 2026-12-01 12:10:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'd5a9e3c7f1b4'
down_revision = 'c2f8a4e6d0b9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_data_sizes',
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('counted_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_open_data_sizes_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('consultation_id', 'name', name=op.f('pk_open_data_sizes'))
    )


def downgrade() -> None:
    op.drop_table('open_data_sizes')
