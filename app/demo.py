"""A realistic demo consultation, its people and organizations, dated around today.

`flask --app wsgi demo load` is idempotent: it creates what is missing and keeps what exists.
"""

from datetime import datetime, timedelta
from functools import cache

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.accounts.models import User
from app.accounts.services import hasher
from app.committee import (budgeting, decisions, evaluation, links, merging, selection, services as committee,
                           suggestions)
from app.committee.models import CommitteeSeat, Issue
from app.consultations.models import Consultation, Phase, PhaseKind, Theme
from app.consultations.phases import calendar_around
from app.core import clock, jobs
from app.extensions import db
from app.organizations.models import Membership, MembershipStatus, Organization, OrganizationKind
from app.organizations.services import normalize_name
from app.proposals.models import AnswerState, Proposal, ProposalState
from app.proposals.similarity import DUPLICATE_THRESHOLD
from app.proposals.moderation import add_comment
from app.proposals.services import Provenance, ProposalInput, import_proposal
from app.votes.models import Support
from app.votes.services import cast_support

DEMO_PASSWORD = "demo-agora-2027"
SLUG = "besoins-numeriques-territoires"

# (kind, INSEE code, name, population, département): real collectivities, found in the
# directory when it is loaded, created with these facts otherwise.
ORGANIZATIONS = {
    "saint-flour": (OrganizationKind.COMMUNE, "15187", "Saint-Flour", 6527, "15"),
    "mauriac": (OrganizationKind.COMMUNE, "15120", "Mauriac", 3523, "15"),
    "cantal": (OrganizationKind.DEPARTEMENT, "15", "Cantal", None, "15"),
}

# email, name, role label printed for newcomers, extra attributes
PEOPLE = [
    ("admin@example.org", "Camille Roux", "administration", {"is_admin": True}),
    ("presidence.comite@example.org", "Hélène Garnier", "présidence du comité", {}),
    ("membre.comite@example.org", "Karim Benali", "membre du comité", {}),
    ("elue@example.org", "Jeanne Martin", "élue, Saint-Flour", {}),
    ("elu@example.org", "Paul Lefèvre", "élu, Saint-Flour", {}),
    ("agente@example.org", "Sophie Durand", "agente, Saint-Flour", {}),
    ("agent@example.org", "Lucas Petit", "agent, Saint-Flour", {}),
    ("elue.mauriac@example.org", "Nadia Cherif", "élue, Mauriac", {}),
    ("agent.cantal@example.org", "Thomas Blanc", "agent, département du Cantal", {}),
    ("nouvelle.agente@example.org", "Inès Moreau", "agente, demande en attente", {}),
]

MEMBERSHIPS = [
    ("elue@example.org", "saint-flour", "elected", MembershipStatus.VERIFIED),
    ("elu@example.org", "saint-flour", "elected", MembershipStatus.VERIFIED),
    ("agente@example.org", "saint-flour", "agent", MembershipStatus.VERIFIED),
    ("agent@example.org", "saint-flour", "agent", MembershipStatus.VERIFIED),
    ("elue.mauriac@example.org", "mauriac", "elected", MembershipStatus.VERIFIED),
    ("agent.cantal@example.org", "cantal", "agent", MembershipStatus.VERIFIED),
    ("nouvelle.agente@example.org", "saint-flour", "agent", MembershipStatus.PENDING),
]

COMMITTEE = [
    ("presidence.comite@example.org", "Association des maires ruraux", True),
    ("membre.comite@example.org", "Direction interministérielle du numérique", False),
]

THEMES = [
    "Démarches en ligne et relation aux usagers",
    "Outils internes et travail des agents",
    "Données, transparence et open data",
    "Inclusion numérique et médiation",
    "Cybersécurité et souveraineté",
    "Transition écologique et mobilités",
    "Éducation, jeunesse et solidarités",
]

DESCRIPTION = (
    "Collectivités et groupements, faites connaître vos besoins numériques et les services que vous "
    "avez construits ou souhaitez construire. Les élus soutiennent ensuite, au nom de leur "
    "collectivité, les propositions qu'ils jugent prioritaires.\n\n"
    "Le comité de pilotage, qui réunit associations d'élus et administrations, regroupe les "
    "contributions en grands enjeux, les évalue puis désigne les lauréats dans la limite de "
    "l'enveloppe. Chaque proposition reçoit une réponse publique."
)


PROPOSALS_FILE = Path(__file__).with_name("demo_proposals.json")
# Authors of the contributions of collectivities that have no demo account of their own.
FIRST_NAMES = ["Claire", "Mathieu", "Aurélie", "Yannick", "Fatou", "Julien", "Sandrine", "Olivier", "Leïla",
               "Bruno", "Émilie", "Hugo", "Nathalie", "Franck", "Céline", "Rachid", "Anne", "Damien"]
LAST_NAMES = ["Bernard", "Dubois", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure",
              "Andre", "Mercier", "Guerin", "Boyer", "Garnier", "Chevalier", "Francois", "Legrand", "Gauthier"]


def _organization(kind: OrganizationKind, code: str, name: str, population: int | None = None,
                  departement: str | None = None) -> Organization:
    """The directory's organization if loaded, else one created with the facts given here."""
    organization = db.session.scalar(sa.select(Organization).filter_by(kind=kind.value, insee_code=code))
    if organization is None:
        organization = Organization(kind=kind.value, insee_code=code, name=name, search_name=normalize_name(name),
                                    population=population, departement_code=departement, is_verified=True,
                                    region_code=code if kind == OrganizationKind.REGION else None,  # as the directory
                                    siren=code if kind == OrganizationKind.EPCI else None)
        db.session.add(organization)
        db.session.flush()
    return organization


def _organization_from_code(code: str, name: str) -> Organization:
    """Codes of the demo file: INSEE code of a commune, SIREN of an EPCI, dep:XX, reg:XX."""
    if code.startswith(("dep:", "reg:")):
        kind = OrganizationKind.DEPARTEMENT if code.startswith("dep:") else OrganizationKind.REGION
        return _organization(kind, code[4:], name, departement=code[4:] if kind == OrganizationKind.DEPARTEMENT
                             else None)
    if len(code) == 9:
        return _organization(OrganizationKind.EPCI, code, name)
    return _organization(OrganizationKind.COMMUNE, code, name, departement=code[:3] if code.startswith("97")
                         else code[:2])


@cache
def _demo_password_hash() -> str:
    return hasher.hash(DEMO_PASSWORD)  # once: Argon2 is slow on purpose


def _user(email: str, name: str, attributes: dict) -> User:
    user = db.session.scalar(sa.select(User).filter_by(email=email))
    if user is None:
        user = User(email=email, name=name, password_hash=_demo_password_hash(),
                    email_confirmed_at=clock.now(), **attributes)
        db.session.add(user)
    return user


def load_demo(phase: PhaseKind = PhaseKind.SUPPORT, now: datetime | None = None,
              reschedule: bool = False) -> Consultation:
    """Create the demo data that is missing; move the calendar only when asked to."""
    now = now or clock.now()
    users = {email: _user(email, name, attributes) for email, name, _label, attributes in PEOPLE}
    organizations = {key: _organization(*facts) for key, facts in ORGANIZATIONS.items()}
    db.session.flush()
    for email, key, role, status in MEMBERSHIPS:
        if not db.session.scalar(sa.select(Membership.id).filter_by(user_id=users[email].id,
                                                                    organization_id=organizations[key].id)):
            verified = status == MembershipStatus.VERIFIED
            db.session.add(Membership(user=users[email], organization=organizations[key], role=role,
                                      status=status, verified_by=users["admin@example.org"] if verified else None,
                                      verified_at=now if verified else None))
    consultation = db.session.scalar(sa.select(Consultation).filter_by(slug=SLUG))
    if consultation is None:
        consultation = Consultation(
            slug=SLUG, title="Besoins et services numériques des territoires 2027", description=DESCRIPTION,
            budget_envelope_cents=1_500_000_00, laureate_target=12, vote_limit=10, minimum_votes_per_user=3,
            eligible_kinds=[OrganizationKind.COMMUNE.value, OrganizationKind.EPCI.value,
                            OrganizationKind.DEPARTEMENT.value, OrganizationKind.REGION.value,
                            OrganizationKind.SYNDICAT.value],
            themes=[Theme(name=name, position=position) for position, name in enumerate(THEMES)],
            committee_seats=[CommitteeSeat(user=users[email], affiliation=affiliation, is_chair=is_chair)
                             for email, affiliation, is_chair in COMMITTEE],
        )
        db.session.add(consultation)
        evaluation.add_default_criteria(consultation)
        reschedule = True
    if reschedule:
        _reschedule(consultation, calendar_around(phase, now))
    db.session.flush()
    if not db.session.scalar(sa.select(Proposal.id).filter_by(consultation_id=consultation.id).limit(1)):
        authors = {org.id: users[email] for email, org in (
            ("agente@example.org", organizations["saint-flour"]),
            ("elue.mauriac@example.org", organizations["mauriac"]),
            ("agent.cantal@example.org", organizations["cantal"]))}
        _load_proposals(consultation, authors, now)
        db.session.flush()
        _discuss_and_support(consultation, authors, now)
    deliberation = consultation.phase(PhaseKind.DELIBERATION)
    if now >= deliberation.starts_at and not db.session.scalar(sa.select(Issue.id).filter_by(
            consultation_id=consultation.id).limit(1)):
        _deliberate(consultation, users, deliberation.starts_at, min(now, deliberation.ends_at))
    selection_phase = consultation.phase(PhaseKind.SELECTION)
    if now >= selection_phase.starts_at and not db.session.scalar(sa.select(Proposal.id).where(
            Proposal.consultation_id == consultation.id, Proposal.decided_at.is_not(None)).limit(1)):
        _select(consultation, users, selection_phase.starts_at, min(now, selection_phase.ends_at),
                publish=now >= selection_phase.ends_at)
    return consultation


def _reschedule(consultation: Consultation, dates) -> None:
    for kind, (start, end) in dates.items():
        existing = consultation.phase(kind)
        if existing is None:
            consultation.phases.append(Phase(kind=kind.value, starts_at=start, ends_at=end))
        else:
            existing.starts_at, existing.ends_at = start, end


def _author_for(organization: Organization, authors: dict[int, User], admin: User) -> User:
    """A verified member of the organization, created for the demo when it has none: every other one
    an elected official (in small communes the mayor often writes), so that many organizations support."""
    if organization.id not in authors:
        number = len(authors)
        name = f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[(number * 7) % len(LAST_NAMES)]}"
        user = _user(f"contact.{organization.kind}.{organization.insee_code}@example.org", name, {})
        db.session.add(Membership(user=user, organization=organization, role="elected" if number % 2 else "agent",
                                  status=MembershipStatus.VERIFIED, verified_by=admin, verified_at=clock.now()))
        authors[organization.id] = user
    return authors[organization.id]


DEMO_COMMENTS = [
    "Même constat chez nous : nous serions prêts à tester un outil commun.",
    "Avez-vous estimé le temps agent gagné ? Cela aiderait à convaincre notre conseil municipal.",
    "Attention à l'hébergement des données : il faut pouvoir les récupérer si le prestataire change.",
    "Notre intercommunalité a un marché en cours sur ce sujet, nous pouvons partager le cahier des charges.",
    "Très utile pour les petites communes sans service informatique.",
    "Le besoin existe aussi outre-mer, avec des contraintes de connexion fortes : prévoir un mode hors ligne.",
]


def _discuss_and_support(consultation: Consultation, authors: dict[int, User], now: datetime) -> None:
    """A few comments during the collect phase; supports from elected officials once the window opened."""
    proposals = list(db.session.scalars(sa.select(Proposal).where(
        Proposal.consultation_id == consultation.id, Proposal.state == ProposalState.PUBLISHED)
        .order_by(Proposal.id)))
    members = [m for user in authors.values() for m in user.memberships if m.counts]
    collect = consultation.phase(PhaseKind.COLLECT)
    for number, text in enumerate(DEMO_COMMENTS):
        member, proposal = members[(number * 5) % len(members)], proposals[(number * 7) % len(proposals)]
        if proposal.organization_id != member.organization_id:
            add_comment(proposal, text, by=member.user, organization=member.organization,
                        now=min(collect.ends_at, now) - timedelta(hours=2 + number))
    window = consultation.phase(PhaseKind.SUPPORT)
    if now < window.starts_at:
        return
    elected_members = [m for m in members if m.role == "elected"
                       and m.organization.kind in consultation.eligible_kinds]
    span = min(now, window.ends_at) - window.starts_at
    for rank, member in enumerate(elected_members):
        for step in range(3 + rank % 4):  # at least minimum_votes_per_user, so that they count
            proposal = proposals[(rank * 11 + step * 17) % len(proposals)]
            if proposal.organization_id != member.organization_id and not db.session.scalar(
                    sa.select(Support.id).filter_by(proposal_id=proposal.id, organization_id=member.organization_id)):
                cast_support(proposal, member.organization, by=member.user, source="démonstration",
                             now=window.starts_at + span * (step + 1) / 8)


def _load_proposals(consultation: Consultation, authors: dict[int, User], now: datetime) -> None:
    """The demo's needs and services, published during the collect phase, spread over its days."""
    collect = consultation.phase(PhaseKind.COLLECT)
    last_moment = min(collect.ends_at, now) - timedelta(hours=1)
    themes = {theme.name: theme.id for theme in consultation.themes}
    admin = db.session.scalar(sa.select(User).filter_by(email="admin@example.org"))
    entries = json.loads(PROPOSALS_FILE.read_text(encoding="utf-8"))
    for position, entry in enumerate(entries):
        organization = _organization_from_code(entry["organization"], entry["organization_name"])
        budget = entry.get("requested_budget_euros")
        data = ProposalInput(
            kind=entry["kind"], title=entry["title"], summary=entry["summary"], body=entry["body"],
            theme_ids=[themes[name] for name in entry["themes"]], territory_tags=entry["territory_tags"],
            **{name: entry.get(name) for name in (*ProposalInput.NEED_FIELDS, *ProposalInput.SERVICE_FIELDS)
               if name != "requested_budget_cents"},
            requested_budget_cents=budget * 100 if budget is not None else None)
        moment = collect.starts_at + (last_moment - collect.starts_at) * (position + 1) / (len(entries) + 1)
        state = entry["status"]
        provenance = Provenance(published_at=None if state == ProposalState.DRAFT else moment, state=state,
                                withdrawal_reason=entry.get("withdrawal_reason"))
        # Each one's text vector is queued with its first version: `make run` starts the worker.
        import_proposal(consultation, organization, data, provenance, author=_author_for(organization, authors, admin))


# The committee at work (titles of demo proposals, by their start).
DEMO_ISSUES = {
    "Cybersécurité des petites communes": ["Sauvegardes : nous ne savons pas", "Aucun plan si nos postes",
                                           "Centre régional de réponse", "Diagnostic cyber express",
                                           "Élus et mairie sur des messageries", "Technicien informatique itinérant"],
    "Signalements et relation aux habitants": ["Centraliser les signalements", "Les habitants ne savent jamais",
                                               "Plateforme libre de signalement"],
    "Publication des actes et transparence": ["Publication électronique des actes", "Publier nos délibérations",
                                              "Registre en ligne des actes", "Tableaux de bord budgétaires"],
}
DEMO_MERGE = (["Publication électronique des actes", "Publier nos délibérations"],
              "Publier les actes et délibérations en ligne dans les petites communes")
DEMO_LINKS = [("Aucun plan si nos postes", "Centre régional de réponse"),
              ("Centraliser les signalements", "Plateforme libre de signalement"),
              ("Inscriptions scolaires", "Portail famille")]
DEMO_SCORED = {"Centre régional de réponse": (4, 3, 4, 3, 4), "Diagnostic cyber express": (3, 4, 5, 4, 5),
               "Plateforme libre de signalement": (5, 4, 4, 5, 3)}
DEMO_TO_EVALUATE = ["Transport à la demande", "Portail famille", "Demande d'aide à l'autonomie"]
DEMO_CONFLICT = ("Moissonnage automatique", "La direction que je représente opère la plateforme qui reçoit ces "
                                            "données.")
DEMO_NOTES = [("presidence.comite@example.org", "Coût annuel à préciser : le budget demandé couvre-t-il "
                                                "l'astreinte du week-end ?"),
              ("membre.comite@example.org", "D'après le porteur, oui : deux agents d'astreinte mutualisés avec "
                                            "le SDIS.")]


def _deliberate(consultation: Consultation, users: dict[str, User], start: datetime, end: datetime) -> None:
    """The committee's first weeks: three issues, two duplicates merged, needs linked to the services that
    answer them, scores from both members, proposals given to one of them, a note and its reply, and the
    machine's suggested issues waiting for review."""
    chair, member = users["presidence.comite@example.org"], users["membre.comite@example.org"]
    moment = start + (end - start) / 3

    def proposal(title_start: str) -> Proposal:
        return db.session.scalar(sa.select(Proposal).where(
            Proposal.consultation_id == consultation.id, Proposal.title.startswith(title_start),
            Proposal.merged_into_id.is_(None)))

    for title, starts in DEMO_ISSUES.items():
        issue = committee.create_issue(consultation, title=title, by=chair, now=moment)
        committee.assign_proposals(issue, [proposal(each).id for each in starts], by=chair, now=moment)
    originals, title = DEMO_MERGE
    merging.merge_proposals(consultation, [proposal(each).id for each in originals], title=title, by=member,
                            now=moment)
    for need, service in DEMO_LINKS:
        links.confirm_link(proposal(need), proposal(service), by=chair, now=moment)
    criteria = evaluation.criteria_of(consultation)
    for title_start, values in DEMO_SCORED.items():
        for offset, evaluator in enumerate((chair, member)):
            scores = {criterion.id: (max(0, value - offset), "") for criterion, value in zip(criteria, values)}
            evaluation.score_proposal(proposal(title_start), scores, by=evaluator, now=moment)
    evaluation.assign_evaluator(consultation, [proposal(each).id for each in DEMO_TO_EVALUATE], member, by=chair,
                                now=moment)
    conflicted, reason = DEMO_CONFLICT
    evaluation.declare_conflict(proposal(conflicted), reason, by=member, now=moment)
    first = None
    for email, body in DEMO_NOTES:
        note = evaluation.add_note(proposal("Centre régional de réponse"), body, parent_id=first, by=users[email],
                                   now=moment)
        first = first or note.id
    suggestions.request_suggestion(consultation, n_clusters=None, threshold=DUPLICATE_THRESHOLD, by=chair,
                                   now=moment)
    jobs.run_pending()  # every proposal's text vector, then the suggestion: ready for the committee to review


DEMO_TEMPLATES = {
    AnswerState.LAUREATE: "Le comité retient « {titre} », portée par {organisation}, et lui accorde {montant}. "
                          "L'équipe de la consultation prendra contact pour la convention de financement.",
    AnswerState.NOT_RETAINED: "Le comité remercie {organisation} pour « {titre} ». Elle n'est pas retenue cette "
                              "année : d'autres propositions répondaient au même besoin avec plus de soutiens.",
    AnswerState.EVALUATING: "« {titre} » est encore à l'étude par le comité.",
}


def _select(consultation: Consultation, users: dict[str, User], start: datetime, end: datetime, *,
            publish: bool) -> None:
    """The committee picks laureates by the Method of Equal Shares (cost, completed), within the envelope.
    Still selecting: the first half of them decided. Once selection is over: every proposal answered from the
    templates, and the results published by the chair."""
    chair = users["presidence.comite@example.org"]
    moment = start + (end - start) / 2
    candidates = selection.under_consideration(consultation)
    instance, _uncosted = selection.instance_of(candidates, consultation.budget_envelope_cents)
    laureates = budgeting.equal_shares(instance, "cost", completion="add1-greedy").selected
    chosen = laureates if publish else laureates[:len(laureates) // 2]
    proposals = {proposal.id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_([candidate.id for candidate in candidates])))}
    for proposal_id in chosen:
        decisions.decide(proposals[proposal_id], state=AnswerState.LAUREATE, by=chair,
                         granted_amount_cents=proposals[proposal_id].requested_budget_cents,
                         reason="Retenue par la méthode des parts égales, au budget demandé.", now=moment)
    if not publish:
        return
    for state, body in DEMO_TEMPLATES.items():
        decisions.save_template(consultation, state, body, by=chair, now=moment)
    for proposal in proposals.values():
        if proposal.id not in laureates:
            decisions.decide(proposal, state=AnswerState.NOT_RETAINED, by=chair,
                             reason="Moins soutenue que les lauréates du même grand enjeu.", now=moment)
    decisions.apply_templates(consultation, list(proposals), by=chair, now=moment)
    decisions.publish_results(consultation, by=chair, password=DEMO_PASSWORD, now=moment)


demo_cli = AppGroup("demo", help="Consultation de démonstration.")


@demo_cli.command("load")
@click.option("--phase", type=click.Choice([kind.value for kind in PhaseKind]), default=None,
              help="Phase en cours dans la démonstration (par défaut : soutiens). "
                   "Donnée pour une démonstration existante, elle en déplace le calendrier.")
def load_command(phase: str | None) -> None:
    """Crée la consultation de démonstration et ses comptes (sans rien effacer)."""
    consultation = load_demo(PhaseKind(phase or PhaseKind.SUPPORT), reschedule=phase is not None)
    db.session.commit()
    click.echo(f"Consultation de démonstration : {consultation.title}")
    click.echo(f"Comptes de démonstration (mot de passe commun : {DEMO_PASSWORD}) :")
    for email, _name, label, _attributes in PEOPLE:
        click.echo(f"  {email:<34} {label}")
