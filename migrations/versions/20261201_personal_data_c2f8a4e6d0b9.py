"""Personal data: when an account was deleted, and its last sign-in, from which retention counts

Revision ID: c2f8a4e6d0b9
Revises: b7e3d9a1c5f8
Create Date: 2026-12-01 11:31:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'c2f8a4e6d0b9'
down_revision = 'b7e3d9a1c5f8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('last_seen_at', app.core.db.UTCDateTime(), nullable=True))
    op.add_column('users', sa.Column('deleted_at', app.core.db.UTCDateTime(), nullable=True))
    # Nobody's sign-ins were recorded until now: retention counts from this migration, so that no account is
    # removed for lack of a date.
    users = sa.table('users', sa.column('last_seen_at', app.core.db.UTCDateTime()))
    op.get_bind().execute(users.update().values(last_seen_at=datetime.now(UTC)))


def downgrade() -> None:
    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.drop_column('users', 'deleted_at')
    op.drop_column('users', 'last_seen_at')
