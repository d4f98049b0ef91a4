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


def downgrade() -> None:
    with op.batch_alter_table('consultations') as batch_op:
        batch_op.drop_column('results_published_at')
