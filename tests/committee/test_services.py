"""Committee seats: one chair, no member twice, admins only. Major issues: who organizes them and when, a
proposal in one issue at most, assignment by the batch, what an issue's page reads."""

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from app.committee import queries, services
from app.committee.models import Issue
from app.consultations.models import PhaseKind
from app.consultations.phases import allows
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.extensions import db
from app.proposals.models import Proposal
from tests.factories import (make_consultation, make_issue, make_member, make_organization, make_proposal, make_support,
                             make_user, seat)
from tests.helpers import counted_statements


def test_committee_has_one_chair_and_no_duplicate_member():
    admin = make_user(is_admin=True)
    consultation = make_consultation()
    first, second = make_user(), make_user()
    services.add_committee_member(consultation, first, affiliation="DINUM", is_chair=True, by=admin)
    services.add_committee_member(consultation, second, affiliation="ANCT", is_chair=True, by=admin)
    assert [(seat.user, seat.is_chair) for seat in consultation.committee_seats] == [(first, False), (second, True)]
    with pytest.raises(RuleViolation, match="siège déjà"):
        services.add_committee_member(consultation, first, affiliation="DINUM", is_chair=False, by=admin)
    with pytest.raises(RuleViolation, match="affiliation"):
        services.add_committee_member(consultation, make_user(), affiliation=" ", is_chair=False, by=admin)


def test_only_admins_seat_committee_members():
    with pytest.raises(RuleViolation, match="équipe d'administration"):
        services.add_committee_member(make_consultation(), make_user(), affiliation="DINUM", is_chair=False,
                                      by=make_user())


# Major issues (grands enjeux)

ISSUE_STAGES = {PhaseKind.DELIBERATION, PhaseKind.SELECTION}


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION)


@pytest.fixture
def member(consultation):
    return seat(consultation).user


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def person(role: str, consultation):
    """Someone of each role: on the committee (member, chair), admin, or not (agent, elected, visitor)."""
    if role in ("member", "chair"):
        return seat(consultation, is_chair=role == "chair").user
    if role in ("agent", "elected"):
        return make_member(role=role).user
    return make_user(is_admin=True) if role == "admin" else AnonymousUserMixin()


@pytest.mark.parametrize("role, allowed", [("member", True), ("chair", True), ("admin", True), ("agent", False),
                                           ("elected", False), ("visitor", False)])
def test_committee_members_and_admins_organize_issues_and_nobody_else(consultation, role, allowed):
    actor = person(role, consultation)
    proposal = make_proposal(consultation)
    issue = make_issue(consultation, "Démarches des familles")
    actions = [lambda: services.create_issue(consultation, title="Cantines", by=actor),
               lambda: services.update_issue(issue, title="Démarches en ligne", description="", by=actor),
               lambda: services.move_issue(issue, 1, by=actor),
               lambda: services.assign_proposals(issue, [proposal.id], by=actor),
               lambda: services.remove_proposals(consultation, [proposal.id], by=actor),
               lambda: services.delete_issue(issue, by=actor)]
    for action in actions:
        if allowed:
            try:
                action()
            except RuleViolation as refusal:  # refused for another reason than who acts
                assert "Seuls les membres du comité" not in str(refusal)
        else:
            with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration"):
                action()
    assert (db.session.get(Issue, issue.id) is None) == allowed


@pytest.mark.parametrize("phase", list(PhaseKind))
def test_issues_are_organized_during_deliberation_and_selection(phase):
    consultation = make_consultation(phase)
    issue = make_issue(consultation)
    member = seat(consultation).user
    assert allows(consultation, "organize_issues") == (phase in ISSUE_STAGES)
    if phase in ISSUE_STAGES:
        services.create_issue(consultation, title="Cantines", by=member)
        services.assign_proposals(issue, [make_proposal(consultation).id], by=member)
    else:
        for action in (lambda: services.create_issue(consultation, title="Cantines", by=member),
                       lambda: services.assign_proposals(issue, [make_proposal(consultation).id], by=member),
                       lambda: services.delete_issue(issue, by=member)):
            with pytest.raises(RuleViolation, match="pendant la délibération du comité et la sélection"):
                action()


def test_an_issue_is_created_last_with_a_title_of_its_own(consultation, member):
    first = services.create_issue(consultation, title="  Démarches   en ligne ", description=" Les familles. ",
                                  by=member)
    second = services.create_issue(consultation, title="Cantines", by=member)
    assert (first.title, first.description, first.created_by) == ("Démarches en ligne", "Les familles.", member)
    assert [issue.title for issue in queries.issues_of(consultation)] == ["Démarches en ligne", "Cantines"]
    with pytest.raises(RuleViolation, match="Un autre grand enjeu porte déjà ce titre") as refusal:
        services.create_issue(consultation, title="Cantines", by=member)
    assert refusal.value.field == "title"
    with pytest.raises(RuleViolation, match="entre 3 et 150 caractères"):
        services.create_issue(consultation, title="  ", by=member)
    with pytest.raises(RuleViolation, match="Un autre grand enjeu porte déjà ce titre"):
        services.update_issue(second, title="Démarches en ligne", description="", by=member)
    assert second.title == "Cantines"
    services.create_issue(make_consultation(PhaseKind.DELIBERATION), title="Cantines", by=make_user(is_admin=True))
    assert [entry.data["title"] for entry in entries("issue.create")] == ["Démarches en ligne", "Cantines", "Cantines"]


def test_a_change_is_logged_with_what_each_field_was(consultation, member):
    issue = make_issue(consultation, "Cantines")
    services.update_issue(issue, title="Restauration scolaire", description="Repas et inscriptions.", by=member)
    services.update_issue(issue, title="Restauration scolaire", description="Repas et inscriptions.", by=member)
    [entry] = entries("issue.update")
    assert entry.subject == f"issues:{issue.id}" and entry.actor == member
    assert entry.data == {"title": ["Cantines", "Restauration scolaire"], "description": ["", "Repas et inscriptions."]}


def test_issues_move_up_and_down_one_place_at_a_time(consultation, member):
    first, second, third = (make_issue(consultation, title, position=0) for title in ("A", "B", "C"))
    assert services.move_issue(third, -1, by=member) == 2
    assert [issue.title for issue in queries.issues_of(consultation)] == ["A", "C", "B"]
    assert services.move_issue(first, 1, by=member) == 2
    assert [(issue.title, issue.position) for issue in queries.issues_of(consultation)] == [("C", 0), ("A", 1),
                                                                                             ("B", 2)]
    with pytest.raises(RuleViolation, match="déjà le premier"):
        services.move_issue(third, -1, by=member)
    with pytest.raises(RuleViolation, match="déjà le dernier"):
        services.move_issue(second, 1, by=member)
    assert [entry.data for entry in entries("issue.move")] == [{"from": 3, "to": 2}, {"from": 1, "to": 2}]


def test_deleting_an_issue_leaves_its_proposals_without_issue(consultation, member):
    proposals = [make_proposal(consultation) for _ in range(2)]
    issue = make_issue(consultation, "Cantines", proposals=proposals)
    other = make_issue(consultation, "Mobilités", proposals=[make_proposal(consultation)])
    assert services.delete_issue(issue, by=member) == 2
    assert queries.issues_of(consultation) == [other]
    assert [proposal.issue_id for proposal in proposals] == [None, None]
    assert queries.proposal_counts(consultation) == {None: 2, other.id: 1}
    [entry] = entries("issue.delete")
    assert entry.subject == f"issues:{issue.id}" and entry.data == {"title": "Cantines", "released": 2}


def test_an_issue_deleted_by_a_colleague_meanwhile_is_refused(consultation, member):
    issue = make_issue(consultation, "Cantines")
    proposal = make_proposal(consultation)
    # Another member's request, committed while this one held the issue.
    db.session.execute(sa.delete(Issue).where(Issue.id == issue.id).execution_options(synchronize_session=False))
    for action in (lambda: services.assign_proposals(issue, [proposal.id], by=member),
                   lambda: services.move_issue(issue, 1, by=member),
                   lambda: services.update_issue(issue, title="Repas", description="", by=member)):
        with pytest.raises(RuleViolation, match="Ce grand enjeu a été supprimé entre-temps."):
            action()
    assert proposal.issue_id is None


def test_many_proposals_are_assigned_at_once_and_each_to_one_issue_at_most(consultation, member):
    canteens, mobility = make_issue(consultation, "Cantines"), make_issue(consultation, "Mobilités")
    first, second, third = (make_proposal(consultation) for _ in range(3))
    assert services.assign_proposals(canteens, [first.id, second.id, third.id], by=member) == [first, second, third]
    assert services.assign_proposals(mobility, [third.id], by=member) == [third]
    assert services.assign_proposals(mobility, [third.id], by=member) == []  # already there: nothing logged
    db.session.commit()
    assert queries.proposal_counts(consultation) == {canteens.id: 2, mobility.id: 1}
    assert [(entry.subject, entry.data) for entry in entries("issue.assign")] == [
        (f"proposals:{first.id}", {"issue_id": canteens.id, "issue": "Cantines"}),
        (f"proposals:{second.id}", {"issue_id": canteens.id, "issue": "Cantines"}),
        (f"proposals:{third.id}", {"issue_id": canteens.id, "issue": "Cantines"}),
        (f"proposals:{third.id}", {"issue_id": mobility.id, "issue": "Mobilités", "previous_issue": "Cantines"})]


def test_proposals_are_taken_out_of_their_issue_at_once(consultation, member):
    first, second, loose = (make_proposal(consultation) for _ in range(3))
    canteens = make_issue(consultation, "Cantines", proposals=[first])
    mobility = make_issue(consultation, "Mobilités", proposals=[second])
    assert services.remove_proposals(consultation, [first.id, second.id, loose.id], by=member) == [first, second]
    assert (first.issue_id, second.issue_id) == (None, None)
    assert [entry.data for entry in entries("issue.remove")] == [{"issue_id": canteens.id, "issue": "Cantines"},
                                                                  {"issue_id": mobility.id, "issue": "Mobilités"}]


@pytest.mark.parametrize("which", ["draft", "withdrawn", "other consultation", "unknown", "beyond range", "none"])
def test_only_published_proposals_of_the_consultation_go_in_an_issue(consultation, member, which):
    issue = make_issue(consultation)
    published = make_proposal(consultation)
    wrong = {"draft": lambda: [make_proposal(consultation, state="draft").id],
             "withdrawn": lambda: [make_proposal(consultation, state="withdrawn").id],
             "other consultation": lambda: [make_proposal(make_consultation(PhaseKind.DELIBERATION)).id],
             "unknown": lambda: [published.id + 1000],
             "beyond range": lambda: [2**63],
             "none": list}[which]()
    ids, message = ([], "Cochez au moins une proposition") if which == "none" else (
        [published.id, *wrong], "Seules les propositions publiées de cette consultation")
    for action in (lambda: services.assign_proposals(issue, ids, by=member),
                   lambda: services.remove_proposals(consultation, ids, by=member)):
        with pytest.raises(RuleViolation, match=message):
            action()
    assert published.issue_id is None and entries("issue.assign") == []


def test_an_issue_counts_each_supporting_organization_once_in_one_query(consultation):
    proposals = [make_proposal(consultation) for _ in range(3)]
    issue = make_issue(consultation, proposals=proposals)
    elsewhere = make_proposal(consultation)
    make_issue(consultation, proposals=[elsewhere])
    aurillac, mauriac, murat = (make_organization(name) for name in ("Aurillac", "Mauriac", "Murat"))
    for proposal in proposals:
        make_support(proposal, mauriac)
    make_support(proposals[1], aurillac)
    make_support(elsewhere, murat)
    make_support(make_proposal(consultation, state="withdrawn", issue_id=issue.id), murat)
    db.session.refresh(issue)
    with counted_statements() as statements:
        assert queries.supporting_organizations(issue) == [aurillac, mauriac]
    assert len(statements) == 1


def test_key_terms_are_the_words_most_of_its_proposals_share():
    proposals = [Proposal(title="Inscription en ligne à la cantine", summary="Les familles inscrivent en ligne."),
                 Proposal(title="Réserver les repas de la cantine", summary="Pour les familles, depuis un téléphone."),
                 Proposal(title="Menus des cantines scolaires", summary="Publier les menus.")]
    assert queries.key_terms(proposals, limit=2) == ["cantine", "familles"]
    # One proposal: its words, the most repeated first, then in alphabetical order of their stems.
    assert queries.key_terms(proposals[:1], limit=3) == ["ligne", "cantine", "familles"]
    assert queries.key_terms([]) == []
