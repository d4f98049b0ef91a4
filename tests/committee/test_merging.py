"""Non-destructive merge of proposals and its undoing: who and when, which proposals, the union of supports
counting an organization once with quotas and the frozen tally untouched, mails, lists, the round trip
restoring the whole state; then the same through the pages."""

import re

import numpy as np
import pytest
import sqlalchemy as sa

from app.committee import merging, queries
from app.committee.models import Issue
from app.committee.queries import CommitteeFilters
from app.consultations.models import PhaseKind
from app.core import clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations.models import MembershipStatus, Organization
from app.proposals import services as proposal_services, similarity, vectors
from app.proposals.models import Proposal, ProposalCosponsor, ProposalNeighbour, ProposalTerritoryTag, ProposalVector
from app.proposals.search import ProposalFilters, matching_ids
from app.votes import permissions as vote_permissions
from app.votes.models import Support, SupportQuota
from app.votes.services import digest_of, frozen_tally, tally_file, tally_rows
from tests.factories import (make_comment, make_consultation, make_counted_support, make_issue, make_member,
                             make_organization, make_proposal, make_support, make_user, seat)
from tests.helpers import text_of


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")


@pytest.fixture
def member(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user




@pytest.fixture
def duplicates(consultation):
    """Two needs about school canteens from two communes, in one issue, supported by three communes, one of
    which (Aurillac) supports both."""
    saint_flour, mauriac = make_organization("Saint-Flour"), make_organization("Mauriac")
    first = make_proposal(consultation, saint_flour, title="Réserver la cantine en ligne",
                          body="Les familles réservent au guichet.", themes=consultation.themes[:1])
    second = make_proposal(consultation, mauriac, title="Inscription numérique à la cantine",
                           body="Un formulaire papier chaque trimestre.", themes=consultation.themes[1:])
    second.territory_tags = [ProposalTerritoryTag(tag="rural")]
    make_issue(consultation, "Cantines", proposals=[first, second])
    aurillac, murat, riom = (make_organization(name) for name in ("Aurillac", "Murat", "Riom-ès-Montagnes"))
    make_counted_support(first, aurillac)
    make_counted_support(second, aurillac)
    make_counted_support(first, murat)
    make_counted_support(second, riom)
    return first, second


def organization_named(name: str) -> Organization:
    return db.session.scalar(sa.select(Organization).where(Organization.name == name))


def merge(consultation, originals, by, **changes):
    values = {"organization_id": originals[0].organization_id, "title": "Cantine : réserver et s'inscrire en ligne",
              "summary": "Les familles réservent et inscrivent leurs enfants en ligne.",
              "body": "Un seul service pour réserver et inscrire.", **changes}
    return merging.merge_proposals(consultation, [proposal.id for proposal in originals], by=by, **values)


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# Who, when, which proposals

@pytest.mark.parametrize("phase", list(PhaseKind))
def test_only_deliberation_allows_merging_never_the_support_window(phase):
    consultation = make_consultation(phase)
    originals = [make_proposal(consultation) for _ in range(2)]
    member = seat(consultation).user
    if phase == PhaseKind.DELIBERATION:
        assert merge(consultation, originals, member).is_published
        return
    with pytest.raises(RuleViolation, match="Les propositions se fusionnent pendant la délibération du comité, "
                                            "une fois les soutiens clos."):
        merge(consultation, originals, member)
    assert all(proposal.merged_into_id is None for proposal in originals)


def test_committee_members_and_admins_merge_nobody_else(consultation, duplicates):
    outsider = make_member(organization=duplicates[0].organization, role="elected").user
    with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration fusionnent"):
        merge(consultation, duplicates, outsider)
    other_committee = seat(make_consultation(PhaseKind.DELIBERATION)).user
    with pytest.raises(RuleViolation, match="Seuls les membres du comité"):
        merge(consultation, duplicates, other_committee)
    assert merge(consultation, duplicates, make_user(is_admin=True)).merged_by.is_admin


def test_only_two_or_more_published_proposals_of_the_consultation_and_of_one_kind_merge(consultation, member,
                                                                                         duplicates):
    first, second = duplicates
    refusals = {
        "Choisissez au moins deux propositions à fusionner.": [first, first],
        "Seules les propositions publiées de cette consultation se fusionnent.": [first, make_proposal()],
        "Un besoin et un service ne se fusionnent pas : choisissez des propositions du même type.":
            [first, make_proposal(consultation, kind="service")],
    }
    draft = make_proposal(consultation, state="draft")
    hidden = make_proposal(consultation, hidden_at=clock.now())
    for message, originals in refusals.items():
        with pytest.raises(RuleViolation, match=re.escape(message)) as refusal:
            merge(consultation, originals, member)
        assert refusal.value.field == "proposal_ids"
    for proposal in (draft, hidden):
        with pytest.raises(RuleViolation, match="Seules les propositions publiées de cette consultation"):
            merge(consultation, [first, proposal], member)
    with pytest.raises(RuleViolation, match="Seules les propositions publiées"):
        merging.merge_proposals(consultation, [first.id, 2**40], organization_id=first.organization_id, title="x",
                                summary="x", body="x", by=member)

    merged = merge(consultation, duplicates, member)
    third = make_proposal(consultation)
    with pytest.raises(RuleViolation, match="« Réserver la cantine en ligne » a déjà été fusionnée"):
        merge(consultation, [third, first], member)
    with pytest.raises(RuleViolation, match="est issue d'une fusion : défaites-la d'abord"):
        merge(consultation, [third, merged], member)


def test_the_carrier_is_one_of_the_originals_organizations_and_the_text_is_checked(consultation, member,
                                                                                   duplicates):
    with pytest.raises(RuleViolation, match="Choisissez l'organisation qui portera") as refusal:
        merge(consultation, duplicates, member, organization_id=make_organization().id)
    assert refusal.value.field == "organization_id"
    for field, value in (("title", "Court"), ("summary", " "), ("body", "x" * 20_001)):
        with pytest.raises(RuleViolation) as refusal:
            merge(consultation, duplicates, member, **{field: value})
        assert refusal.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 2


# What a merge writes

def test_the_plan_prefills_the_merge_and_counts_each_supporting_organization_once(consultation, member, duplicates):
    first, second = duplicates
    plan = merging.plan_merge(consultation, [second.id, first.id], by=member)
    assert [organization.name for organization in plan.union] == ["Aurillac", "Murat", "Riom-ès-Montagnes"]
    assert [organization.name for organization in plan.supporters[first.id]] == ["Aurillac", "Murat"]
    assert [organization.name for organization in plan.carriers] == ["Mauriac", "Saint-Flour"]
    assert plan.issue.title == "Cantines"
    draft = merging.prefill(plan)
    assert (draft.title, draft.organization_id) == ("Inscription numérique à la cantine", second.organization_id)
    assert draft.body == ("## Inscription numérique à la cantine\n\nUn formulaire papier chaque trimestre.\n\n"
                          "## Réserver la cantine en ligne\n\nLes familles réservent au guichet.")


def test_a_merge_publishes_a_new_proposal_standing_for_its_originals(consultation, member, duplicates):
    first, second = duplicates
    quotas = dict(db.session.execute(sa.select(SupportQuota.organization_id, SupportQuota.used)).all())
    tally = frozen_tally(consultation)
    db.session.commit()
    digest, supports = tally.digest, db.session.scalars(sa.select(Support.id).order_by(Support.id)).all()

    merged = merge(consultation, duplicates, member, organization_id=second.organization_id)
    db.session.commit()

    assert (merged.kind, merged.state, merged.organization.name, merged.author) == ("need", "published", "Mauriac",
                                                                                     member)
    assert (merged.merged_by, merged.merged_at is not None, merged.issue_id) == (member, True, first.issue_id)
    assert merged.problem == second.problem and merged.tags == ["rural"]
    assert [theme.name for theme in merged.themes] == ["Démarches en ligne", "Inclusion numérique"]
    assert [version.number for version in merged.versions] == [1]
    assert "<p>Un seul service pour réserver et inscrire.</p>" in merged.body_html
    assert db.session.scalar(sa.select(Job).where(Job.kind == vectors.KIND).order_by(Job.id.desc())).payload == {
        "proposal_id": merged.id}
    assert (first.merged_into, second.merged_into) == (merged, merged)
    # Aurillac supported both originals: it counts once. Supports are neither moved nor copied.
    assert merged.support_count == 3 and (first.support_count, second.support_count) == (2, 2)
    assert merging.supporting_organization_ids(merged) == {support.organization_id for support in
                                                          db.session.scalars(sa.select(Support))}
    assert merging.supporting_organization_ids(first) == set(db.session.scalars(
        sa.select(Support.organization_id).filter_by(proposal_id=first.id)))
    assert db.session.scalars(sa.select(Support.id).order_by(Support.id)).all() == supports
    assert dict(db.session.execute(sa.select(SupportQuota.organization_id, SupportQuota.used)).all()) == quotas
    # The frozen tally stays, and recomputing it from the supports gives the same file.
    assert frozen_tally(consultation).digest == digest == digest_of(tally_file(tally_rows(consultation)))

    [entry] = entries("proposal.merge")
    assert (entry.actor, entry.subject) == (member, f"proposals:{merged.id}")
    assert entry.data == {"origins": [first.id, second.id], "origin_titles": [first.title, second.title],
                          "title": merged.title, "organization_id": second.organization_id,
                          "organization": "Mauriac"}


def test_what_is_not_given_is_prefilled_as_the_page_prefills_it(consultation, member, duplicates):
    merged = merging.merge_proposals(consultation, [proposal.id for proposal in duplicates], by=member)
    assert (merged.title, merged.organization, merged.summary) == (
        duplicates[0].title, duplicates[0].organization, duplicates[0].summary)
    assert merged.body.startswith("## Réserver la cantine en ligne\n\nLes familles réservent au guichet.")


def test_the_merged_count_follows_the_minimum_of_supports_each_organization_must_cast(consultation, member,
                                                                                        duplicates):
    consultation.minimum_votes_per_user = 2  # Murat and Riom cast one support each: theirs do not count
    merged = merge(consultation, duplicates, member)
    assert merged.support_count == 1 == len(merging.supporting_organization_ids(merged, counted_only=True))


def test_the_originals_organizations_verified_members_are_told_in_their_language(consultation, member,
                                                                                  duplicates):
    first, second = duplicates
    agent = make_member(make_user("agent@saint-flour.fr"), first.organization).user
    make_member(make_user("maire@saint-flour.fr", locale="en"), first.organization, role="elected")
    make_member(make_user("attente@saint-flour.fr"), first.organization, status=MembershipStatus.PENDING)
    blocked = make_member(make_user("suspendu@saint-flour.fr"), first.organization).user
    blocked.blocked_at = clock.now()
    make_member(make_user("agent@mauriac.fr"), second.organization)
    merged = merge(consultation, duplicates, member)
    mails = {message.recipient: message for message in db.session.scalars(sa.select(OutboxMessage))}
    assert set(mails) == {"agent@saint-flour.fr", "maire@saint-flour.fr", "agent@mauriac.fr"}
    body = mails[agent.email].body
    assert mails[agent.email].subject == "Des propositions que votre organisation suit ont été fusionnées"
    assert f"- « Réserver la cantine en ligne » : http://localhost/propositions/{first.id}" in body
    assert "Inscription numérique" not in body  # Mauriac's, not Saint-Flour's
    assert f"« {merged.title} », portée par Saint-Flour" in body and f"/propositions/{merged.id}" in body


def test_co_sponsoring_and_supporting_organizations_are_told_of_the_originals_they_follow(consultation, member,
                                                                                          duplicates):
    first, second = duplicates
    lanobre = make_organization("Lanobre")
    db.session.add(ProposalCosponsor(proposal=second, organization=lanobre,
                                     added_by_id=make_member(organization=lanobre).user_id))
    people = {name: make_member(make_user(f"agent@{name.lower()}.fr"), organization_named(name)).user.email
              for name in ("Aurillac", "Murat", "Riom-ès-Montagnes", "Lanobre")}
    make_member(make_user("agent@salers.fr"), make_organization("Salers"))  # follows neither
    merge(consultation, duplicates, member)
    mails = {message.recipient: message.body for message in db.session.scalars(sa.select(OutboxMessage))}
    assert "agent@salers.fr" not in mails
    told = {name: [title for title in (first.title, second.title) if f"« {title} »" in mails[email]]
            for name, email in people.items()}
    assert told == {"Aurillac": [first.title, second.title], "Murat": [first.title],
                    "Riom-ès-Montagnes": [second.title], "Lanobre": [second.title]}
    assert "celles que votre organisation porte, coporte ou soutient" in mails[people["Murat"]]


def test_merged_originals_leave_the_lists_and_count_through_the_merged_proposal(consultation, member, duplicates):
    first, second = duplicates
    issue = db.session.get(Issue, first.issue_id)
    before = [organization.name for organization in queries.supporting_organizations(issue)]
    merged = merge(consultation, duplicates, member)
    listed = db.session.scalars(matching_ids(consultation, ProposalFilters(sort="newest"))).all()
    assert listed == [merged.id]
    assert db.session.scalars(queries.committee_proposals(consultation, CommitteeFilters())).all() == [merged]
    assert queries.proposal_counts(consultation) == {issue.id: 1}
    assert queries.issue_proposals(issue) == [merged]
    assert [organization.name for organization in queries.supporting_organizations(issue)] == before == [
        "Aurillac", "Murat", "Riom-ès-Montagnes"]
    assert vote_permissions.why_not_supportable(first) == ("Cette proposition ne peut pas être soutenue : elle est "
                                                           "retirée, masquée ou fusionnée.")
    assert [(proposal, count) for proposal, count in merging.merges_of(consultation)] == [(merged, 2)]
    assert merging.merge_origins(merged) == [first, second] and merging.merge_origins(first) == []


# Undoing a merge

STATE_TABLES = ("proposals", "proposal_versions", "proposal_themes", "proposal_territory_tags", "supports",
                "support_quotas", "tallies", "issues")


def whole_state() -> dict[str, list[dict]]:
    """Every row, every column, of what a merge may touch. The audit log and the outbox are append-only (a merge
    and its undoing each add to them) and the jobs table only queues work: they are left out."""
    state = {}
    for name in STATE_TABLES:
        table = db.metadata.tables[name]
        state[name] = [dict(row._mapping) for row in db.session.execute(
            sa.select(table).order_by(*table.primary_key.columns))]
    return state


def test_unmerging_restores_the_whole_state_exactly(consultation, member, duplicates):
    frozen_tally(consultation)
    make_proposal(consultation)  # a bystander
    db.session.commit()
    before = whole_state()
    assert before["supports"] and before["tallies"] and before["proposal_themes"] and before["issues"]

    merged = merge(consultation, duplicates, member)
    db.session.commit()
    assert whole_state() != before
    merged_id = merged.id
    restored = merging.unmerge(merged, by=member)
    db.session.commit()

    assert restored == list(duplicates)
    assert whole_state() == before
    assert db.session.get(Proposal, merged_id) is None
    [entry] = entries("proposal.unmerge")
    assert (entry.subject, entry.data["origins"]) == (f"proposals:{merged_id}",
                                                      [proposal.id for proposal in duplicates])


def test_unmerging_deletes_the_vectors_and_has_the_lists_it_entered_written_again(consultation, member, duplicates):
    merged = merge(consultation, duplicates, member)
    bystander = make_proposal(consultation)
    for proposal in (merged, bystander):
        db.session.add(ProposalVector(proposal_id=proposal.id, version_number=1, engine="test", vector=b"",
                                      neighbour_floor=0.2))
    db.session.add_all([ProposalNeighbour(proposal_id=merged.id, neighbour_id=bystander.id, score=0.8),
                        ProposalNeighbour(proposal_id=bystander.id, neighbour_id=merged.id, score=0.8)])
    db.session.commit()
    merging.unmerge(merged, by=member)
    db.session.commit()
    assert db.session.scalars(sa.select(ProposalNeighbour)).all() == []
    assert db.session.scalars(sa.select(ProposalVector)).all() == []  # the bystander's is computed again
    assert db.session.scalar(sa.select(Job.payload).order_by(Job.id.desc())) == {"proposal_id": bystander.id}


def test_unmerging_is_refused_when_the_merged_proposal_received_what_it_would_destroy(consultation, member,
                                                                                      duplicates):
    merged = merge(consultation, duplicates, member)
    make_comment(merged)
    make_comment(merged)
    make_support(merged, make_organization())
    message = ("La fusion ne peut plus être défaite : la proposition fusionnée a reçu depuis commentaires (2), "
               "soutiens (1), que défaire la fusion effacerait.")
    assert merging.why_not_unmerge(merged) == message
    with pytest.raises(RuleViolation, match=re.escape(message)):
        merging.unmerge(merged, by=member)
    assert all(proposal.merged_into_id == merged.id for proposal in duplicates)
    with pytest.raises(RuleViolation, match="n'est pas issue d'une fusion"):
        merging.unmerge(duplicates[0], by=member)


def test_unmerging_follows_the_same_rule_and_tells_the_organizations(duplicates):
    consultation = make_consultation(PhaseKind.DELIBERATION)
    first, second = (make_proposal(consultation, proposal.organization) for proposal in duplicates)
    member = seat(consultation).user
    merged = merge(consultation, [first, second], member)
    make_member(make_user("agent@mauriac.fr"), second.organization)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité"):
        merging.unmerge(merged, by=make_user())
    merging.unmerge(merged, by=member)
    [mail] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.subject.like("%défaite%"))).all()
    assert mail.recipient == "agent@mauriac.fr" and f"/propositions/{second.id}" in mail.body


# Through the pages

def space(path: str = "") -> str:
    return f"/consultations/besoins-2027/comite{path}"


@pytest.fixture
def signed_in(client, member):
    client.sign_in_as(member)
    return client


def merge_form(originals, **changes) -> dict:
    return {"proposal": [str(proposal.id) for proposal in originals],
            "organization_id": str(originals[0].organization_id), "title": "Cantine : réserver et s'inscrire en ligne",
            "summary": "Les familles réservent en ligne.", "body": "Un seul service.", "step": "review", **changes}


def test_a_member_merges_from_the_list_through_a_confirmation_step(signed_in, consultation, duplicates):
    client = signed_in
    first, second = duplicates
    assert "Fusionner les propositions cochées" in text_of(client.get(space("/propositions")))
    response = client.post_form(space("/fusions/selection"), {"proposal_ids": [str(first.id), str(second.id)]})
    assert response.location == space(f"/fusions/nouvelle?proposal={first.id}&proposal={second.id}")
    page = text_of(client.get(response.location))
    assert 'value="Réserver la cantine en ligne"' in page
    assert "## Inscription numérique à la cantine\n\nUn formulaire papier chaque trimestre." in page
    assert "La proposition fusionnée compte 3 organisations qui soutiennent l'une ou l'autre" in page
    assert "<td>2 : Aurillac, Murat</td>" in page and "« Cantines »" in page

    page = text_of(client.post_form(space("/fusions/nouvelle"), merge_form(duplicates)))
    assert "Confirmer la fusion" in page and "2 propositions seront fusionnées en « Cantine : réserver et " \
                                              "s'inscrire en ligne », portée par Saint-Flour." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 2  # nothing written yet

    response = client.post_form(space("/fusions/nouvelle"), merge_form(duplicates, step="confirm"))
    merged = db.session.scalar(sa.select(Proposal).where(Proposal.merged_at.is_not(None)))
    assert response.location == space(f"/fusions/{merged.id}")
    page = text_of(client.get(response.location))
    assert "Propositions fusionnées : leurs organisations en sont informées par courriel." in page
    assert "Ses propositions d'origine et leurs soutiens" in page and "Défaire la fusion" in page
    assert merged.support_count == 3 and first.merged_into_id == merged.id


def test_a_bad_input_is_told_in_french_and_loses_nothing(signed_in, consultation, duplicates):
    client = signed_in
    page = text_of(client.post_form(space("/fusions/nouvelle"), merge_form(
        duplicates, title="", step="confirm", body="Mon long texte fusionné.")))
    assert "Donnez un titre à la proposition fusionnée." in page and "Mon long texte fusionné." in page
    page = text_of(client.post_form(space("/fusions/nouvelle"), merge_form(
        duplicates, organization_id=str(make_organization().id), step="confirm", body="Mon long texte fusionné.")))
    assert "Choisissez l'organisation qui portera la proposition fusionnée." in page
    assert "Mon long texte fusionné." in page
    page = text_of(client.post_form(space("/fusions/nouvelle"), merge_form(duplicates, step="edit")))
    assert 'value="Cantine : réserver et s\'inscrire en ligne"' in page and "Vérifier la fusion" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 2

    for query, message in (("?proposal=abc&proposal=2", "Sélection illisible"),
                           (f"?proposal={duplicates[0].id}", "Choisissez au moins deux propositions à fusionner."),
                           ("?proposal=99999999999999999999", "Sélection illisible"),
                           (f"?proposal={duplicates[0].id}&proposal={make_proposal(kind='need').id}",
                            "Seules les propositions publiées de cette consultation se fusionnent.")):
        response = client.get(space(f"/fusions/nouvelle{query}"))
        assert response.status_code == 200 and message in text_of(response)


def test_merging_is_refused_outside_deliberation_with_the_reason(client):
    consultation = make_consultation(PhaseKind.SUPPORT, slug="besoins-2027")
    originals = [make_proposal(consultation) for _ in range(2)]
    client.sign_in_as(seat(consultation).user)
    response = client.get(space(f"/fusions/nouvelle?proposal={originals[0].id}&proposal={originals[1].id}"))
    assert response.location == space("/propositions")
    assert "Les propositions se fusionnent pendant la délibération du comité" in text_of(client.get(response.location))
    assert "Fusionner les propositions cochées" not in text_of(client.get(space("/propositions")))


def test_pages_say_where_an_original_went_and_what_a_merged_proposal_gathers(signed_in, consultation, member,
                                                                            duplicates):
    client = signed_in
    first, second = duplicates
    merged = merge(consultation, duplicates, member)
    db.session.commit()
    page = text_of(client.get(f"/propositions/{first.id}"))
    assert (f'<p class="fr-notice__title">Fusionnée dans « <a href="/propositions/{merged.id}">'
            f'{merged.title}</a> »</p>') in page
    page = text_of(client.get(f"/propositions/{merged.id}"))
    assert "Issue de la fusion de 2 propositions" in page
    assert (f'<a href="/propositions/{second.id}">Inscription numérique à la cantine</a> — déposée par Mauriac'
            in page)
    index = text_of(client.get("/consultations/besoins-2027/propositions"))
    assert merged.title in index and first.title not in index and second.title not in index
    assert first.title not in text_of(client.get(space("/propositions")))
    page = text_of(client.get(space("/fusions")))
    assert f'<a href="{space(f"/fusions/{merged.id}")}">{merged.title}</a>' in page


def test_a_member_undoes_a_merge_after_confirming(signed_in, consultation, member, duplicates):
    client = signed_in
    merged = merge(consultation, duplicates, member)
    db.session.commit()
    merged_id = merged.id
    page = text_of(client.get(space(f"/fusions/{merged_id}/defaire")))
    assert "Les propositions d'origine qui seront rétablies" in page
    response = client.post_form(space(f"/fusions/{merged_id}/defaire"))
    assert response.location == space("/fusions")
    assert "Fusion « Cantine : réserver et s'inscrire en ligne » défaite" in text_of(client.get(response.location))
    assert db.session.get(Proposal, merged_id) is None
    assert all(proposal.merged_into_id is None for proposal in duplicates)
    assert client.get(space(f"/fusions/{merged_id}")).status_code == 404


def test_undoing_is_refused_with_what_would_be_lost(signed_in, consultation, member, duplicates):
    client = signed_in
    merged = merge(consultation, duplicates, member)
    make_comment(merged)
    page = text_of(client.get(space(f"/fusions/{merged.id}/defaire")))
    assert "a reçu depuis commentaires (1)" in page and '<button class="fr-btn" type="submit">' not in page
    response = client.post_form(space(f"/fusions/{merged.id}/defaire"))
    assert "a reçu depuis commentaires (1)" in text_of(client.get(response.location))
    assert db.session.get(Proposal, merged.id) is not None
    assert client.get(space(f"/fusions/{duplicates[0].id}")).status_code == 404  # an original is no merge


def test_merges_read_as_sentences_in_the_audit_log(client, consultation, duplicates):
    admin = make_user(name="Camille Roux", is_admin=True)
    merged = merge(consultation, duplicates, admin)
    db.session.commit()
    merged_id = merged.id
    merging.unmerge(merged, by=admin)
    db.session.commit()
    page = text_of(client.sign_in_as(admin).get("/admin/journal"))
    assert f"Camille Roux a fusionné des propositions en la proposition « n° {merged_id} »" in page
    assert f"Camille Roux a défait la fusion qui avait donné la proposition « n° {merged_id} »" in page
    origins = (f"Propositions d'origine : « Réserver la cantine en ligne » (n° {duplicates[0].id}), "
               f"« Inscription numérique à la cantine » (n° {duplicates[1].id})")
    assert f"<li>Titre : Cantine : réserver et s'inscrire en ligne</li><li>{origins}</li>" in page
    assert "<li>Organisation porteuse : Saint-Flour</li>" in page
    assert "proposal." not in page


def test_a_merged_original_is_no_longer_linked_offered_as_similar_nor_linkable(consultation, member, duplicates):
    first, _second = duplicates
    service = make_proposal(consultation, kind="service", title="Portail famille")
    agent = make_member(organization=service.organization).user
    proposal_services.link_service_to_need(service, first, by=agent)
    db.session.add(ProposalNeighbour(proposal_id=service.id, neighbour_id=first.id, score=0.8))
    db.session.add(ProposalVector(proposal_id=service.id, version_number=0, engine=similarity.ENGINE_VERSION,
                                  vector=similarity.to_bytes(np.ones(similarity.DIM) / similarity.DIM ** 0.5),
                                  neighbour_floor=0.0))
    db.session.commit()
    assert proposal_services.linked(service) == [first]
    assert [other for other, _score in vectors.similar_proposals(service)] == [first]

    merged = merge(consultation, duplicates, member)
    db.session.commit()
    assert proposal_services.linked(service) == [] and vectors.similar_proposals(service) == []
    with pytest.raises(RuleViolation, match="non fusionnées se relient"):
        proposal_services.link_service_to_need(service, duplicates[1], by=agent)
    assert proposal_services.link_service_to_need(service, merged, by=agent).need_id == merged.id
