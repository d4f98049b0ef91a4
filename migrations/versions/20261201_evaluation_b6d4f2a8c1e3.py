"""Evaluation: criteria, scores, conflicts of interest, assignments, private notes

Revision ID: b6d4f2a8c1e3
Revises: a3c8e1f7b9d2
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

revision = 'b6d4f2a8c1e3'
down_revision = 'a3c8e1f7b9d2'
branch_labels = None
depends_on = None

# The default criteria as app/committee/evaluation.py gives them to new consultations, copied here: a
# migration keeps what it did even when the application's defaults change later.
DEFAULT_CRITERIA = (
    ("Utilité", "Le besoin est réel et partagé ; le service y répond."),
    ("Maturité", "La solution existe, fonctionne et peut être déployée rapidement."),
    ("Réutilisabilité", "D'autres collectivités peuvent l'adopter sans la refaire."),
    ("Engagement open source", "Le code et les données sont ouverts, sous licence libre, et le resteront."),
    ("Rapport coût-efficacité", "Le budget demandé est à la mesure du service rendu."),
)


def upgrade() -> None:
    criteria = op.create_table('evaluation_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('weight', sa.SmallInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('weight > 0', name=op.f('ck_evaluation_criteria_weight_positive')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_evaluation_criteria_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_criteria')),
    sa.UniqueConstraint('consultation_id', 'name', name=op.f('uq_evaluation_criteria_consultation_id_name'))
    )
    op.create_table('committee_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_committee_notes_author_id_users')),
    sa.ForeignKeyConstraint(['parent_id'], ['committee_notes.id'], name=op.f('fk_committee_notes_parent_id_committee_notes')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_committee_notes_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_notes'))
    )
    op.create_index('ix_committee_notes_proposal', 'committee_notes', ['proposal_id', 'created_at'], unique=False)
    op.create_table('conflict_declarations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seat_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_conflict_declarations_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['seat_id'], ['committee_seats.id'], name=op.f('fk_conflict_declarations_seat_id_committee_seats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_declarations')),
    sa.UniqueConstraint('seat_id', 'proposal_id', name=op.f('uq_conflict_declarations_seat_id_proposal_id'))
    )
    op.create_index(op.f('ix_conflict_declarations_proposal_id'), 'conflict_declarations', ['proposal_id'], unique=False)
    op.create_table('evaluation_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_evaluation_assignments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], name=op.f('fk_evaluation_assignments_evaluator_id_users')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_evaluation_assignments_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_assignments')),
    sa.UniqueConstraint('proposal_id', 'evaluator_id', name=op.f('uq_evaluation_assignments_proposal_id_evaluator_id'))
    )
    op.create_table('evaluation_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('value BETWEEN 0 AND 5', name=op.f('ck_evaluation_scores_value_between_0_and_5')),
    sa.ForeignKeyConstraint(['criterion_id'], ['evaluation_criteria.id'], name=op.f('fk_evaluation_scores_criterion_id_evaluation_criteria')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_evaluation_scores_member_id_users')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_evaluation_scores_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scores')),
    sa.UniqueConstraint('proposal_id', 'criterion_id', 'member_id', name=op.f('uq_evaluation_scores_proposal_id_criterion_id_member_id'))
    )
    op.create_index(op.f('ix_evaluation_scores_criterion_id'), 'evaluation_scores', ['criterion_id'], unique=False)
    # Data: the consultations made before evaluation existed get the default criteria, each of weight 1.
    consultations = sa.table('consultations', sa.column('id', sa.Integer()))
    ids = op.get_bind().scalars(sa.select(consultations.c.id).order_by(consultations.c.id)).all()
    if ids:
        op.bulk_insert(criteria, [{'consultation_id': consultation_id, 'name': name, 'description': description,
                                   'weight': 1, 'position': position}
                                  for consultation_id in ids
                                  for position, (name, description) in enumerate(DEFAULT_CRITERIA)])


def downgrade() -> None:
    op.drop_index(op.f('ix_evaluation_scores_criterion_id'), table_name='evaluation_scores')
    op.drop_table('evaluation_scores')
    op.drop_table('evaluation_assignments')
    op.drop_index(op.f('ix_conflict_declarations_proposal_id'), table_name='conflict_declarations')
    op.drop_table('conflict_declarations')
    op.drop_index('ix_committee_notes_proposal', table_name='committee_notes')
    op.drop_table('committee_notes')
    op.drop_table('evaluation_criteria')
