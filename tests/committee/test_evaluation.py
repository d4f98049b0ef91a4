"""Evaluation by the committee: criteria and weights, scores 0 to 5 by seated members while the stage allows it,
conflicts of interest of both kinds, assignments, the weighted mean, spread and missing list, private notes that
never leave the committee; then the same through the pages."""

import re
from datetime import datetime
from fractions import Fraction

import pytest
import sqlalchemy as sa
from alembic import command

from app.committee import evaluation, services
from app.committee.evaluation import CriterionInput
from app.committee.models import CommitteeNote, ConflictDeclaration, Criterion, EvaluationAssignment, Score
from app.consultations import services as consultation_services
from app.consultations.models import PhaseKind
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.extensions import db
from app.organizations.models import MembershipStatus
from app.proposals.models import ProposalCosponsor
from tests.conftest import alembic_config, database_url, engine_options, reset_schema, schema_name
from tests.consultations.test_services import consultation_input
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user, seat
from tests.helpers import text_of

DEFAULT_NAMES = ["Utilité", "Maturité", "Réutilisabilité", "Engagement open source", "Rapport coût-efficacité"]


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")


@pytest.fixture
def karim(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user


@pytest.fixture
def lea(consultation):
    return seat(consultation, make_user(name="Léa Morel")).user


@pytest.fixture
def proposal(consultation):
    return make_proposal(consultation, make_organization("Saint-Flour"), title="Portail famille")


def criteria(consultation) -> list[Criterion]:
    return evaluation.criteria_of(consultation)


def all_scored(consultation, *values, comment: str = "") -> dict:
    """One value per criterion, in the criteria's order."""
    return {criterion.id: (value, comment) for criterion, value in zip(criteria(consultation), values)}


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# Criteria

def test_every_consultation_starts_with_the_five_default_criteria_of_weight_one():
    created = consultation_services.save_consultation(None, consultation_input(), by=make_user(is_admin=True))
    assert [(criterion.name, criterion.weight) for criterion in criteria(created)] == [
        (name, 1) for name in DEFAULT_NAMES]
    assert all(criterion.description for criterion in criteria(created))


def test_criteria_change_until_the_first_score_then_never(consultation, karim, proposal):
    utility, maturity, *others = criteria(consultation)
    rows = [CriterionInput(utility.id, "Utilité publique", "Pour les habitants.", 3),
            CriterionInput(maturity.id, maturity.name, delete=True),
            *(CriterionInput(criterion.id, criterion.name, criterion.description, 1) for criterion in others),
            CriterionInput(None, "Sobriété", "Peu de ressources.", 2)]
    evaluation.update_criteria(consultation, rows, by=karim)
    assert [(criterion.name, criterion.weight) for criterion in criteria(consultation)] == [
        ("Utilité publique", 3), ("Réutilisabilité", 1), ("Engagement open source", 1),
        ("Rapport coût-efficacité", 1), ("Sobriété", 2)]
    entry = db.session.scalars(sa.select(AuditEntry).filter_by(action="evaluation.criteria")).one()
    assert entry.data["before"][:2] == [{"name": name, "weight": 1, "description": description}
                                        for name, description in evaluation.DEFAULT_CRITERIA[:2]]
    assert entry.data["after"][-1] == {"name": "Sobriété", "weight": 2, "description": "Peu de ressources."}

    evaluation.score_proposal(proposal, {criteria(consultation)[0].id: (4, "")}, by=karim)
    with pytest.raises(RuleViolation, match="L'évaluation a commencé : les critères et leurs poids ne changent plus"):
        evaluation.update_criteria(consultation, [CriterionInput(criterion.id, criterion.name, weight=5)
                                                  for criterion in criteria(consultation)], by=karim)
    assert [criterion.weight for criterion in criteria(consultation)] == [3, 1, 1, 1, 2]


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "U"}, "Le nom d'un critère compte entre 2 et 80 caractères."),
    ({"weight": 0}, "Le poids de « Utilité » est un entier de 1 à 10."),
    ({"weight": 11}, "Le poids de « Utilité » est un entier de 1 à 10."),
    ({"name": "maturité"}, "Deux critères ne portent pas le même nom."),
])
def test_criteria_are_named_once_and_weighed_from_one_to_ten(consultation, karim, change, message):
    rows = [CriterionInput(criterion.id, criterion.name, weight=1) for criterion in criteria(consultation)]
    rows[0] = CriterionInput(rows[0].id, **{"name": rows[0].name, "weight": 1, **change})
    with pytest.raises(RuleViolation, match=re.escape(message)):
        evaluation.update_criteria(consultation, rows, by=karim)


def test_at_least_one_criterion_stays_and_outsiders_change_none(consultation, karim):
    with pytest.raises(RuleViolation, match="Gardez au moins un critère."):
        evaluation.update_criteria(consultation, [CriterionInput(criterion.id, criterion.name, delete=True)
                                                  for criterion in criteria(consultation)], by=karim)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration définissent"):
        evaluation.update_criteria(consultation, [], by=make_user())


# Who scores, when, what

@pytest.mark.parametrize(("phase", "allowed"), [
    (PhaseKind.COLLECT, False), (PhaseKind.SUPPORT, False), (PhaseKind.DELIBERATION, True),
    (PhaseKind.SELECTION, True), (PhaseKind.RESULTS, False)])
def test_members_score_during_deliberation_and_selection_only(phase, allowed):
    consultation = make_consultation(phase)
    member, proposal = seat(consultation).user, make_proposal(consultation)
    if allowed:
        assert len(evaluation.score_proposal(proposal, all_scored(consultation, 1, 2, 3, 4, 5), by=member)) == 5
    else:
        with pytest.raises(RuleViolation, match="L'évaluation se fait pendant la délibération du comité et la "
                                                "sélection des lauréats."):
            evaluation.score_proposal(proposal, all_scored(consultation, 1, 2, 3, 4, 5), by=member)


def test_only_seated_members_score_admins_included(consultation, proposal):
    admin = make_user(is_admin=True)
    for outsider in (admin, make_user()):
        with pytest.raises(RuleViolation, match="Seuls les membres du comité notent les propositions."):
            evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=outsider)
    seat(consultation, admin)
    evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=admin)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score).filter_by(member_id=admin.id)) == 5


def test_only_published_proposals_of_the_consultation_not_merged_are_scored(consultation, karim, proposal):
    other = make_proposal(make_consultation(PhaseKind.DELIBERATION))
    merged = make_proposal(consultation, merged_into_id=proposal.id)
    withdrawn = make_proposal(consultation, state="withdrawn")
    for refused in (merged, withdrawn):
        with pytest.raises(RuleViolation, match="Seules les propositions publiées de la consultation, non fusionnées"):
            evaluation.score_proposal(refused, {}, by=karim)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité"):  # another consultation's committee
        evaluation.score_proposal(other, {}, by=karim)


@pytest.mark.parametrize("value", [-1, 6, 10])
def test_scores_go_from_zero_to_five(consultation, karim, proposal, value):
    utility = criteria(consultation)[0]
    with pytest.raises(RuleViolation, match="La note de « Utilité » va de 0 à 5.") as refusal:
        evaluation.score_proposal(proposal, {utility.id: (value, "")}, by=karim)
    assert refusal.value.field == f"value_{utility.id}"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0


def test_a_score_is_changed_or_taken_back_and_each_change_is_logged(consultation, karim, proposal):
    utility, maturity, *_ = criteria(consultation)
    evaluation.score_proposal(proposal, {utility.id: (0, " Peu utile. "), maturity.id: (5, "")}, by=karim)
    evaluation.score_proposal(proposal, {utility.id: (0, "Peu utile."), maturity.id: (5, "")}, by=karim)  # same
    evaluation.score_proposal(proposal, {utility.id: (2, "Utile ailleurs."), maturity.id: (None, "")}, by=karim)
    assert [(score.criterion_id, score.value, score.comment) for score in db.session.scalars(sa.select(Score))] == [
        (utility.id, 2, "Utile ailleurs.")]
    entries = db.session.scalars(sa.select(AuditEntry).filter_by(action="evaluation.score")).all()
    assert [entry.data for entry in entries] == [{"values": {"Utilité": 0, "Maturité": 5}},
                                                 {"values": {"Utilité": 2, "Maturité": None}}]
    with pytest.raises(RuleViolation, match="Notez « Utilité » pour le commenter."):
        evaluation.score_proposal(proposal, {utility.id: (None, "Sans note.")}, by=karim)
    with pytest.raises(RuleViolation, match="Les critères ont changé entre-temps"):
        evaluation.score_proposal(proposal, {utility.id + 1000: (3, "")}, by=karim)


# Conflicts of interest

def test_a_member_does_not_score_proposals_of_an_organization_they_belong_to(consultation, karim, proposal):
    make_member(karim, proposal.organization, status=MembershipStatus.PENDING)  # not yet a member: no conflict
    evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=karim)
    karim.memberships[0].status = MembershipStatus.VERIFIED
    db.session.commit()
    with pytest.raises(RuleViolation, match="une organisation dont vous êtes membre la porte"):
        evaluation.score_proposal(proposal, all_scored(consultation, 4, 4, 4, 4, 4), by=karim)
    # Their earlier score no longer counts either.
    assert evaluation.evaluations(consultation, [proposal.id])[proposal.id].by_member == {}


def test_a_co_sponsoring_organization_is_a_conflict_too(consultation, karim, proposal):
    cosponsor = make_organization("Mauriac")
    make_member(karim, cosponsor)
    db.session.add(ProposalCosponsor(proposal=proposal, organization=cosponsor, added_by_id=karim.id))
    db.session.commit()
    with pytest.raises(RuleViolation, match="une organisation dont vous êtes membre la porte"):
        evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=karim)


def test_a_declared_conflict_withdraws_scores_and_assignment_until_withdrawn(consultation, karim, lea, proposal):
    evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=karim)
    evaluation.assign_evaluator(consultation, [proposal.id], karim, by=lea)
    with pytest.raises(RuleViolation, match="Indiquez le motif du conflit d'intérêts") as refusal:
        evaluation.declare_conflict(proposal, "  ", by=karim)
    assert refusal.value.field == "reason"
    evaluation.declare_conflict(proposal, "J'ai conseillé Saint-Flour sur ce projet.", by=karim)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationAssignment)) == 0
    with pytest.raises(RuleViolation, match="vous avez déclaré un conflit d'intérêts avec elle"):
        evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=karim)
    with pytest.raises(RuleViolation, match="Karim Benali a un conflit d'intérêts avec : « Portail famille »."):
        evaluation.assign_evaluator(consultation, [proposal.id], karim, by=lea)
    with pytest.raises(RuleViolation, match="déjà déclaré"):
        evaluation.declare_conflict(proposal, "Encore.", by=karim)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité déclarent"):
        evaluation.declare_conflict(proposal, "Je ne siège pas.", by=make_user(is_admin=True))

    evaluation.withdraw_conflict(proposal, by=karim)
    evaluation.score_proposal(proposal, all_scored(consultation, 2, 2, 2, 2, 2), by=karim)
    with pytest.raises(RuleViolation, match="Vous n'avez pas déclaré de conflit"):
        evaluation.withdraw_conflict(proposal, by=karim)
    declare = db.session.scalars(sa.select(AuditEntry).filter_by(action="evaluation.conflict_declare")).one()
    assert declare.data == {"user_id": karim.id, "reason": "J'ai conseillé Saint-Flour sur ce projet.",
                            "scores_removed": 5, "unassigned": True}
    assert "evaluation.conflict_withdraw" in actions()


def test_a_member_leaving_the_committee_takes_their_declarations_along(consultation, karim, proposal):
    evaluation.declare_conflict(proposal, "Ancien agent de Saint-Flour.", by=karim)
    seat_of_karim = consultation.committee_seats[0]
    services.remove_committee_member(seat_of_karim, by=make_user(is_admin=True))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConflictDeclaration)) == 0


# Assignments

def test_proposals_are_assigned_in_bulk_to_members_without_conflict(consultation, karim, lea, proposal):
    second = make_proposal(consultation, title="Cantine en ligne")
    assert evaluation.assign_evaluator(consultation, [proposal.id, second.id], lea, by=karim) == [proposal, second]
    assert evaluation.assign_evaluator(consultation, [proposal.id], lea, by=karim) == []  # already hers
    make_member(karim, second.organization)
    with pytest.raises(RuleViolation, match="Karim Benali a un conflit d'intérêts avec : « Cantine en ligne »."):
        evaluation.assign_evaluator(consultation, [proposal.id, second.id], karim, by=lea)
    with pytest.raises(RuleViolation, match="Choisissez un membre du comité."):
        evaluation.assign_evaluator(consultation, [proposal.id], make_user(), by=lea)
    draft = make_proposal(consultation, state="draft")
    with pytest.raises(RuleViolation, match="Seules les propositions publiées de cette consultation"):
        evaluation.assign_evaluator(consultation, [proposal.id, draft.id], lea, by=karim)
    assert evaluation.unassign_evaluator(consultation, [second.id], lea, by=karim) == [second]
    assert actions().count("evaluation.assign") == 2 and actions().count("evaluation.unassign") == 1
    with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration travaillent"):
        evaluation.assign_evaluator(consultation, [proposal.id], lea, by=make_user())
    elsewhere = make_consultation(PhaseKind.SUPPORT)
    member = seat(elsewhere).user
    with pytest.raises(RuleViolation, match="L'évaluation se fait pendant"):
        evaluation.assign_evaluator(elsewhere, [make_proposal(elsewhere).id], member, by=member)


# The grid's figures

def test_weighted_mean_and_spread_are_exact_and_count_complete_scores_only(consultation, karim, lea, proposal):
    third = seat(consultation, make_user(name="Zoé Petit")).user
    utility = criteria(consultation)[0]
    evaluation.update_criteria(consultation, [CriterionInput(criterion.id, criterion.name, criterion.description,
                                                             3 if criterion == utility else 1)
                                              for criterion in criteria(consultation)], by=karim)
    evaluation.score_proposal(proposal, all_scored(consultation, 5, 4, 3, 2, 1), by=karim)  # (15+4+3+2+1) / 7
    evaluation.score_proposal(proposal, all_scored(consultation, 2, 2, 2, 2, 2), by=lea)  # 2
    evaluation.score_proposal(proposal, {utility.id: (5, "")}, by=third)  # incomplete: does not count yet
    result = evaluation.evaluations(consultation, [proposal.id])[proposal.id]
    assert result.by_member == {karim.id: Fraction(25, 7), lea.id: Fraction(2)}
    assert result.mean == Fraction(39, 14) and result.spread == Fraction(11, 7)
    assert result.missing == [third]
    assert evaluation.weighted_mean(proposal) == Fraction(39, 14)


def test_the_missing_list_is_the_assigned_evaluators_if_any_else_every_member_without_conflict(
        consultation, karim, lea, proposal):
    third = seat(consultation, make_user(name="Zoé Petit")).user
    unscored = make_proposal(consultation)
    results = evaluation.evaluations(consultation, [proposal.id, unscored.id])
    assert results[unscored.id].missing == [karim, lea, third]
    assert results[unscored.id].mean is None and results[unscored.id].spread is None
    evaluation.declare_conflict(unscored, "Conflit.", by=third)
    assert evaluation.evaluations(consultation, [unscored.id])[unscored.id].missing == [karim, lea]
    evaluation.assign_evaluator(consultation, [unscored.id], lea, by=karim)
    assert evaluation.evaluations(consultation, [unscored.id])[unscored.id].missing == [lea]
    evaluation.score_proposal(unscored, all_scored(consultation, 1, 1, 1, 1, 1), by=lea)
    result = evaluation.evaluations(consultation, [unscored.id])[unscored.id]
    assert result.missing == [] and result.mean == 1 and result.spread == 0


# Notes

def test_notes_and_replies_form_threads_on_one_proposal(consultation, karim, lea, proposal):
    first = evaluation.add_note(proposal, "Le budget paraît élevé.", by=karim)
    reply = evaluation.add_note(proposal, "Il inclut trois ans d'hébergement.", parent_id=first.id, by=lea)
    evaluation.add_note(proposal, "D'accord.", parent_id=reply.id, by=karim)  # hangs from the thread's first note
    assert [(note.body, [each.body for each in replies]) for note, replies in evaluation.notes_of(proposal)] == [
        ("Le budget paraît élevé.", ["Il inclut trois ans d'hébergement.", "D'accord."])]
    other = make_proposal(consultation)
    with pytest.raises(RuleViolation, match="La note à laquelle vous répondez n'existe plus."):
        evaluation.add_note(other, "Mauvais fil.", parent_id=first.id, by=karim)
    with pytest.raises(RuleViolation, match="Écrivez la note."):
        evaluation.add_note(proposal, "   ", by=karim)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration"):
        evaluation.add_note(proposal, "Intrusion.", by=make_user())
    entries = db.session.scalars(sa.select(AuditEntry).filter_by(action="evaluation.note")).all()
    assert len(entries) == 3 and "Le budget" not in str([entry.data for entry in entries])


# Through the pages

def space(path: str = "") -> str:
    return f"/consultations/besoins-2027/comite/evaluation{path}"


def form_of(consultation, *values, comments=()) -> dict:
    data = {}
    for index, criterion in enumerate(criteria(consultation)):
        data[f"value_{criterion.id}"] = "" if values[index] is None else str(values[index])
        data[f"comment_{criterion.id}"] = comments[index] if index < len(comments) else ""
    return data


def test_a_member_scores_every_criterion_at_once_and_a_bad_input_loses_nothing(client, consultation, karim,
                                                                               proposal):
    client.sign_in_as(karim)
    url = space(f"/propositions/{proposal.id}")
    page = text_of(client.get(url))
    assert "<h1 class=\"fr-mt-5w\">Portail famille</h1>" in page
    assert f'href="/propositions/{proposal.id}"' in page
    assert all(f'<label class="fr-label" for="value_{criterion.id}">Note : {criterion.name}' in page
               for criterion in criteria(consultation))

    page = text_of(client.post_form(url, {**form_of(consultation, 4, 7, None, None, None,
                                                    comments=["Très attendu par les familles."])}))
    assert "Choisissez une note de 0 à 5, ou « Pas de note »." in page
    assert "Très attendu par les familles.</textarea>" in page
    page = text_of(client.post_form(url, form_of(consultation, 4, None, None, None, None,
                                                 comments=["Très attendu.", "Pas encore déployé."])))
    assert "Notez « Maturité » pour le commenter." in page and "Pas encore déployé.</textarea>" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0

    response = client.post_form(url, form_of(consultation, 4, 3, 5, 2, 1, comments=["Très attendu."]))
    assert response.location == url
    page = text_of(client.get(url))
    assert "Vos notes sont enregistrées." in page
    assert sorted(db.session.scalars(sa.select(Score.value))) == [1, 2, 3, 4, 5]
    assert "Moyenne pondérée : 3" in page and "Pas encore noté par : personne" in page
    utility = criteria(consultation)[0]
    assert '<option selected value="4">4</option>' in page and f'id="comment_{utility.id}"' in page


def test_admins_see_the_grid_and_a_proposal_but_score_only_if_seated(client, consultation, karim, proposal):
    client.sign_in_as(make_user(is_admin=True))
    page = text_of(client.get(space(f"/propositions/{proposal.id}")))
    assert "Seuls les membres du comité notent les propositions." in page and "value_" not in page
    assert "Karim Benali" in text_of(client.get(space()))
    client.sign_in_as(make_user())
    assert client.get(space()).status_code == 403
    assert client.get(space(f"/propositions/{proposal.id}")).status_code == 403


def test_a_conflicted_member_is_told_why_and_pointed_to_their_seat(client, consultation, karim, proposal):
    make_member(karim, proposal.organization)
    client.sign_in_as(karim)
    page = text_of(client.get(space(f"/propositions/{proposal.id}")))
    assert "Vous ne notez pas cette proposition : une organisation dont vous êtes membre la porte." in page
    assert f'href="{space("/mon-siege")}?proposition={proposal.id}"' in page


def test_the_grid_shows_each_members_score_the_mean_the_spread_and_who_is_missing(client, consultation, karim,
                                                                                  lea, proposal):
    evaluation.score_proposal(proposal, all_scored(consultation, 5, 4, 3, 2, 1), by=karim)  # 3
    evaluation.score_proposal(proposal, all_scored(consultation, 2, 2, 2, 3, 3), by=lea)  # 2.4
    unscored = make_proposal(consultation, title="Cantine en ligne")
    make_member(lea, unscored.organization)
    db.session.commit()
    client.sign_in_as(karim)
    page = text_of(client.get(space()))
    row = re.search(r"Portail famille</label>.*?</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["3", "2,4", "2,7", "0,6", "tous les membres", "personne"]
    row = re.search(r"Cantine en ligne</label>.*?</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["—", "conflit d'intérêts", "—", "—", "tous les membres",
                                                    "Karim Benali"]


def test_proposals_are_assigned_in_bulk_from_the_grid_conflicts_refused_by_name(client, consultation, karim, lea,
                                                                                proposal):
    second = make_proposal(consultation, title="Cantine en ligne")
    make_member(lea, second.organization)
    client.sign_in_as(karim)
    ids = [str(proposal.id), str(second.id)]
    page = text_of(client.post_form(space(), {"proposal_ids": ids, "evaluator_id": str(lea.id), "action": "assign"}))
    assert "Léa Morel a un conflit d'intérêts avec : « Cantine en ligne ». Décochez ces propositions." in page
    assert re.search(f'id="proposition-{second.id}" name="proposal_ids" value="{second.id}" checked', page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationAssignment)) == 0
    page = text_of(client.post_form(space(), {"proposal_ids": ids, "evaluator_id": "", "action": "assign"}))
    assert "Choisissez un membre du comité." in page

    response = client.post_form(space("?mine=y"), {"proposal_ids": [str(proposal.id)], "evaluator_id": str(karim.id),
                                                   "action": "assign"})
    assert response.location == space("?mine=y")
    page = text_of(client.get(response.location))
    assert "Propositions attribuées à Karim Benali." in page
    assert "Portail famille</label>" in page and "Cantine en ligne</label>" not in page  # mine only


def test_criteria_are_edited_through_the_form_until_the_first_score(client, consultation, karim, proposal):
    client.sign_in_as(karim)
    utility, *others = criteria(consultation)
    page = text_of(client.get(space("/criteres")))
    assert "jusqu'à la première note donnée" in page
    data = {f"name_{utility.id}": "Utilité", f"description_{utility.id}": "", f"weight_{utility.id}": "2",
            **{f"name_{c.id}": c.name for c in others}, **{f"weight_{c.id}": "1" for c in others},
            "name_nouveau": "", "weight_nouveau": "1"}
    page = text_of(client.post_form(space("/criteres"), {**data, f"name_{utility.id}": "", "name_nouveau": "Sobriété"}))
    assert "Nommez le critère." in page and 'value="Sobriété"' in page
    assert client.post_form(space("/criteres"), data).location == space("/criteres")
    assert [criterion.weight for criterion in criteria(consultation)] == [2, 1, 1, 1, 1]
    assert utility.description == ""

    evaluation.score_proposal(proposal, {utility.id: (3, "")}, by=karim)
    db.session.commit()
    page = text_of(client.get(space("/criteres")))
    assert "L'évaluation a commencé : les critères et leurs poids ne changent plus" in page
    assert "<td>2 / 6</td>" in page and "name_" not in page
    client.post_form(space("/criteres"), {**data, f"weight_{utility.id}": "5"})
    assert utility.weight == 2


def test_a_member_declares_and_withdraws_a_conflict_from_their_seat(client, consultation, karim, proposal):
    client.sign_in_as(karim)
    page = text_of(client.get(space(f"/mon-siege?proposition={proposal.id}")))
    assert f'<option selected value="{proposal.id}">Portail famille</option>' in page
    page = text_of(client.post_form(space("/mon-siege"), {"proposal_id": str(proposal.id), "reason": ""}))
    assert "Indiquez le motif du conflit d'intérêts." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConflictDeclaration)) == 0
    response = client.post_form(space("/mon-siege"), {"proposal_id": str(proposal.id), "reason": "Ancien agent."})
    page = text_of(client.get(response.location))
    assert "Conflit d'intérêts déclaré avec « Portail famille »." in page and "<td>Ancien agent.</td>" in page
    client.post_form(space(f"/mon-siege/conflits/{proposal.id}/retirer"))
    assert "Conflit d'intérêts retiré pour « Portail famille »." in text_of(client.get(space("/mon-siege")))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConflictDeclaration)) == 0
    page = text_of(client.post_form(space("/mon-siege"), {"proposal_id": "", "reason": "Ancienne cheffe de projet."}))
    assert "Choisissez la proposition." in page and "Ancienne cheffe de projet.</textarea>" in page
    client.sign_in_as(make_user(is_admin=True))
    assert client.get(space("/mon-siege")).status_code == 403  # no seat to declare from


def test_notes_stay_inside_the_committee(client, consultation, karim, lea, proposal):
    client.sign_in_as(karim)
    url = space(f"/propositions/{proposal.id}")
    page = text_of(client.post_form(space(f"/propositions/{proposal.id}/notes"), {"body": ""}))
    assert "Écrivez la note." in page
    client.post_form(space(f"/propositions/{proposal.id}/notes"), {"body": "Secret : budget surestimé."})
    note = db.session.scalars(sa.select(CommitteeNote)).one()
    page = text_of(client.post_form(space(f"/propositions/{proposal.id}/notes"),
                                    {"body": " ", "parent_id": str(note.id)}))
    assert f'id="reponse-{note.id}-erreur">Écrivez la note.' in page
    client.sign_in_as(lea)
    response = client.post_form(space(f"/propositions/{proposal.id}/notes"),
                                {"body": "Réponse confidentielle.", "parent_id": str(note.id)})
    assert response.location == f"{url}#notes"
    page = text_of(client.get(url))
    assert "Secret : budget surestimé." in page and "Réponse confidentielle." in page
    assert "Répondre à Karim Benali" in page

    for reader in (lea, make_user(is_admin=True), None):
        if reader is None:
            client.post_form("/compte/deconnexion")
        else:
            client.sign_in_as(reader)
        for outside in (f"/propositions/{proposal.id}", f"/api/v1/proposals/{proposal.id}",
                        "/api/v1/consultations/besoins-2027/proposals", "/consultations/besoins-2027/propositions"):
            response = client.get(outside)
            assert response.status_code == 200 and "Portail famille" in text_of(response), outside
            assert "budget surestimé" not in text_of(response) and "confidentielle" not in text_of(response), outside
        tally = text_of(client.get("/consultations/besoins-2027/decompte.csv"))  # the open data there is
        assert "budget surestimé" not in tally and "confidentielle" not in tally


def test_the_committee_list_filters_proposals_evaluated_by_me_or_not_yet(client, consultation, karim, lea, proposal):
    second = make_proposal(consultation, title="Cantine en ligne")
    third = make_proposal(consultation, title="Transport à la demande")
    evaluation.score_proposal(proposal, all_scored(consultation, 3, 3, 3, 3, 3), by=karim)
    evaluation.score_proposal(second, {criteria(consultation)[0].id: (3, "")}, by=karim)  # not whole: not evaluated
    evaluation.score_proposal(third, all_scored(consultation, 3, 3, 3, 3, 3), by=lea)
    db.session.commit()
    client.sign_in_as(karim)

    def shown(value: str) -> list[str]:
        page = text_of(client.get("/consultations/besoins-2027/comite/propositions", query_string={"evaluated": value}))
        return sorted(re.findall(r'<label class="fr-label" for="proposition-\d+">([^<]+)</label>', page))

    page = text_of(client.get("/consultations/besoins-2027/comite/propositions"))
    evaluate = space(f"/propositions/{proposal.id}")
    assert f'href="{evaluate}">Évaluer<span class="fr-sr-only"> « Portail famille »' in page
    assert shown("par-moi") == ["Portail famille"]
    assert shown("pas-par-moi") == ["Cantine en ligne", "Transport à la demande"]
    assert shown("") == ["Cantine en ligne", "Portail famille", "Transport à la demande"]


def test_the_home_page_links_to_the_evaluation_pages(client, consultation, karim):
    client.sign_in_as(karim)
    page = text_of(client.get("/consultations/besoins-2027/comite"))
    for path in ("", "/criteres", "/mon-siege"):
        assert f'href="{space(path)}"' in page


def test_evaluation_actions_read_as_sentences_in_the_log(client, consultation, karim, lea, proposal):
    utility = criteria(consultation)[0]
    evaluation.update_criteria(consultation, [CriterionInput(criterion.id, criterion.name, criterion.description,
                                                             2 if criterion == utility else 1)
                                              for criterion in criteria(consultation)], by=karim)
    evaluation.score_proposal(proposal, {utility.id: (4, "")}, by=karim)
    evaluation.assign_evaluator(consultation, [proposal.id], lea, by=karim)
    evaluation.declare_conflict(proposal, "Ancienne cheffe de projet.", by=lea)
    evaluation.withdraw_conflict(proposal, by=lea)
    evaluation.add_note(proposal, "Texte privé de la note.", by=karim)
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    page = text_of(client.get("/admin/journal"))
    link = f'« <a href="/propositions/{proposal.id}">Portail famille</a> »'
    assert "Karim Benali a modifié les critères d'évaluation de la consultation" in page
    assert "<li>Après : Utilité (poids 2), Maturité (poids 1)" in page
    assert f"Karim Benali a noté la proposition {link}" in page and "<li>Utilité : 4 / 5</li>" in page
    assert f"Karim Benali a attribué à Léa Morel l'évaluation de la proposition {link}" in page
    assert f"Léa Morel a déclaré un conflit d'intérêts avec la proposition {link}" in page
    assert "<li>Motif : Ancienne cheffe de projet.</li>" in page
    assert "<li>La proposition ne lui est plus attribuée.</li>" in page
    assert f"Léa Morel a retiré son conflit d'intérêts avec la proposition {link}" in page
    assert f"Karim Benali a écrit une note privée du comité sur la proposition {link}" in page
    assert "Texte privé de la note." not in page and "evaluation." not in page


# The migration's data step

def test_the_migration_gives_existing_consultations_the_default_criteria(tmp_path_factory):
    name = "agora_evaluation_migration"
    url, schema = database_url(tmp_path_factory, name), schema_name(name)
    reset_schema(url, schema)
    engine = sa.create_engine(url, **engine_options(url, schema))
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "a3c8e1f7b9d2")  # the revision before evaluation
            consultations = sa.Table("consultations", sa.MetaData(), autoload_with=connection)
            connection.execute(consultations.insert().values(_required_values(consultations, slug="ancienne")))
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "b6d4f2a8c1e3")
            rows = connection.execute(sa.text("SELECT name, weight, position FROM evaluation_criteria "
                                              "ORDER BY position")).all()
        assert rows == [(name, 1, position) for position, name in enumerate(DEFAULT_NAMES)]
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "a3c8e1f7b9d2")
        assert "evaluation_criteria" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
        reset_schema(url, schema, create=False)


def _required_values(table: sa.Table, **values) -> dict:
    """A value for every column the row cannot go without, by its type."""
    by_type = [(sa.Boolean, False), (sa.Integer, 0), (sa.JSON, []), (sa.DateTime, datetime(2026, 1, 1)),
               (sa.String, "x")]
    for column in table.columns:
        if column.name not in values and not column.nullable and column.server_default is None \
                and not column.primary_key:
            values[column.name] = next(value for kind, value in by_type if isinstance(column.type, kind))
    return values


def test_outside_deliberation_and_selection_the_pages_say_why_nothing_is_scored(client):
    consultation = make_consultation(PhaseKind.SUPPORT, slug="besoins-2027")
    member, proposal = seat(consultation).user, make_proposal(consultation)
    client.sign_in_as(member)
    page = text_of(client.get(space(f"/propositions/{proposal.id}")))
    assert page.count("L'évaluation se fait pendant la délibération du comité et la sélection des lauréats.") == 2
    assert "value_" not in page and "Ajouter la note" not in page
    page = text_of(client.get(space()))
    assert "L'évaluation se fait pendant" in page and "Attribuer à ce membre" not in page
    response = client.post_form(space(f"/propositions/{proposal.id}"), form_of(consultation, 3, 3, 3, 3, 3))
    assert "L'évaluation se fait pendant" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0
