"""ANSM requests: a small organization asks for the free tailored diagnostic

Revision ID: a1c4e7f2b8d3
Revises: f1a7c3e9b5d2
Create Date: 2026-12-01 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'a1c4e7f2b8d3'
down_revision = 'f1a7c3e9b5d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diagnostic_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('contact_name', sa.String(length=120), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('admin_note', sa.Text(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_diagnostic_requests_organization_id_organizations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_diagnostic_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostic_requests'))
    )
    op.create_index(op.f('ix_diagnostic_requests_organization_id'), 'diagnostic_requests', ['organization_id'],
                    unique=False)
    op.create_index('uq_diagnostic_requests_open_organization_id', 'diagnostic_requests', ['organization_id'],
                    unique=True, sqlite_where=sa.text("status <> 'closed'"),
                    postgresql_where=sa.text("status <> 'closed'"))


def downgrade() -> None:
    op.drop_index('uq_diagnostic_requests_open_organization_id', table_name='diagnostic_requests',
                  sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
    op.drop_index(op.f('ix_diagnostic_requests_organization_id'), table_name='diagnostic_requests')
    op.drop_table('diagnostic_requests')
