"""Supporting one's own proposals (a setting); the tally stored as its whole file

Revision ID: a8e4b2c6d9f1
Revises: f3a9c1d7e2b4
Create Date: 2026-12-01 04:00:00
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = 'a8e4b2c6d9f1'
down_revision = 'f3a9c1d7e2b4'
branch_labels = None
depends_on = None

# The header the stored lines were published under before the file itself was stored: with it, each stored
# tally is a whole file again, and its digest that of the file (what `sha256sum` gives).
OLD_HEADER = "proposal_id,organization,cast_at\n"
tallies = sa.table('tallies', sa.column('consultation_id', sa.Integer), sa.column('digest', sa.String),
                   sa.column('content', sa.Text))


def upgrade() -> None:
    op.add_column('consultations', sa.Column('can_support_own_proposals', sa.Boolean(), server_default=sa.false(),
                                             nullable=False))
    with op.batch_alter_table('tallies') as batch_op:
        batch_op.alter_column('lines', new_column_name='content')
    connection = op.get_bind()
    for consultation_id, lines in connection.execute(sa.select(tallies.c.consultation_id, tallies.c.content)).all():
        content = OLD_HEADER + lines
        connection.execute(tallies.update().where(tallies.c.consultation_id == consultation_id).values(
            content=content, digest=hashlib.sha256(content.encode()).hexdigest()))


def downgrade() -> None:
    connection = op.get_bind()
    for consultation_id, content in connection.execute(sa.select(tallies.c.consultation_id, tallies.c.content)).all():
        lines = content.split("\n", 1)[1]
        connection.execute(tallies.update().where(tallies.c.consultation_id == consultation_id).values(
            content=lines, digest=hashlib.sha256(lines.encode()).hexdigest()))
    with op.batch_alter_table('tallies') as batch_op:
        batch_op.alter_column('content', new_column_name='lines')
    # Not in batch mode: on SQLite it would copy the table and drop the original, which with foreign keys on
    # fails (or cascades) on the rows referencing it; SQLite (3.35 and later) alters a column in place.
    op.drop_column('consultations', 'can_support_own_proposals')
