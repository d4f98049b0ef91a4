"""The committee's decisions and answers, and their publication by the chair.

Each listed proposal gets an answer state (evaluating, laureate, not retained) and a public answer text.
Laureates get a granted amount: the total granted never exceeds the consultation's envelope, also when two
members decide at once (the consultation row is locked first: FOR UPDATE on PostgreSQL, SQLite having one
writer at a time). Answers are drafts kept in the proposals' columns: nothing of them is shown publicly
(`permissions.public_answer`) until the chair publishes them all at once, in one transaction, which also
queues the mails to the organizations concerned and audits the digest of what was published.

Answer templates, one per state, hold placeholders (PLACEHOLDERS) replaced when applied to proposals.

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and flush
without committing: the caller commits once.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from app.accounts.models import User
from app.accounts.services import check_current_password
from app.committee.models import AnswerTemplate
from app.committee.permissions import why_not_decide, why_not_publish_results
from app.consultations.models import Consultation
from app.core import audit, clock
from app.core.errors import RuleViolation, refuse_if
from app.core.mail import queue_mail
from app.core.web import euros, public_url
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import DeliveryMode, NotificationKind
from app.proposals.models import AnswerState, Proposal
from app.proposals.search import is_listed

DECIDED_STATES = (AnswerState.EVALUATING, AnswerState.LAUREATE, AnswerState.NOT_RETAINED)
ANSWER_MAX = 5000
REASON_MAX = 2000
TEMPLATE_MAX = 5000

# The placeholders an answer template may hold, and what each becomes for a proposal.
PLACEHOLDERS = {
    "{titre}": (_l("le titre de la proposition"), lambda proposal: proposal.title),
    "{organisation}": (_l("l'organisation qui la porte"), lambda proposal: proposal.organization.name),
    "{montant}": (_l("le montant accordé"), lambda proposal: euros(proposal.granted_amount_cents)),
    "{montant_demande}": (_l("le budget demandé"), lambda proposal: euros(proposal.requested_budget_cents)),
    "{consultation}": (_l("le titre de la consultation"), lambda proposal: proposal.consultation.title),
}


@dataclass
class Envelope:
    """The consultation's budget envelope and what the laureates are granted from it."""

    budget_cents: int
    granted_cents: int

    @property
    def left_cents(self) -> int:
        return self.budget_cents - self.granted_cents


@dataclass
class Readiness:
    """What stands in the way of publishing the answers: proposals without an answer (no decision or no text),
    laureates without a granted amount."""

    unanswered: int
    laureates_without_amount: int

    @property
    def refusal(self) -> str | None:
        if self.unanswered:
            return ngettext("%(num)d proposition n'a pas encore de réponse (un état et un texte) : la publication "
                            "attend une réponse pour chacune.",
                            "%(num)d propositions n'ont pas encore de réponse (un état et un texte) : la publication "
                            "attend une réponse pour chacune.", self.unanswered)
        if self.laureates_without_amount:
            return ngettext("%(num)d lauréate n'a pas de montant accordé.",
                            "%(num)d lauréates n'ont pas de montant accordé.", self.laureates_without_amount)
        return None


def listed_proposals(consultation: Consultation):
    """Select of the proposals the committee answers: the consultation's listed proposals."""
    return sa.select(Proposal).where(Proposal.consultation_id == consultation.id, is_listed())


def lacks_answer():
    """The condition of a proposal still without an answer: no decision, or no text."""
    return sa.or_(Proposal.answer_state == AnswerState.NOT_ANSWERED, Proposal.answer_text.is_(None),
                  sa.func.trim(Proposal.answer_text) == "")


def proposals_to_answer(consultation: Consultation, *, state: str | None = None,
                        missing_only: bool = False) -> list[Proposal]:
    """The committee's list: listed proposals by title, of one answer state, or only those lacking an answer."""
    statement = listed_proposals(consultation).order_by(Proposal.title, Proposal.id)
    if state:
        statement = statement.where(Proposal.answer_state == state)
    if missing_only:
        statement = statement.where(lacks_answer())
    return list(db.session.scalars(statement))


def envelope_of(consultation: Consultation) -> Envelope:
    granted = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Proposal.granted_amount_cents), 0)).where(
        Proposal.consultation_id == consultation.id, is_listed(), Proposal.answer_state == AnswerState.LAUREATE))
    return Envelope(consultation.budget_envelope_cents, int(granted))


def state_counts(consultation: Consultation) -> dict[str, int]:
    """How many listed proposals are in each answer state."""
    counted = dict(db.session.execute(listed_proposals(consultation).with_only_columns(
        Proposal.answer_state, sa.func.count()).group_by(Proposal.answer_state)).all())
    return {state: counted.get(state, 0) for state in AnswerState}


def readiness(consultation: Consultation) -> Readiness:
    def count(condition) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(
            listed_proposals(consultation).where(condition).subquery()))
    return Readiness(count(lacks_answer()), count(sa.and_(Proposal.answer_state == AnswerState.LAUREATE,
                                                          sa.func.coalesce(Proposal.granted_amount_cents, 0) <= 0)))


def _lock(consultation: Consultation) -> None:
    """Serialise the decisions and the publication of one consultation until commit (PostgreSQL: the row lock;
    SQLite: a transaction holds the only write lock from its start), and read it again once locked."""
    db.session.execute(sa.select(Consultation).where(Consultation.id == consultation.id)
                       .with_for_update().execution_options(populate_existing=True))


def _answerable(consultation: Consultation, proposal: Proposal) -> None:
    if proposal.consultation_id != consultation.id or not db.session.scalar(
            sa.select(sa.exists().where(Proposal.id == proposal.id, is_listed()))):
        raise RuleViolation(_("Seules les propositions publiées de cette consultation, non fusionnées, reçoivent "
                              "une réponse."))


def decide(proposal: Proposal, *, state: str, by: User, granted_amount_cents: int | None = None,
           reason: str = "", now: datetime | None = None) -> Proposal:
    """Set the committee's decision on `proposal`: evaluating, laureate or not retained, with its reason.

    A laureate is granted an amount above zero, with a written reason; more than its requested budget (or
    any amount without one) is explained in that reason. The laureates' total never exceeds the envelope.
    Only a laureate keeps a granted amount."""
    now = now or clock.now()
    consultation = proposal.consultation
    refuse_if(why_not_decide(by, consultation, now))
    if state not in DECIDED_STATES:
        raise RuleViolation(_("Choisissez l'état de la réponse."), field="state")
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise RuleViolation(_("Le motif compte %(max)d caractères au plus.", max=REASON_MAX), field="reason")
    _lock(consultation)
    _answerable(consultation, proposal)
    amount = granted_amount_cents if state == AnswerState.LAUREATE else None
    if (state, amount, reason or None) == (proposal.answer_state, proposal.granted_amount_cents,
                                           proposal.decision_reason):
        return proposal  # saved again unchanged: nothing to decide, nothing to audit
    if state == AnswerState.LAUREATE:
        _check_grant(proposal, amount, reason)
    before = {"state": proposal.answer_state, "amount": proposal.granted_amount_cents}
    proposal.answer_state, proposal.granted_amount_cents = state, amount
    proposal.decision_reason, proposal.decided_by, proposal.decided_at = reason or None, by, now
    audit.record("decision.decide", actor=by, subject=proposal, data={
        "state": state, "granted_amount_cents": amount, "requested_budget_cents": proposal.requested_budget_cents,
        "reason": reason, "before": before})
    db.session.flush()
    return proposal


def _check_grant(proposal: Proposal, amount: int | None, reason: str) -> None:
    if not amount or amount <= 0:
        raise RuleViolation(_("Indiquez le montant accordé à cette lauréate."), field="granted_amount")
    requested = proposal.requested_budget_cents
    if not reason and (requested is None or amount > requested):
        raise RuleViolation(_("Le montant accordé dépasse le budget demandé (%(requested)s) : écrivez pourquoi dans "
                              "le motif.", requested=euros(requested) if requested else _("aucun")),
                            field="reason")
    if not reason:
        raise RuleViolation(_("Écrivez le motif de la décision."), field="reason")
    others = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Proposal.granted_amount_cents), 0)).where(
        Proposal.consultation_id == proposal.consultation_id, Proposal.id != proposal.id, is_listed(),
        Proposal.answer_state == AnswerState.LAUREATE))
    envelope = proposal.consultation.budget_envelope_cents
    if others + amount > envelope:
        raise RuleViolation(_("Ce montant dépasserait l'enveloppe : %(granted)s sont déjà accordés sur %(envelope)s, "
                              "il reste %(left)s.", granted=euros(others), envelope=euros(envelope),
                              left=euros(max(envelope - others, 0))), field="granted_amount")


def write_answer(proposal: Proposal, text: str, *, by: User, now: datetime | None = None) -> Proposal:
    """Write the public text of the committee's answer to `proposal` (a draft until publication)."""
    consultation = proposal.consultation
    refuse_if(why_not_decide(by, consultation, now))
    _answerable(consultation, proposal)
    text = (text or "").strip()
    if len(text) > ANSWER_MAX:
        raise RuleViolation(_("La réponse compte %(max)d caractères au plus.", max=ANSWER_MAX), field="answer_text")
    if text == (proposal.answer_text or ""):
        return proposal
    audit.record("decision.answer", actor=by, subject=proposal, data={"text": text,
                                                                      "before": proposal.answer_text or ""})
    proposal.answer_text = text or None
    db.session.flush()
    return proposal


def templates_of(consultation: Consultation) -> dict[str, str]:
    """The consultation's answer templates by state ("" where none was written)."""
    found = dict(db.session.execute(sa.select(AnswerTemplate.state, AnswerTemplate.body)
                                    .where(AnswerTemplate.consultation_id == consultation.id)).all())
    return {state: found.get(state, "") for state in DECIDED_STATES}


def save_template(consultation: Consultation, state: str, body: str, *, by: User,
                  now: datetime | None = None) -> AnswerTemplate | None:
    """Write the answer template of one state; its placeholders must be known ones."""
    now = now or clock.now()
    refuse_if(why_not_decide(by, consultation, now))
    if state not in DECIDED_STATES:
        raise RuleViolation(_("Choisissez l'état de la réponse."), field="state")
    body = (body or "").strip()
    if len(body) > TEMPLATE_MAX:
        raise RuleViolation(_("Un modèle compte %(max)d caractères au plus.", max=TEMPLATE_MAX), field=state)
    unknown = sorted(set(_braced(body)) - set(PLACEHOLDERS))
    if unknown:
        raise RuleViolation(_("Champ inconnu dans le modèle : %(names)s. Les champs possibles sont %(known)s.",
                              names=", ".join(unknown), known=", ".join(PLACEHOLDERS)), field=state)
    template = db.session.scalar(sa.select(AnswerTemplate).where(AnswerTemplate.consultation_id == consultation.id,
                                                                 AnswerTemplate.state == state))
    if (template.body if template else "") == body:
        return template
    audit.record("decision.template", actor=by, subject=consultation, data={
        "state": state, "body": body, "before": template.body if template else ""})
    if template is None:
        template = AnswerTemplate(consultation=consultation, state=state)
        db.session.add(template)
    template.body, template.updated_by_id, template.updated_at = body, by.id, now
    db.session.flush()
    return template


def _braced(text: str) -> list[str]:
    """The {words} in a template's text."""
    return re.findall(r"\{[^{}\s]*\}", text)


def fill(template: str, proposal: Proposal) -> str:
    """A template's text with its placeholders replaced by the proposal's values."""
    for name, (_label, value) in PLACEHOLDERS.items():
        if name in template:
            template = template.replace(name, value(proposal))
    return template


def apply_templates(consultation: Consultation, proposal_ids: Iterable[int], *, by: User,
                    now: datetime | None = None) -> list[Proposal]:
    """Write to each chosen proposal the template of its answer state, filled for it (replacing its text):
    each answer can then be edited one by one. Refused whole when one of them has no state with a template."""
    now = now or clock.now()
    refuse_if(why_not_decide(by, consultation, now))
    wanted = list(dict.fromkeys(proposal_ids))
    if not wanted:
        raise RuleViolation(_("Cochez au moins une proposition."), field="proposal_ids")
    proposals = list(db.session.scalars(listed_proposals(consultation).where(Proposal.id.in_(wanted))
                                        .order_by(Proposal.id)))
    if len(proposals) != len(wanted):
        raise RuleViolation(_("Seules les propositions publiées de cette consultation, non fusionnées, reçoivent "
                              "une réponse."), field="proposal_ids")
    templates = templates_of(consultation)
    for proposal in proposals:
        if proposal.answer_state == AnswerState.NOT_ANSWERED:
            raise RuleViolation(_("« %(title)s » n'a pas encore d'état de réponse : décidez d'abord, puis appliquez "
                                  "le modèle de cet état.", title=proposal.title), field="proposal_ids")
        if not templates[proposal.answer_state]:
            raise RuleViolation(_("Il n'y a pas de modèle pour l'état « %(state)s » : écrivez-le d'abord.",
                                  state=AnswerState(proposal.answer_state).label), field="proposal_ids")
    for proposal in proposals:
        proposal.answer_text = fill(templates[proposal.answer_state], proposal)
    audit.record("decision.apply_templates", actor=by, subject=consultation, data={
        "proposals": [proposal.id for proposal in proposals],
        "states": sorted({proposal.answer_state for proposal in proposals})})
    db.session.flush()
    return proposals


def canonical_results(consultation: Consultation) -> bytes:
    """What publishing makes public, serialised canonically: UTF-8 JSON, keys sorted, no spaces, of
    {"consultation": slug, "envelope_cents": …, "answers": [{"id", "state", "text", "granted_amount_cents"} for
    each listed proposal, by id]}. Its SHA-256 is the digest audited with the publication."""
    rows = db.session.execute(listed_proposals(consultation).with_only_columns(
        Proposal.id, Proposal.answer_state, Proposal.answer_text, Proposal.granted_amount_cents)
        .order_by(Proposal.id)).all()
    content = {"consultation": consultation.slug, "envelope_cents": consultation.budget_envelope_cents,
               "answers": [{"id": id_, "state": state, "text": text, "granted_amount_cents": amount}
                           for id_, state, text, amount in rows]}
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def published_digest(consultation: Consultation) -> str:
    """The SHA-256 (hex) of the canonical serialisation of the answers, recomputed from the database: equal to
    the digest stored and audited at publication as long as nothing published has changed."""
    return hashlib.sha256(canonical_results(consultation)).hexdigest()


def publish_results(consultation: Consultation, *, by: User, password: str, now: datetime | None = None) -> str:
    """Publish every answer at once, by the chair, who types their password again: the answers become public,
    the digest of what was published is stored and audited, the organizations concerned are told by mail.
    All in the caller's transaction: a failure anywhere leaves nothing published and no mail queued.
    Returns the digest."""
    now = now or clock.now()
    refuse_if(why_not_publish_results(by, consultation, now))
    check_current_password(by, password)
    _lock(consultation)
    refuse_if(why_not_publish_results(by, consultation, now))  # read again once locked: published meanwhile?
    refuse_if(readiness(consultation).refusal)
    envelope = envelope_of(consultation)
    if envelope.left_cents < 0:  # only if the envelope was lowered after the decisions
        raise RuleViolation(_("Les montants accordés (%(granted)s) dépassent l'enveloppe (%(envelope)s).",
                              granted=euros(envelope.granted_cents), envelope=euros(envelope.budget_cents)))
    db.session.execute(sa.update(Proposal).where(Proposal.id.in_(
        listed_proposals(consultation).with_only_columns(Proposal.id))).values(answered_at=now))
    digest = published_digest(consultation)
    consultation.results_published_at, consultation.results_digest = now, digest
    proposals = list(db.session.scalars(listed_proposals(consultation).order_by(Proposal.id)
                                        .execution_options(populate_existing=True)))
    audit.record("results.publish", actor=by, subject=consultation, data={
        "digest": digest, "answers": len(proposals), "granted_cents": envelope.granted_cents,
        "laureates": sum(proposal.answer_state == AnswerState.LAUREATE for proposal in proposals)})
    _notify(consultation, proposals)
    db.session.flush()
    return digest


FOLLOWED = NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY


def told_of_answers(proposals: list[Proposal]) -> list[tuple[str, object, dict[User, list[Proposal]]]]:
    """Who hears of these answers, as (template, subject, {person: their proposals}): the members of the
    organizations carrying or co-sponsoring a proposal (its answer), then of those supporting it (its outcome)."""
    carriers, supporters = notifications.organizations_following([proposal.id for proposal in proposals])
    return [(template, subject, notifications.audience(pairs, proposals)) for pairs, template, subject in (
        (carriers, "results_answer", _l("La réponse du comité à vos propositions")),
        (supporters, "results_outcome", _l("Le résultat des propositions que vous avez soutenues")))]


def _notify(consultation: Consultation, proposals: list[Proposal]) -> None:
    """One mail per person for the proposals their organizations carry or co-sponsor (the answer), one for those
    they supported (the outcome), in their language, to those who chose to hear at once (the others, who chose
    a daily digest, find the answers there)."""
    for template, subject, theirs in told_of_answers(proposals):
        for user in notifications.choosing(theirs, FOLLOWED, DeliveryMode.IMMEDIATE):
            queue_mail(user, subject, template, user=user, consultation=consultation,
                       proposals=[(proposal, public_url("proposals.detail", proposal_id=proposal.id))
                                  for proposal in theirs[user]], **notifications.mail_footer(user, FOLLOWED))
