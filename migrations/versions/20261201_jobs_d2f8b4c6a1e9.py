"""Jobs done outside requests (text vectors), claimed by workers

Revision ID: d2f8b4c6a1e9
Revises: c7d3e9a1f5b2
Create Date: 2026-12-01 07:00:00

Vectors were computed in requests, without neighbour lists: they are dropped and a job is queued for
every proposal, so that the worker computes each vector once more with its neighbours.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'd2f8b4c6a1e9'
down_revision = 'c7d3e9a1f5b2'
branch_labels = None
depends_on = None

VECTOR_JOB = "proposal.vector"  # app.proposals.vectors.KIND, written out: a migration does not change with the code


def upgrade() -> None:
    jobs = op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('run_after', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('done_at', app.core.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_pending', ['id'], unique=False, postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))

    op.create_table('proposal_neighbours',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('neighbour_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['neighbour_id'], ['proposals.id'], name=op.f('fk_proposal_neighbours_neighbour_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_neighbours_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', 'neighbour_id', name=op.f('pk_proposal_neighbours'))
    )
    with op.batch_alter_table('proposal_neighbours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_neighbours_neighbour_id'), ['neighbour_id'], unique=False)

    op.execute("DELETE FROM proposal_vectors")
    with op.batch_alter_table('proposal_vectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('neighbour_floor', sa.Double(), nullable=False))

    proposal_ids = op.get_bind().execute(sa.text("SELECT id FROM proposals ORDER BY id")).scalars().all()
    moment = datetime.now(UTC)
    if proposal_ids:
        op.bulk_insert(jobs, [{"kind": VECTOR_JOB, "payload": {"proposal_id": proposal_id}, "created_at": moment,
                               "run_after": moment, "attempts": 0} for proposal_id in proposal_ids])


def downgrade() -> None:
    with op.batch_alter_table('proposal_vectors', schema=None) as batch_op:
        batch_op.drop_column('neighbour_floor')

    with op.batch_alter_table('proposal_neighbours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_neighbours_neighbour_id'))

    op.drop_table('proposal_neighbours')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_pending', postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))

    op.drop_table('jobs')
