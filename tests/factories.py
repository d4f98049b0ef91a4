"""Small functions that build test data through the models, committed (to a savepoint)."""

from datetime import datetime
from itertools import count

from app.accounts.models import User
from app.accounts.services import hasher
from app.committee.evaluation import add_default_criteria
from app.committee.models import ClusterSuggestion, CommitteeSeat, Issue
from app.consultations.models import Consultation, Phase, PhaseKind, Theme
from app.core import clock
from app.core.markdown import render_markdown
from app.consultations.phases import calendar_around
from app.extensions import db
from app.organizations.models import DiagnosticRequest, Membership, MembershipStatus, Organization
from app.organizations.services import normalize_name
from app.proposals import services
from app.proposals.models import Comment, Proposal
from app.votes.models import Support, SupportQuota

PASSWORD = "mot-de-passe-de-test"
_PASSWORD_HASH = hasher.hash(PASSWORD)  # hashing once keeps the suite fast
_sequence = count(1)


def _save(obj):
    db.session.add(obj)
    db.session.commit()
    return obj


def make_user(email: str | None = None, name: str | None = None, *, is_admin: bool = False,
              confirmed: bool = True, locale: str = "fr") -> User:
    number = next(_sequence)
    return _save(User(email=email or f"personne{number}@example.org", name=name or f"Personne {number}",
                      password_hash=_PASSWORD_HASH, is_admin=is_admin, locale=locale,
                      email_confirmed_at=clock.now() if confirmed else None))


def make_organization(name: str | None = None, *, kind: str = "commune", population: int | None = 1200,
                      departement_code: str = "15", siren: str | None = None,
                      is_verified: bool = True) -> Organization:
    number = next(_sequence)
    name = name or f"Commune {number}"
    return _save(Organization(kind=kind, name=name, search_name=normalize_name(name), population=population,
                              departement_code=departement_code, siren=siren,
                              insee_code=f"{number:05d}" if kind == "commune" else None,
                              is_verified=is_verified))


def make_member(user: User | None = None, organization: Organization | None = None, *, role: str = "agent",
                status: str = MembershipStatus.VERIFIED) -> Membership:
    return _save(Membership(user=user or make_user(), organization=organization or make_organization(),
                            role=role, status=status))


def make_diagnostic_request(organization: Organization | None = None, requested_by: User | None = None, *,
                            status: str = "new", needs: str = "Un diagnostic de nos outils numériques."
                            ) -> DiagnosticRequest:
    """An ANSM diagnostic request written straight to the database (diagnostics.request_diagnostic checks the rules)."""
    requested_by, now = requested_by or make_user(), clock.now()
    return _save(DiagnosticRequest(organization=organization or make_organization(), requested_by=requested_by,
                                   needs=needs, contact_name=requested_by.name, contact_email=requested_by.email,
                                   contact_phone="", status=status, admin_note="", created_at=now, updated_at=now))


def make_consultation(phase: str | PhaseKind = PhaseKind.SUPPORT, *, now: datetime | None = None,
                      slug: str | None = None, **settings) -> Consultation:
    """A consultation whose `phase` is halfway through at `now`."""
    number = next(_sequence)
    settings.setdefault("eligible_kinds", ["commune", "epci", "departement", "region"])
    consultation = Consultation(slug=slug or f"consultation-{number}", title=f"Consultation {number}",
                                themes=[Theme(name="Démarches en ligne"),
                                        Theme(name="Inclusion numérique", position=1)],
                                **settings)
    consultation.phases = [Phase(kind=kind.value, starts_at=start, ends_at=end)
                           for kind, (start, end) in calendar_around(PhaseKind(phase), now or clock.now()).items()]
    add_default_criteria(consultation)  # as every way of creating a consultation does
    return _save(consultation)


def seat(consultation: Consultation, user: User | None = None, *, is_chair: bool = False,
         affiliation: str = "Association des maires") -> CommitteeSeat:
    return _save(CommitteeSeat(consultation=consultation, user=user or make_user(), affiliation=affiliation,
                               is_chair=is_chair))


def make_proposal(consultation: Consultation | None = None, organization: Organization | None = None, *,
                  author: User | None = None, kind: str = "need", state: str = "published",
                  title: str | None = None, body: str = "Une description suffisamment précise.",
                  **fields) -> Proposal:
    """A proposal written straight to the database (services build them in the domain tests)."""
    consultation = consultation or make_consultation()
    organization = organization or make_organization()
    number = next(_sequence)
    kind_fields = ({"problem": "Un problème concret."} if kind == "need"
                   else {"maturity": "production", "carrier": "public", "requested_budget_cents": 5_000_000})
    fields.setdefault("published_at", clock.now() if state == "published" else None)
    fields.setdefault("themes", consultation.themes[:1])
    proposal = Proposal(consultation=consultation, organization=organization, author=author or make_user(),
                        kind=kind, state=state, title=title or f"Proposition numéro {number}",
                        summary=f"Résumé de la proposition {number}.", body=body, body_html=render_markdown(body),
                        **{**kind_fields, **fields})
    return _save(proposal)


def make_comment(proposal: Proposal, member: Membership | None = None, *, body: str = "Un avis argumenté.",
                 parent: Comment | None = None) -> Comment:
    member = member or make_member()
    proposal.comment_count += 1
    return _save(Comment(proposal=proposal, author=member.user, organization=member.organization, body=body,
                         parent=parent))


def make_support(proposal: Proposal, organization: Organization) -> Support:
    """`organization`'s support for `proposal`, written straight to the database (no quota, no counter)."""
    return _save(Support(consultation_id=proposal.consultation_id, proposal=proposal, organization=organization,
                         cast_by=make_user(), receipt_code=f"TEST{next(_sequence):08d}"))


def make_counted_support(proposal: Proposal, organization: Organization) -> Support:
    """A support as the support window left it: the organization's quota taken, the proposal's count moved."""
    support = make_support(proposal, organization)
    quota = db.session.get(SupportQuota, (proposal.consultation_id, organization.id))
    if quota is None:
        quota = SupportQuota(consultation_id=proposal.consultation_id, organization_id=organization.id, used=0)
        db.session.add(quota)
    quota.used += 1
    proposal.support_count += 1
    db.session.commit()
    return support


def make_issue(consultation: Consultation, title: str | None = None, *, proposals=(), position: int = 0) -> Issue:
    """A major issue holding `proposals`, written straight to the database."""
    issue = _save(Issue(consultation=consultation, title=title or f"Grand enjeu {next(_sequence)}",
                        position=position, created_by=make_user()))
    for proposal in proposals:
        proposal.issue_id = issue.id
    db.session.commit()
    return issue


def make_suggestion(consultation: Consultation, clusters=(), *, duplicates=(), threshold: float = 0.7,
                    by: User | None = None) -> ClusterSuggestion:
    """A computed draft of suggested issues whose clusters hold `clusters` (lists of proposals), named
    "Groupe 1", "Groupe 2"…, with `duplicates` ((proposal, proposal, score)), written straight to the database."""
    content = {
        "inputs": {"clusters": len(clusters), "k": len(clusters), "threshold": threshold, "silhouette": None,
                   "proposals": sum(map(len, clusters)), "missing": 0},
        "clusters": [{"number": number, "name": f"Groupe {number}", "proposal_ids": sorted(p.id for p in members),
                      "key_terms": ["cantine"], "central": [[members[0].id, 0.9]] if members else [],
                      "scores": {str(p.id): 0.9 for p in members}, "merged": [], "issue_id": None}
                     for number, members in enumerate(map(list, clusters), start=1)],
        "dropped": [],
        "duplicates": [{"proposal_ids": [a.id, b.id], "score": score} for a, b, score in duplicates],
        "duplicates_total": len(duplicates)}
    return _save(ClusterSuggestion(consultation=consultation, requested_by=by or make_user(), n_clusters=len(clusters),
                                   duplicate_threshold=threshold, computed_at=clock.now(), content=content))


def proposal_input(consultation: Consultation, kind: str = "need", **changes) -> services.ProposalInput:
    """What an author would type: a valid need or service of `consultation`, with `changes` on top."""
    number = next(_sequence)
    values = {"kind": kind, "title": f"Contribution numéro {number}", "summary": f"Résumé de la contribution {number}.",
              "body": "Une description suffisamment précise.", "theme_ids": [consultation.themes[0].id]}
    values.update({"problem": "Un problème concret."} if kind == "need"
                  else {"maturity": "production", "carrier": "public"})
    values.update(changes)
    return services.ProposalInput(**values)


def submit_proposal(consultation: Consultation, member: Membership | None = None, *, publish: bool = True,
                    now: datetime | None = None, **changes) -> Proposal:
    """A proposal drafted (and published) through the services: it has its versions, and the job that
    computes its similarity vector is queued (`tests.helpers.run_jobs` runs it)."""
    member = member or make_member()
    proposal = services.create_draft(consultation, member.organization, proposal_input(consultation, **changes),
                                     by=member.user, now=now)
    if publish:
        services.publish_proposal(proposal, by=member.user, now=now)
    db.session.commit()
    return proposal


# Contributions on distinct topics, for similarity and search tests: a canteen need, two unrelated
# ones, and a new draft on the canteen again.
CANTEEN = {"title": "Inscription en ligne à la cantine scolaire",
           "summary": "Un portail pour inscrire les enfants au restaurant scolaire.",
           "body": "Les familles remplissent encore un formulaire papier chaque trimestre pour inscrire leurs "
                   "enfants au restaurant scolaire. Un portail en ligne permettrait d'inscrire les enfants, de "
                   "signaler les absences et de payer les repas."}
TRANSPORT = {"title": "Transport à la demande pour les communes rurales",
             "summary": "Une navette réservable pour les habitants sans voiture.",
             "body": "Dans nos villages il n'y a plus de ligne de bus régulière. Les personnes âgées sans voiture "
                     "ne peuvent aller ni au marché ni chez le médecin. Une navette réservable par téléphone ou "
                     "en ligne répondrait à ce besoin."}
CYBER = {"title": "Sensibiliser les agents aux rançongiciels",
         "summary": "Des formations courtes contre l'hameçonnage.",
         "body": "Notre mairie a été paralysée une semaine par un rançongiciel après l'ouverture d'une pièce "
                 "jointe piégée. Il nous faut des formations courtes pour apprendre aux agents à reconnaître "
                 "l'hameçonnage."}
NEW_CANTEEN_DRAFT = {"title": "Réservation des repas de la cantine",
                     "summary": "Réserver ou annuler les repas la veille.",
                     "body": "Permettre aux parents de réserver ou d'annuler la veille les repas de leurs enfants "
                             "à la cantine, depuis leur téléphone, pour limiter le gaspillage."}
