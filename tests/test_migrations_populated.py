"""Migrations on a populated database: no step up or down loses or invents a row, counted per table.

The chain is read from Alembic's script directory, so a new migration is walked by this test without
being named in it, and cannot land unless it keeps every row (issue 15, "Data safety").

How. The models describe the head revision only: data valid at an older revision cannot be written
through them. So the database is migrated to head and filled once, through the models, with a small
dataset that puts rows in every table (the test fails when a table is left empty, so that a new table
gets its rows here). Then the chain is walked down from head to base, one revision at a time; at each
revision its migration is run three times on the data the walk has reached: downgrade, upgrade again,
downgrade again. So every downgrade and every upgrade runs on a populated database, and the rows each
older revision holds are those its own downgrades left, as after a real roll-back. After each step,
every table present both before and after it keeps its row count; a table created or dropped by the
step is not compared (dropping a table drops its rows: that is what the downgrade means). A migration
that changes a table's rows on purpose says so in DELIBERATE, with its reason.

The engine is the application's own (on SQLite: foreign keys on, BEGIN IMMEDIATE), as `alembic
upgrade` uses it. The dataset is modest (tens of rows per table) so that the walk takes seconds on
SQLite and on PostgreSQL (TEST_DATABASE_URL); volumes are for the benchmarks.
"""

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from app.accounts.models import User, UserIdentity, UserSession
from app.committee.models import (AnswerTemplate, ClusterSuggestion, CommitteeNote, CommitteeSeat,
                                  ConflictDeclaration, Criterion, EvaluationAssignment, Issue, Score)
from app.consultations.models import Consultation, Phase, PhaseKind, Theme
from app.consultations.phases import calendar_around
from app.core import clock
from app.core.audit import AuditEntry
from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.extensions import db
from app.notifications.models import NotificationPreference, NotifiedEvent, SentReminder
from app.opendata.sizes import FileSize
from app.organizations.models import (DiagnosticRequest, Membership, MembershipStatus, Organization,
                                      OrganizationPostalCode)
from app.proposals.models import (Comment, NeedServiceLink, Proposal, ProposalCosponsor, ProposalNeighbour,
                                  ProposalTerritoryTag, ProposalVector, ProposalVersion, Report)
from app.votes.models import Mandate, Support, SupportEvent, SupportQuota, Tally
from tests.conftest import alembic_config, build_app, dispose

NAME = "agora_migrations_populated"

# Steps that change the rows of a table on purpose: (revision, "upgrade" | "downgrade") → {table: why}.
DELIBERATE = {
    ("d2f8b4c6a1e9", "upgrade"): {
        "proposal_vectors": "vectors computed in requests had no neighbour lists: they are deleted, and a job "
                            "per proposal (in the new table jobs) computes each again with its neighbours",
    },
}

COMMUNES = 8
PROPOSALS_PER_CONSULTATION = 12


def test_every_migration_keeps_every_row_both_ways(tmp_path_factory):
    app = build_app(tmp_path_factory, NAME)
    try:
        with app.app_context():
            engine = db.engine
            with Session(engine) as session:
                populate(session)
                session.commit()
            empty = [name for name, rows in row_counts(engine).items() if rows == 0]
            assert empty == [], f"the dataset leaves tables empty, give them rows in populate(): {empty}"

            for revision, below in chain_from_head():
                for direction, target in (("downgrade", below), ("upgrade", revision), ("downgrade", below)):
                    step(engine, revision, direction, target)
            assert row_counts(engine) == {}, "the walk should have reached base, where no table is left"
    finally:
        dispose(app, NAME)


def chain_from_head() -> list[tuple[str, str]]:
    """Each migration of Alembic's script directory as (revision, the revision below it or "base"), from head
    down to base."""
    script = ScriptDirectory.from_config(alembic_config(None))
    assert len(script.get_heads()) == 1, "the chain has branches: merge them first"
    return [(revision.revision, revision.down_revision or "base")
            for revision in script.walk_revisions("base", "heads")]


def step(engine: sa.Engine, revision: str, direction: str, target: str) -> None:
    """Run one migration one way; every table present before and after keeps its row count."""
    before = row_counts(engine)
    try:
        migrate(engine, direction, target)
    except sa.exc.DBAPIError as error:
        pytest.fail(f"{direction} of {revision} fails on a populated database: {error}")
    changed = changed_counts(revision, direction, before, row_counts(engine))
    assert changed == {}, f"{direction} of {revision} changed row counts (table: before, after): {changed}"


def migrate(engine: sa.Engine, direction: str, target: str) -> None:
    """`alembic upgrade|downgrade target` on the engine, in one transaction, as the command line runs it."""
    with engine.begin() as connection:
        getattr(command, direction)(alembic_config(connection), target)


def changed_counts(revision: str, direction: str, before: dict[str, int],
                   after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """The tables present before and after a step whose row counts differ, as {table: (before, after)}, but
    for the changes DELIBERATE declares for that step."""
    deliberate = DELIBERATE.get((revision, direction), {})
    return {name: (before[name], after[name]) for name in sorted(before.keys() & after.keys())
            if before[name] != after[name] and name not in deliberate}


def row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table of the database, Alembic's own bookkeeping left out (full-text tables included:
    an index that loses rows loses search results)."""
    with engine.connect() as connection:
        names = sorted(set(sa.inspect(connection).get_table_names()) - {"alembic_version"})
        return {name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                for name in names}


def populate(session: Session) -> None:
    """A small consultation history at head, every table given rows, each valid for its constraints: two
    consultations (one with its results published), communes and their people, needs and services with
    their versions, vectors, comments, supports, the committee's work, and the mail, jobs and sessions."""
    now = clock.now()
    users = [User(email=f"personne{number}@example.org", name=f"Personne {number}", password_hash="x" * 60,
                  email_confirmed_at=now, last_seen_at=now, is_admin=number == 0,
                  deleted_at=now if number == 1 else None)
             for number in range(COMMUNES + 4)]
    admin, chair, member = users[0], users[2], users[3]
    epci = Organization(kind="epci", name="Communauté de communes", search_name="communaute de communes",
                        siren="200066660", is_verified=True)
    communes = [Organization(kind="commune", name=f"Commune {number}", search_name=f"commune {number}",
                             insee_code=f"15{number:03d}", population=800 + number, departement_code="15",
                             region_code="84", epci=epci, is_verified=True)
                for number in range(COMMUNES)]
    session.add_all([*users, epci, *communes])
    session.flush()
    elected = users[4:]
    session.add_all([OrganizationPostalCode(organization_id=commune.id, postal_code=f"15{number:03d}")
                     for number, commune in enumerate(communes)])
    session.add_all([Membership(user=person, organization=commune, role="elected", status=MembershipStatus.VERIFIED,
                                verified_by_id=admin.id, verified_at=now)
                     for person, commune in zip(elected, communes)])
    session.add_all([UserSession(token_hash=hashlib.sha256(f"jeton {person.id}".encode()).hexdigest(),
                                 user_id=person.id, expires_at=now + timedelta(days=1)) for person in elected])
    session.add_all([UserIdentity(provider="proconnect", subject=f"agent-{person.id}", user_id=person.id)
                     for person in elected])
    # Aidants: one mandate in force, one revoked.
    session.add_all([Mandate(organization=communes[0], official=elected[0], aidant=member, starts_at=now,
                             ends_at=now + timedelta(days=30), revoked_at=now if revoked else None,
                             revoked_by=elected[0] if revoked else None, created_at=now)
                     for revoked in (False, True)])
    # ANSM diagnostic requests: a closed one and an open one of the same commune, an open one of another.
    session.add_all([DiagnosticRequest(organization=commune, requested_by=person, needs="Un diagnostic.",
                                       contact_name=person.name, contact_email=person.email, contact_phone="",
                                       status=status, admin_note="", created_at=now, updated_at=now)
                     for commune, person, status in ((communes[0], elected[0], "closed"),
                                                     (communes[0], elected[0], "contacted"),
                                                     (communes[1], elected[1], "new"))])
    for number, phase in enumerate((PhaseKind.RESULTS, PhaseKind.SUPPORT)):
        consultation = _consultation(session, number, phase, now, chair=chair, member=member)
        _proposals(session, consultation, communes, elected, now, chair=chair, member=member)
    previous = "0" * 64
    for number, person in enumerate(users):
        digest = hashlib.sha256(f"{previous}{number}".encode()).hexdigest()
        session.add(AuditEntry(at=now, actor_id=person.id, action="user.signup", subject=f"user:{person.id}",
                               data={}, prev_hash=previous, hash=digest))
        previous = digest
    # Sent, waiting for a first attempt, or failed once and waiting for the next (retry_after).
    session.add_all([OutboxMessage(recipient=person.email, subject="Bienvenue", body="Bonjour.",
                                   sent_at=now if number % 2 else None, attempts=1 if number % 4 == 2 else 0,
                                   retry_after=now + timedelta(seconds=30) if number % 4 == 2 else None)
                     for number, person in enumerate(users)])
    # Reminders: choices of mail, reminders sent and one waiting for its daily digest.
    session.add_all([NotificationPreference(user_id=person.id, kind="window_closing", mode="daily", changed_at=now)
                     for person in elected])
    session.add_all([SentReminder(kind="window_opens", subject_id=1, user_id=person.id,
                                  sent_at=now if number % 2 else None, created_at=now)
                     for number, person in enumerate(elected)])
    session.add_all([NotifiedEvent(kind="followed_proposal_activity", subject_id=number, created_at=now)
                     for number in range(1, 4)])


def _consultation(session: Session, number: int, phase: PhaseKind, now, *, chair: User,
                  member: User) -> Consultation:
    consultation = Consultation(
        slug=f"consultation-{number}", title=f"Consultation {number}", description="Des besoins numériques.",
        budget_envelope_cents=1_000_000_00, laureate_target=3, vote_limit=5, minimum_votes_per_user=0,
        eligible_kinds=["commune", "epci"],
        themes=[Theme(name="Démarches en ligne", position=0), Theme(name="Inclusion numérique", position=1)],
        phases=[Phase(kind=kind.value, starts_at=start, ends_at=end)
                for kind, (start, end) in calendar_around(phase, now).items()],
        committee_seats=[CommitteeSeat(user=chair, affiliation="Association des maires", is_chair=True),
                         CommitteeSeat(user=member, affiliation="Direction du numérique")])
    if phase == PhaseKind.RESULTS:
        consultation.results_published_at, consultation.results_digest = now, "a" * 64
    session.add(consultation)
    session.flush()
    session.add_all([Criterion(consultation_id=consultation.id, name=name, weight=1, position=position)
                     for position, name in enumerate(("Utilité", "Maturité", "Réutilisabilité"))])
    session.add_all([Issue(consultation_id=consultation.id, title=f"Grand enjeu {position}", position=position,
                           created_by_id=chair.id) for position in range(2)])
    session.add(ClusterSuggestion(consultation_id=consultation.id, requested_by_id=chair.id, n_clusters=2,
                                  duplicate_threshold=0.8, computed_at=now, content={"clusters": []}))
    session.add_all([AnswerTemplate(consultation_id=consultation.id, state=state, body="« {titre} »",
                                    updated_by_id=chair.id) for state in ("laureate", "not_retained")])
    session.flush()
    return consultation


def _proposals(session: Session, consultation: Consultation, communes: list[Organization], elected: list[User],
               now, *, chair: User, member: User) -> None:
    """Needs and services of the communes, and everything hung on them: supports from the other communes."""
    issues = session.scalars(sa.select(Issue).filter_by(consultation_id=consultation.id)).all()
    criteria = session.scalars(sa.select(Criterion).filter_by(consultation_id=consultation.id)).all()
    proposals = []
    for number in range(PROPOSALS_PER_CONSULTATION):
        index = number % len(communes)
        is_need = number % 2 == 0
        proposal = Proposal(
            consultation_id=consultation.id, kind="need" if is_need else "service", organization_id=communes[index].id,
            author_id=elected[index].id, title=f"Proposition {consultation.id}-{number}", summary="Un résumé.",
            body="Une description précise.", body_html="<p>Une description précise.</p>", state="published",
            published_at=now, problem="Un problème." if is_need else None,
            maturity=None if is_need else "production", carrier=None if is_need else "public",
            requested_budget_cents=None if is_need else 100_000_00 * (number + 1),
            issue_id=issues[number % len(issues)].id, themes=consultation.themes[number % 2:][:1],
            territory_tags=[ProposalTerritoryTag(tag="montagne")],
            decidim_id=1000 + number if number == 3 else None, imported_vote_count=4 if number == 3 else None,
            answer_state="laureate" if number == 1 else "not_answered",
            decided_by_id=chair.id if number == 1 else None, decided_at=now if number == 1 else None)
        session.add(proposal)
        proposals.append(proposal)
    session.flush()
    merged, original = proposals[-1], proposals[-3]
    original.merged_into_id, original.merged_at, original.merged_by_id = merged.id, now, member.id
    for proposal, following in zip(proposals, proposals[1:] + proposals[:1]):
        session.add(ProposalVersion(proposal_id=proposal.id, number=1, author_id=proposal.author_id,
                                    snapshot={"title": proposal.title}, changed_fields=[]))
        session.add(ProposalVector(proposal_id=proposal.id, version_number=1, engine="test", vector=b"\x00" * 16,
                                   neighbour_floor=0.5))
        session.add(ProposalNeighbour(proposal_id=proposal.id, neighbour_id=following.id, score=0.9))
        comment = Comment(proposal_id=proposal.id, author_id=following.author_id,
                          organization_id=following.organization_id, body="Même besoin chez nous.")
        session.add(comment)
        session.flush()
        session.add(Comment(proposal_id=proposal.id, parent_id=comment.id, author_id=proposal.author_id,
                            organization_id=proposal.organization_id, body="Merci."))
        proposal.comment_count = 2
        session.add(Report(subject_type="comment", subject_id=comment.id, reporter_id=proposal.author_id,
                           reason="spam"))
        session.add(ProposalCosponsor(proposal_id=proposal.id, organization_id=following.organization_id,
                                      added_by_id=following.author_id))
        if proposal.kind == "need" and following.kind == "service":
            session.add(NeedServiceLink(need_id=proposal.id, service_id=following.id, created_by_id=proposal.author_id,
                                        confirmed_by_id=chair.id, confirmed_at=now))
    _supports(session, consultation, proposals, communes, elected, now)
    for proposal in proposals[:4]:
        session.add_all([Score(proposal_id=proposal.id, criterion_id=criterion.id, member_id=evaluator.id,
                               value=(proposal.id + criterion.id) % 6) for criterion in criteria
                         for evaluator in (chair, member)])
        session.add(EvaluationAssignment(proposal_id=proposal.id, evaluator_id=member.id, assigned_by_id=chair.id))
        note = CommitteeNote(proposal_id=proposal.id, author_id=chair.id, body="Coût à préciser.")
        session.add(note)
        session.flush()
        session.add(CommitteeNote(proposal_id=proposal.id, author_id=member.id, parent_id=note.id, body="Précisé."))
    session.add(ConflictDeclaration(seat_id=consultation.committee_seats[1].id, proposal_id=proposals[5].id,
                                    reason="J'opère ce service."))
    session.add_all([Job(kind="proposal.vector", payload={"proposal_id": proposal.id},
                         done_at=now if proposal.id % 2 else None) for proposal in proposals])
    session.add(FileSize(consultation_id=consultation.id, name="propositions.csv", size=1234, counted_at=now))
    session.flush()


def _supports(session: Session, consultation: Consultation, proposals: list[Proposal],
              communes: list[Organization], elected: list[User], now) -> None:
    """Each commune supports three proposals of the others, within its quota, each journaled as cast, withdrawn, cast;
    the tally, when the consultation is past its support window."""
    lines = []
    for index, (commune, person) in enumerate(zip(communes, elected)):
        supported = [proposal for proposal in proposals[index:] + proposals[:index]
                     if proposal.organization_id != commune.id][:3]
        for proposal in supported:
            receipt = hashlib.sha256(f"{proposal.id}-{commune.id}".encode()).hexdigest()[:16].upper()
            session.add(Support(consultation_id=consultation.id, proposal_id=proposal.id, organization_id=commune.id,
                                cast_by_id=person.id, cast_at=now, receipt_code=receipt))
            session.add_all([SupportEvent(consultation_id=consultation.id, proposal_id=proposal.id,
                                          organization_id=commune.id, actor_id=person.id, action=action, at=now,
                                          source="test") for action in ("cast", "withdraw", "cast")])
            proposal.support_count += 1
            lines.append(f"{proposal.id};{commune.name};{now.isoformat()}")
        session.add(SupportQuota(consultation_id=consultation.id, organization_id=commune.id, used=len(supported)))
    if consultation.results_published_at is not None:
        content = "proposition;collectivite;date\n" + "".join(f"{line}\n" for line in lines)
        session.add(Tally(consultation_id=consultation.id, frozen_at=now, support_count=len(lines),
                          digest=hashlib.sha256(content.encode()).hexdigest(), content=content))
