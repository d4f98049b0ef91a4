"""Evaluation by the committee: criteria and their weights, members' scores (0 to 5, with a comment),
conflicts of interest, proposals assigned to evaluators, private notes, and the weighted mean every
ranking reads (`evaluations`).

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and flush
without committing: the caller commits once. Every change is written in the audit log.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.committee.models import (CommitteeNote, CommitteeSeat, ConflictDeclaration, Criterion, EvaluationAssignment,
                                  Score)
from app.committee.permissions import (committee_seat, conflicts, is_evaluable,
                                       why_not_declare_conflict, why_not_edit_criteria, why_not_evaluation_work,
                                       why_not_score)
from app.consultations.models import Consultation
from app.core import audit, clock
from app.core.db import MAX_ID
from app.committee.queries import scored_by
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.proposals.models import Proposal
from app.proposals.search import is_listed

# The criteria every consultation starts with (SPEC, "Committee"), stored in French: they are the
# committee's words, which it may change before evaluation starts.
DEFAULT_CRITERIA = (
    ("Utilité", "Le besoin est réel et partagé ; le service y répond."),
    ("Maturité", "La solution existe, fonctionne et peut être déployée rapidement."),
    ("Réutilisabilité", "D'autres collectivités peuvent l'adopter sans la refaire."),
    ("Engagement open source", "Le code et les données sont ouverts, sous licence libre, et le resteront."),
    ("Rapport coût-efficacité", "Le budget demandé est à la mesure du service rendu."),
)
SCORE_RANGE = (0, 5)
WEIGHT_RANGE = (1, 10)
NAME_LENGTH = (2, 80)
DESCRIPTION_MAX = 1000
COMMENT_MAX = 2000
REASON_LENGTH = (3, 1000)
NOTE_MAX = 5000


# Criteria

def add_default_criteria(consultation: Consultation) -> list[Criterion]:
    """Give a new consultation the default criteria, each of weight 1 (called where consultations are made)."""
    criteria = [Criterion(consultation=consultation, name=name, description=description, weight=1, position=position)
                for position, (name, description) in enumerate(DEFAULT_CRITERIA)]
    db.session.add_all(criteria)
    return criteria


def criteria_of(consultation: Consultation) -> list[Criterion]:
    return list(db.session.scalars(sa.select(Criterion).where(Criterion.consultation_id == consultation.id)
                                   .order_by(Criterion.position, Criterion.id)))


def evaluation_started(consultation: Consultation) -> bool:
    """Evaluation starts with the first score given, whoever gives it."""
    return db.session.scalar(sa.select(sa.exists().where(Score.criterion_id == Criterion.id,
                                                         Criterion.consultation_id == consultation.id)))


@dataclass
class CriterionInput:
    """One row of the criteria form: an existing criterion (id) or a new one (id None)."""

    id: int | None
    name: str
    description: str = ""
    weight: int = 1
    delete: bool = False


def update_criteria(consultation: Consultation, rows: list[CriterionInput], *, by: User,
                    now: datetime | None = None) -> list[Criterion]:
    """Rename, describe, weigh, add or delete criteria, in the order given, until the first score."""
    # Locked first, then checked: a colleague's first score waits for this change, or this change for it.
    current = {criterion.id: criterion for criterion in db.session.scalars(
        sa.select(Criterion).where(Criterion.consultation_id == consultation.id).with_for_update())}
    refuse_if(why_not_edit_criteria(by, consultation, evaluation_started(consultation), now))
    before = _described(criteria_of(consultation))
    kept = [row for row in rows if not row.delete]
    _check_criteria(kept, current)
    for row in rows:
        if row.delete and row.id in current:
            db.session.delete(current[row.id])
    db.session.flush()  # names freed by deleted criteria may be taken by others
    for position, row in enumerate(kept):
        criterion = current[row.id] if row.id is not None else Criterion(consultation=consultation)
        criterion.name, criterion.description = " ".join(row.name.split()), row.description.strip()
        criterion.weight, criterion.position = row.weight, position
        db.session.add(criterion)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # two criteria swapping names: the database checks each row as it goes
        raise RuleViolation(_("Changez un nom à la fois quand deux critères échangent leurs noms.")) from None
    after = _described(criteria_of(consultation))
    if after != before:
        audit.record("evaluation.criteria", actor=by, subject=consultation, data={"before": before, "after": after})
    return criteria_of(consultation)


def _check_criteria(rows: list[CriterionInput], current: Mapping[int, Criterion]) -> None:
    if not rows:
        raise RuleViolation(_("Gardez au moins un critère."))
    if any(row.id is not None and row.id not in current for row in rows):
        raise RuleViolation(_("Un critère a été supprimé entre-temps : rechargez la page et recommencez."))
    names = [" ".join(row.name.split()) for row in rows]
    for name, row in zip(names, rows):
        if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1]:
            raise RuleViolation(_("Le nom d'un critère compte entre %(min)d et %(max)d caractères.",
                                  min=NAME_LENGTH[0], max=NAME_LENGTH[1]), field="criteria")
        if not WEIGHT_RANGE[0] <= row.weight <= WEIGHT_RANGE[1]:
            raise RuleViolation(_("Le poids de « %(name)s » est un entier de %(min)d à %(max)d.", name=name,
                                  min=WEIGHT_RANGE[0], max=WEIGHT_RANGE[1]), field="criteria")
        if len(row.description.strip()) > DESCRIPTION_MAX:
            raise RuleViolation(_("La description de « %(name)s » compte %(max)d caractères au plus.", name=name,
                                  max=DESCRIPTION_MAX), field="criteria")
    if len({name.lower() for name in names}) != len(names):
        raise RuleViolation(_("Deux critères ne portent pas le même nom."), field="criteria")


def _described(criteria: list[Criterion]) -> list[dict]:
    """The criteria as the log keeps them."""
    return [{"name": criterion.name, "weight": criterion.weight, "description": criterion.description}
            for criterion in criteria]


# Scores

def score_proposal(proposal: Proposal, values: Mapping[int, tuple[int | None, str]], *, by: User,
                   now: datetime | None = None) -> list[Score]:
    """Record `by`'s scores of `proposal`: for each criterion id, a value from 0 to 5 and a comment, or no
    value (the criterion is not scored, or no longer). Returns the member's scores of the proposal."""
    now = now or clock.now()
    refuse_if(why_not_score(by, proposal, now))
    criteria = {criterion.id: criterion for criterion in criteria_of(proposal.consultation)}
    if set(values) - set(criteria):
        raise RuleViolation(_("Les critères ont changé entre-temps : rechargez la page et recommencez."))
    _check_scores(values, criteria)
    mine = {score.criterion_id: score for score in db.session.scalars(
        sa.select(Score).where(Score.proposal_id == proposal.id, Score.member_id == by.id).with_for_update())}
    changed = {}
    for criterion_id, (value, comment) in values.items():
        score, comment = mine.get(criterion_id), comment.strip()
        if value is None:
            if score is not None:
                db.session.delete(score)
                changed[criteria[criterion_id].name] = None
        elif score is None or (score.value, score.comment) != (value, comment):
            score = score or Score(proposal_id=proposal.id, criterion_id=criterion_id, member_id=by.id)
            score.value, score.comment, score.updated_at = value, comment, now
            db.session.add(score)
            changed[criteria[criterion_id].name] = value
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same member's other tab scored meanwhile (unique proposal × criterion × member)
        raise RuleViolation(_("Vos notes ont été enregistrées entre-temps : rechargez la page.")) from None
    if changed:
        audit.record("evaluation.score", actor=by, subject=proposal, data={"values": changed})
    return list(db.session.scalars(sa.select(Score).where(Score.proposal_id == proposal.id,
                                                          Score.member_id == by.id)))


def _check_scores(values: Mapping[int, tuple[int | None, str]], criteria: Mapping[int, Criterion]) -> None:
    for criterion_id, (value, comment) in values.items():
        name = criteria[criterion_id].name
        if value is not None and not (isinstance(value, int) and SCORE_RANGE[0] <= value <= SCORE_RANGE[1]):
            raise RuleViolation(_("La note de « %(name)s » va de %(min)d à %(max)d.", name=name,
                                  min=SCORE_RANGE[0], max=SCORE_RANGE[1]), field=f"value_{criterion_id}")
        if value is None and comment.strip():
            raise RuleViolation(_("Notez « %(name)s » pour le commenter.", name=name), field=f"value_{criterion_id}")
        if len(comment.strip()) > COMMENT_MAX:
            raise RuleViolation(_("Le commentaire compte %(max)d caractères au plus.", max=COMMENT_MAX),
                                field=f"comment_{criterion_id}")


def scores_of(proposal: Proposal) -> dict[int, dict[int, Score]]:
    """Each member's scores of the proposal, by member id then criterion id."""
    found = defaultdict(dict)
    for score in db.session.scalars(sa.select(Score).where(Score.proposal_id == proposal.id)):
        found[score.member_id][score.criterion_id] = score
    return dict(found)


@dataclass
class Evaluation:
    """Where a proposal's evaluation stands. A member's weighted score counts once they scored every
    criterion; the mean gives each such member the same weight; the spread is the highest minus the lowest."""

    proposal_id: int
    by_member: dict[int, Fraction] = field(default_factory=dict)
    mean: Fraction | None = None
    spread: Fraction | None = None
    missing: list[User] = field(default_factory=list)  # expected evaluators who have not scored it all yet
    conflicted: set[int] = field(default_factory=set)  # members with a conflict of interest


def evaluations(consultation: Consultation, proposal_ids: Iterable[int]) -> dict[int, Evaluation]:
    """The evaluation of these proposals by the members now seated, in five queries whatever their number:
    the one place the weighted mean is computed (the grid, and every ranking by score)."""
    proposal_ids = list(dict.fromkeys(proposal_ids))
    weights = {criterion.id: criterion.weight for criterion in criteria_of(consultation)}
    members = [seat.user for seat in db.session.scalars(
        sa.select(CommitteeSeat).where(CommitteeSeat.consultation_id == consultation.id)
        .options(joinedload(CommitteeSeat.user)).order_by(CommitteeSeat.id))]
    member_ids = [member.id for member in members]
    conflicted = conflicts(proposal_ids, member_ids)
    values = defaultdict(dict)
    for proposal_id, member_id, criterion_id, value in db.session.execute(
            sa.select(Score.proposal_id, Score.member_id, Score.criterion_id, Score.value)
            .where(Score.proposal_id.in_(proposal_ids), Score.member_id.in_(member_ids))):
        values[proposal_id, member_id][criterion_id] = value
    assigned = defaultdict(set)
    for proposal_id, evaluator_id in db.session.execute(
            sa.select(EvaluationAssignment.proposal_id, EvaluationAssignment.evaluator_id)
            .where(EvaluationAssignment.proposal_id.in_(proposal_ids))):
        assigned[proposal_id].add(evaluator_id)
    result = {}
    for proposal_id in proposal_ids:
        evaluation = result[proposal_id] = Evaluation(proposal_id, conflicted={
            member_id for member_id in member_ids if (member_id, proposal_id) in conflicted})
        for member_id in member_ids:
            scored = values.get((proposal_id, member_id), {})
            if member_id not in evaluation.conflicted and weights and scored.keys() >= weights.keys():
                evaluation.by_member[member_id] = weighted_score(scored, weights)
        if evaluation.by_member:
            marks = evaluation.by_member.values()
            evaluation.mean = sum(marks, Fraction(0)) / len(marks)
            evaluation.spread = max(marks) - min(marks)
        expected = assigned[proposal_id] or set(member_ids)
        evaluation.missing = [member for member in members if member.id in expected
                              and member.id not in evaluation.conflicted and member.id not in evaluation.by_member]
    return result


def weighted_score(values: Mapping[int, int], weights: Mapping[int, int]) -> Fraction:
    """One member's score of a proposal: their values weighed by the criteria's weights, exact."""
    return Fraction(sum(values[criterion_id] * weight for criterion_id, weight in weights.items()),
                    sum(weights.values()))


def weighted_mean(proposal: Proposal) -> Fraction | None:
    """The proposal's weighted mean, None before any member has scored it whole."""
    return evaluations(proposal.consultation, [proposal.id])[proposal.id].mean


# Assignments

def assign_evaluator(consultation: Consultation, proposal_ids: Iterable[int], evaluator: User, *, by: User,
                     now: datetime | None = None) -> list[Proposal]:
    """Give the ticked proposals to a member to evaluate; refused whole, naming them, if the member has a
    conflict of interest with some. Returns the proposals newly given."""
    refuse_if(why_not_evaluation_work(by, consultation, now))
    proposals = _evaluable(consultation, proposal_ids)
    if committee_seat(consultation, evaluator) is None:
        raise RuleViolation(_("Choisissez un membre du comité."), field="evaluator_id")
    conflicted = conflicts([proposal.id for proposal in proposals], [evaluator.id])
    if conflicted:
        titles = ", ".join(f"« {proposal.title} »" for proposal in proposals
                           if (evaluator.id, proposal.id) in conflicted)
        raise RuleViolation(_("%(name)s a un conflit d'intérêts avec : %(titles)s. Décochez ces propositions.",
                              name=evaluator.name, titles=titles), field="proposal_ids")
    already = set(db.session.scalars(sa.select(EvaluationAssignment.proposal_id).where(
        EvaluationAssignment.evaluator_id == evaluator.id,
        EvaluationAssignment.proposal_id.in_([proposal.id for proposal in proposals]))))
    new = [proposal for proposal in proposals if proposal.id not in already]
    for proposal in new:
        try:
            with db.session.begin_nested():
                db.session.add(EvaluationAssignment(proposal_id=proposal.id, evaluator_id=evaluator.id,
                                                    assigned_by_id=by.id, assigned_at=now or clock.now()))
        except IntegrityError:  # a colleague gave it to the same member meanwhile: done either way
            continue
        audit.record("evaluation.assign", actor=by, subject=proposal, data={"user_id": evaluator.id})
    return new


def unassign_evaluator(consultation: Consultation, proposal_ids: Iterable[int], evaluator: User, *, by: User,
                       now: datetime | None = None) -> list[Proposal]:
    """Take the ticked proposals back from a member. Returns those they had."""
    refuse_if(why_not_evaluation_work(by, consultation, now))
    proposals = _evaluable(consultation, proposal_ids)
    taken = []
    for proposal in proposals:
        if _unassign(proposal, evaluator):
            audit.record("evaluation.unassign", actor=by, subject=proposal, data={"user_id": evaluator.id})
            taken.append(proposal)
    return taken


def _unassign(proposal: Proposal, evaluator: User) -> bool:
    return db.session.execute(sa.delete(EvaluationAssignment).where(
        EvaluationAssignment.proposal_id == proposal.id,
        EvaluationAssignment.evaluator_id == evaluator.id)).rowcount > 0


def _evaluable(consultation: Consultation, proposal_ids: Iterable[int]) -> list[Proposal]:
    """The ticked proposals, all of them evaluable proposals of `consultation`."""
    wanted = set(proposal_ids)
    if not wanted:
        raise RuleViolation(_("Cochez au moins une proposition."), field="proposal_ids")
    in_range = {proposal_id for proposal_id in wanted if 0 < proposal_id <= MAX_ID}
    proposals = list(db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(in_range)).order_by(Proposal.id)))
    if len(proposals) != len(wanted) or not all(is_evaluable(proposal, consultation) for proposal in proposals):
        raise RuleViolation(_("Seules les propositions publiées de cette consultation, non fusionnées dans une "
                              "autre, s'évaluent."), field="proposal_ids")
    return proposals


def assigned_evaluators(proposal: Proposal) -> list[User]:
    return list(db.session.scalars(sa.select(User)
                                   .join(EvaluationAssignment, EvaluationAssignment.evaluator_id == User.id)
                                   .where(EvaluationAssignment.proposal_id == proposal.id).order_by(User.name)))


# Conflicts of interest

def declare_conflict(proposal: Proposal, reason: str, *, by: User, now: datetime | None = None) -> ConflictDeclaration:
    """`by` declares, from their seat, a conflict of interest with `proposal`: their scores of it are withdrawn
    and it is no longer given to them."""
    refuse_if(why_not_declare_conflict(by, proposal))
    seat = committee_seat(proposal.consultation, by)
    reason = " ".join(reason.split())
    if not REASON_LENGTH[0] <= len(reason) <= REASON_LENGTH[1]:
        raise RuleViolation(_("Indiquez le motif du conflit d'intérêts (%(min)d à %(max)d caractères).",
                              min=REASON_LENGTH[0], max=REASON_LENGTH[1]), field="reason")
    try:
        with db.session.begin_nested():
            declaration = ConflictDeclaration(seat_id=seat.id, proposal_id=proposal.id, reason=reason,
                                              declared_at=now or clock.now())
            db.session.add(declaration)
    except IntegrityError:  # unique (seat, proposal)
        raise RuleViolation(_("Vous avez déjà déclaré un conflit d'intérêts avec cette proposition."),
                            field="proposal_id") from None
    removed = db.session.execute(sa.delete(Score).where(Score.proposal_id == proposal.id,
                                                        Score.member_id == by.id)).rowcount
    audit.record("evaluation.conflict_declare", actor=by, subject=proposal,
                 data={"user_id": by.id, "reason": reason, "scores_removed": removed,
                       "unassigned": _unassign(proposal, by)})
    return declaration


def withdraw_conflict(proposal: Proposal, *, by: User) -> None:
    """`by` withdraws the conflict of interest they declared with `proposal`."""
    seat = committee_seat(proposal.consultation, by)
    if seat is None:
        raise RuleViolation(_("Seuls les membres du comité déclarent un conflit d'intérêts."))
    declaration = db.session.scalar(sa.select(ConflictDeclaration).where(
        ConflictDeclaration.seat_id == seat.id, ConflictDeclaration.proposal_id == proposal.id).with_for_update())
    if declaration is None:
        raise RuleViolation(_("Vous n'avez pas déclaré de conflit d'intérêts avec cette proposition."))
    db.session.delete(declaration)
    db.session.flush()
    audit.record("evaluation.conflict_withdraw", actor=by, subject=proposal,
                 data={"user_id": by.id, "declared_reason": declaration.reason})


def declared_conflicts(seat: CommitteeSeat) -> list[ConflictDeclaration]:
    return list(db.session.scalars(sa.select(ConflictDeclaration).where(ConflictDeclaration.seat_id == seat.id)
                                   .options(joinedload(ConflictDeclaration.proposal))
                                   .order_by(ConflictDeclaration.declared_at, ConflictDeclaration.id)))


# Notes

def add_note(proposal: Proposal, body: str, *, parent_id: int | None = None, by: User,
             now: datetime | None = None) -> CommitteeNote:
    """A private note on a proposal, or a reply to one (replies hang from the note that opened the thread)."""
    consultation = proposal.consultation
    refuse_if(why_not_evaluation_work(by, consultation, now))
    if not is_evaluable(proposal, consultation):
        raise RuleViolation(_("Seules les propositions publiées de la consultation, non fusionnées dans une autre, "
                              "s'évaluent."))
    body = body.strip()
    if not body:
        raise RuleViolation(_("Écrivez la note."), field="body")
    if len(body) > NOTE_MAX:
        raise RuleViolation(_("Une note compte %(max)d caractères au plus.", max=NOTE_MAX), field="body")
    parent = None
    if parent_id is not None:
        parent = db.session.get(CommitteeNote, parent_id)
        if parent is None or parent.proposal_id != proposal.id:
            raise RuleViolation(_("La note à laquelle vous répondez n'existe plus."))
        parent_id = parent.parent_id or parent.id
    note = CommitteeNote(proposal_id=proposal.id, author=by, parent_id=parent_id, body=body,
                         created_at=now or clock.now())
    db.session.add(note)
    db.session.flush()
    audit.record("evaluation.note", actor=by, subject=proposal,
                 data={"note_id": note.id, **({"reply_to": parent_id} if parent_id else {})})
    return note


def notes_of(proposal: Proposal) -> list[tuple[CommitteeNote, list[CommitteeNote]]]:
    """The proposal's threads, oldest first: each note with its replies."""
    notes = db.session.scalars(sa.select(CommitteeNote).where(CommitteeNote.proposal_id == proposal.id)
                               .options(joinedload(CommitteeNote.author))
                               .order_by(CommitteeNote.created_at, CommitteeNote.id)).all()
    replies = defaultdict(list)
    for note in notes:
        if note.parent_id is not None:
            replies[note.parent_id].append(note)
    return [(note, replies[note.id]) for note in notes if note.parent_id is None]



def grid_proposals(consultation: Consultation, *, issue_id: int | None = None, without_issue: bool = False,
                   assigned_to: int | None = None):
    """The select of the proposals the grid lists: those the committee evaluates, by title, filtered by issue
    and by evaluator."""
    statement = (sa.select(Proposal).where(Proposal.consultation_id == consultation.id, is_listed())
                 .options(joinedload(Proposal.organization)).order_by(Proposal.title, Proposal.id))
    if without_issue:
        statement = statement.where(Proposal.issue_id.is_(None))
    elif issue_id is not None:
        statement = statement.where(Proposal.issue_id == issue_id)
    if assigned_to is not None:
        statement = statement.where(Proposal.id.in_(sa.select(EvaluationAssignment.proposal_id)
                                                    .where(EvaluationAssignment.evaluator_id == assigned_to)))
    return statement



def waiting_for(consultation: Consultation, member: User) -> int:
    """How many proposals given to `member` still wait for their score on every criterion."""
    given = grid_proposals(consultation, assigned_to=member.id).where(
        Proposal.id.not_in(scored_by(member.id, consultation)))
    return db.session.scalar(sa.select(sa.func.count()).select_from(given.order_by(None).subquery()))


def assignments_of(proposal_ids: Iterable[int]) -> dict[int, list[User]]:
    """The members each proposal is given to, by name."""
    found = defaultdict(list)
    for proposal_id, user in db.session.execute(
            sa.select(EvaluationAssignment.proposal_id, User)
            .join(User, User.id == EvaluationAssignment.evaluator_id)
            .where(EvaluationAssignment.proposal_id.in_(list(proposal_ids))).order_by(User.name, User.id)):
        found[proposal_id].append(user)
    return dict(found)
