"""Suggested issues ("Proposer des enjeux"): asking, the job that computes the draft, working on the draft
(which changes nothing else), accepting clusters (which creates issues, audited), the rules, the pages, the
likely duplicates and the "doublon probable" filter of the committee's list."""

import json
import re
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.committee import suggestions
from app.committee.models import ClusterSuggestion, Issue
from app.committee.suggestion_views import merge_url
from app.consultations.models import PhaseKind
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.jobs import MAX_ATTEMPTS, Job
from app.extensions import db
from app.proposals.models import Proposal
from app.proposals.vectors import queue_vectors
from config import ROOT
from tests.committee.test_clustering import NEAR_COPY_OF_FIRST
from tests.factories import make_consultation, make_issue, make_proposal, make_suggestion, make_user, seat
from tests.helpers import run_jobs, text_of
from tests.proposals.test_similarity import PROPOSALS

SLUG = "besoins-2027"


def space(path: str = "") -> str:
    return f"/consultations/{SLUG}/comite/suggestion{path}"


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug=SLUG)


@pytest.fixture
def member(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user


@pytest.fixture
def proposals(consultation) -> dict[str, Proposal]:
    """Twelve published proposals in four topics and a near copy of the first, with their vectors and
    neighbours computed by the job, as in production."""
    made = {f"{topic}-{number % 3}": make_proposal(consultation, title=title, body=body)
            for number, (topic, title, body) in enumerate(PROPOSALS)}
    made["copy"] = make_proposal(consultation, title=NEAR_COPY_OF_FIRST[0], body=NEAR_COPY_OF_FIRST[1])
    for proposal in made.values():
        proposal.summary = ""  # the texts of the clustering tests, nothing more
    queue_vectors(list(made.values()))
    db.session.commit()
    run_jobs()
    return made


def computed(consultation, member, clusters: int | None = 4, threshold: float = 0.7) -> ClusterSuggestion:
    draft = suggestions.request_suggestion(consultation, n_clusters=clusters, threshold=threshold, by=member)
    db.session.commit()
    run_jobs()
    return draft


def cluster_of(draft: ClusterSuggestion, proposal: Proposal) -> dict:
    return next(cluster for cluster in draft.content["clusters"] if proposal.id in cluster["proposal_ids"])


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def state() -> tuple:
    """Everything but the draft that working on a draft must leave alone."""
    return (db.session.execute(sa.select(Proposal.id, Proposal.issue_id, Proposal.title).order_by(Proposal.id)).all(),
            db.session.execute(sa.select(Issue.id, Issue.title)).all(), actions())


# The job and the draft


def test_asking_queues_a_job_and_the_job_stores_a_draft_with_clusters_terms_and_duplicates(consultation, member,
                                                                                          proposals):
    draft = suggestions.request_suggestion(consultation, n_clusters=4, threshold=0.7, by=member)
    db.session.commit()
    assert draft.content is None and actions() == ["suggestion.request"]
    run_jobs()
    content = draft.content
    assert content["inputs"] == {"clusters": 4, "k": 4, "threshold": 0.7, "silhouette": None, "proposals": 13,
                                 "missing": 0}
    assert len(content["clusters"]) == 4
    assert sorted(id_ for cluster in content["clusters"] for id_ in cluster["proposal_ids"]) == sorted(
        proposal.id for proposal in proposals.values())
    canteen = cluster_of(draft, proposals["cantine-0"])
    assert sorted(canteen["proposal_ids"]) == sorted(proposals[name].id
                                                     for name in ("cantine-0", "cantine-1", "cantine-2", "copy"))
    assert "cantine" in canteen["key_terms"]
    assert canteen["name"] == ", ".join(canteen["key_terms"][:3]).capitalize()
    assert len(canteen["central"]) == 3 and set(canteen["scores"]) == {str(id_) for id_ in canteen["proposal_ids"]}
    assert [pair["proposal_ids"] for pair in content["duplicates"]] == [[proposals["cantine-0"].id,
                                                                         proposals["copy"].id]]
    assert content["duplicates"][0]["score"] > 0.9 and content["duplicates_total"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


def test_the_same_input_gives_the_same_draft_and_the_command_prints_it(app, consultation, member, proposals):
    first = computed(consultation, member).content
    second = computed(consultation, member).content
    assert first == second
    result = app.test_cli_runner().invoke(args=["committee", "suggest", "--consultation", SLUG, "--clusters", "4",
                                                "--threshold", "0.7", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "clusters": [{"proposal_ids": cluster["proposal_ids"], "key_terms": cluster["key_terms"]}
                     for cluster in first["clusters"]],
        "duplicates": first["duplicates"]}


def test_left_to_the_engine_the_number_of_issues_comes_with_its_reason(consultation, member, proposals):
    make_proposal(consultation, title="Sans vecteur encore")  # its job has not run
    inputs = computed(consultation, member, clusters=None).content["inputs"]
    assert inputs["k"] == 4 and inputs["clusters"] is None and inputs["missing"] == 1
    assert max(inputs["silhouette"], key=inputs["silhouette"].get) == "4"


def test_a_draft_keeps_the_closest_pairs_only_and_says_how_many_there_were(consultation, member, proposals,
                                                                          monkeypatch):
    monkeypatch.setattr(suggestions, "MAX_DUPLICATES", 1)
    content = computed(consultation, member, threshold=0.5).content
    assert len(content["duplicates"]) == 1 and content["duplicates_total"] > 1
    assert content["duplicates"][0]["proposal_ids"] == [proposals["cantine-0"].id, proposals["copy"].id]


def test_asking_again_replaces_the_draft_and_an_outdated_job_does_nothing(consultation, member, proposals):
    first = suggestions.request_suggestion(consultation, n_clusters=3, threshold=0.7, by=member)
    second = suggestions.request_suggestion(consultation, n_clusters=2, threshold=0.9, by=member, version=first.version)
    db.session.commit()
    assert first is second
    run_jobs()
    assert len(second.content["clusters"]) == 2 and second.content["inputs"]["threshold"] == 0.9
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClusterSuggestion)) == 1
    assert actions() == ["suggestion.request", "suggestion.request"]


# Working on the draft changes nothing else


def test_renaming_moving_dropping_and_merging_change_the_draft_only(consultation, member, proposals):
    draft = computed(consultation, member)
    canteen, bus = cluster_of(draft, proposals["cantine-0"]), cluster_of(draft, proposals["transport-0"])
    before = state()

    suggestions.rename_cluster(draft, canteen["number"], "  Restauration   scolaire ", version=draft.version, by=member)
    suggestions.move_proposals(draft, canteen["number"], [proposals["copy"].id], bus["number"], version=draft.version,
                               by=member)
    suggestions.drop_proposals(draft, canteen["number"], [proposals["cantine-2"].id], version=draft.version, by=member)
    db.session.commit()
    canteen, bus = cluster_of(draft, proposals["cantine-0"]), cluster_of(draft, proposals["transport-0"])
    assert canteen["name"] == "Restauration scolaire"
    assert sorted(canteen["proposal_ids"]) == [proposals["cantine-0"].id, proposals["cantine-1"].id]
    assert proposals["copy"].id in bus["proposal_ids"] and draft.content["dropped"] == [proposals["cantine-2"].id]

    suggestions.merge_clusters(draft, canteen["number"], bus["number"], version=draft.version, by=member)
    db.session.commit()
    merged = cluster_of(draft, proposals["transport-0"])
    assert merged["number"] == canteen["number"] and merged["name"] == "Restauration scolaire"
    assert merged["merged"] == [bus["number"]] and len(draft.content["clusters"]) == 3
    assert set(bus["key_terms"]) <= set(merged["key_terms"])
    assert state() == before


REFUSED_CHANGES = {
    "name too short": (lambda draft, by, ids: suggestions.rename_cluster(draft, 1, "X", version=draft.version, by=by),
                       "Le nom compte entre 3 et 150 caractères."),
    "move to itself": (lambda draft, by, ids: suggestions.move_proposals(draft, 1, ids, 1, version=draft.version,
                                                                         by=by),
                       "Choisissez un autre groupe que celui où sont déjà les propositions."),
    "move from elsewhere": (lambda draft, by, ids: suggestions.move_proposals(draft, 2, ids, 1, version=draft.version,
                                                                              by=by),
                            "Ces propositions ne sont plus dans ce groupe : rechargez la page."),
    "drop nothing": (lambda draft, by, ids: suggestions.drop_proposals(draft, 1, [], version=draft.version, by=by),
                     "Cochez au moins une proposition."),
    "merge a merged cluster": (lambda draft, by, ids: suggestions.merge_clusters(draft, 1, 99, version=draft.version,
                                                                                 by=by),
                               "Ce groupe n'existe plus dans la suggestion : il a été fusionné avec un autre."),
    "merge with itself": (lambda draft, by, ids: suggestions.merge_clusters(draft, 1, 1, version=draft.version, by=by),
                          "Choisissez un autre groupe à fusionner avec celui-ci."),
    "stale version": (lambda draft, by, ids: suggestions.rename_cluster(draft, 1, "Cantines", version=draft.version - 1,
                                                                        by=by),
                      "Un autre membre du comité a modifié la suggestion pendant que vous la lisiez : rien n'a été "
                      "changé."),
}


@pytest.mark.parametrize("name", REFUSED_CHANGES)
def test_a_refused_change_says_why_and_leaves_the_draft_as_it_was(consultation, member, name):
    change, message = REFUSED_CHANGES[name]
    first, second = make_proposal(consultation), make_proposal(consultation)
    draft = make_suggestion(consultation, [[first], [second]])
    before = (json.dumps(draft.content), draft.version)
    with pytest.raises(RuleViolation, match=re.escape(message)):
        change(draft, member, [first.id])
    db.session.rollback()
    draft = db.session.get(ClusterSuggestion, draft.id)
    assert (json.dumps(draft.content), draft.version) == before


# Accepting: the only step that creates issues


def test_accepting_a_cluster_creates_its_issue_with_its_proposals_and_is_audited(consultation, member):
    listed = [make_proposal(consultation) for _ in range(3)]
    elsewhere = make_proposal(consultation)
    kept = make_issue(consultation, "Déjà là", proposals=[elsewhere])
    withdrawn = make_proposal(consultation, state="withdrawn")
    draft = make_suggestion(consultation, [[*listed, elsewhere, withdrawn], [make_proposal(consultation)]])
    suggestions.rename_cluster(draft, 1, "Restauration scolaire", version=draft.version, by=member)

    [issue] = suggestions.accept_clusters(draft, [1], version=draft.version, by=member)
    db.session.commit()
    assert issue.title == "Restauration scolaire"
    assert sorted(p.id for p in db.session.scalars(sa.select(Proposal).where(Proposal.issue_id == issue.id))) == sorted(
        p.id for p in listed)
    assert elsewhere.issue_id == kept.id and withdrawn.issue_id is None  # left where it was; not listed
    assert draft.content["clusters"][0]["issue_id"] == issue.id
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [entry.action for entry in entries] == ["issue.create"] + ["issue.assign"] * 3 + ["suggestion.accept"]
    assert entries[-1].subject == f"cluster_suggestions:{draft.id}" and entries[-1].actor_id == member.id
    assert entries[-1].data == {"cluster": 1, "name": "Restauration scolaire", "issue_id": issue.id, "proposals": 3,
                                "left_in_their_issue": 1, "moved": False}

    with pytest.raises(RuleViolation, match="Le groupe « Restauration scolaire » est déjà accepté"):
        suggestions.accept_clusters(draft, [1], version=draft.version, by=member)
    db.session.rollback()
    with pytest.raises(RuleViolation, match="Le groupe « Restauration scolaire » est déjà accepté"):
        suggestions.rename_cluster(draft, 1, "Autre nom", version=draft.version, by=member)


def test_accepting_can_move_proposals_already_in_an_issue_and_several_clusters_at_once(consultation, member):
    first, second, third = (make_proposal(consultation) for _ in range(3))
    old = make_issue(consultation, "Ancien", proposals=[first])
    draft = make_suggestion(consultation, [[first, second], [third]])
    issues = suggestions.accept_clusters(draft, [2, 1], move_assigned=True, version=draft.version, by=member)
    db.session.commit()
    assert [issue.title for issue in issues] == ["Groupe 1", "Groupe 2"]  # in the draft's order
    assert (first.issue_id, second.issue_id, third.issue_id) == (issues[0].id, issues[0].id, issues[1].id)
    assert old.id != first.issue_id


def test_accepting_refuses_an_empty_cluster_and_a_taken_title(consultation, member):
    first, second = make_proposal(consultation), make_proposal(consultation)
    make_issue(consultation, "Groupe 2", proposals=[second])
    draft = make_suggestion(consultation, [[first], [second]])
    with pytest.raises(RuleViolation, match="Le groupe « Groupe 2 » n'a aucune proposition à ranger"):
        suggestions.accept_clusters(draft, [2], version=draft.version, by=member)
    db.session.rollback()
    with pytest.raises(RuleViolation, match=re.escape("Groupe « Groupe 2 » : Un autre grand enjeu porte déjà ce titre. "
                                                      "Renommez le groupe.")):
        suggestions.accept_clusters(draft, [1, 2], move_assigned=True, version=draft.version, by=member)
    db.session.rollback()
    with pytest.raises(RuleViolation, match="Cochez au moins un groupe à accepter."):
        suggestions.accept_clusters(draft, [], version=draft.version, by=member)


@pytest.mark.parametrize("phase, who, message", [
    (PhaseKind.DELIBERATION, "user", "Seuls les membres du comité et l'équipe d'administration travaillent sur les "
                                     "enjeux proposés."),
    (PhaseKind.SUPPORT, "member", "Les enjeux se proposent et se revoient pendant la délibération du comité."),
    (PhaseKind.SELECTION, "admin", "Les enjeux se proposent et se revoient pendant la délibération du comité."),
])
def test_only_committee_members_and_admins_work_on_suggestions_and_only_during_deliberation(phase, who, message):
    consultation = make_consultation(phase)
    by = {"user": make_user(), "member": seat(consultation).user, "admin": make_user(is_admin=True)}[who]
    draft = make_suggestion(consultation, [[make_proposal(consultation)]])
    attempts = [lambda: suggestions.request_suggestion(consultation, n_clusters=None, threshold=0.7, by=by),
                lambda: suggestions.rename_cluster(draft, 1, "Cantines", version=draft.version, by=by),
                lambda: suggestions.drop_proposals(draft, 1, draft.content["clusters"][0]["proposal_ids"],
                                                   version=draft.version, by=by),
                lambda: suggestions.accept_clusters(draft, [1], version=draft.version, by=by)]
    for attempt in attempts:
        with pytest.raises(RuleViolation, match=re.escape(message)):
            attempt()
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


def test_an_admin_works_on_suggestions_during_deliberation(consultation):
    admin = make_user(is_admin=True)
    draft = make_suggestion(consultation, [[make_proposal(consultation)]])
    assert suggestions.accept_clusters(draft, [1], version=draft.version, by=admin)[0].title == "Groupe 1"


@pytest.mark.parametrize("clusters, threshold, field", [(1, 0.7, "clusters"), (51, 0.7, "clusters"),
                                                        (None, 0.49, "threshold"), (None, 1.0, "threshold")])
def test_asking_refuses_a_number_or_threshold_out_of_range(consultation, member, clusters, threshold, field):
    with pytest.raises(RuleViolation) as refusal:
        suggestions.request_suggestion(consultation, n_clusters=clusters, threshold=threshold, by=member)
    assert refusal.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClusterSuggestion)) == 0


# Through HTTP


@pytest.fixture
def signed_in(client, member):
    client.sign_in_as(member)
    return client


def test_a_computation_that_failed_every_attempt_says_so_and_asking_again_computes(signed_in, consultation,
                                                                                   proposals):
    signed_in.post_form(space(), {"clusters": "4", "threshold": "70", "version": ""})
    db.session.execute(sa.update(Job).values(attempts=MAX_ATTEMPTS, last_error="Traceback: MemoryError"))
    run_jobs()  # given up: not tried again
    page = text_of(signed_in.get(space()))
    assert "Le calcul a échoué" in page and "Calcul en cours" not in page
    draft = db.session.scalars(sa.select(ClusterSuggestion)).one()
    signed_in.post_form(space(), {"clusters": "4", "threshold": "70", "version": str(draft.version)})
    assert "Calcul en cours" in text_of(signed_in.get(space()))
    run_jobs()
    page = text_of(signed_in.get(space()))
    assert "Le calcul a échoué" not in page and "13 propositions publiées regroupées." in page


def test_a_member_asks_is_told_it_is_computing_then_reads_the_clusters(signed_in, consultation, proposals):
    page = text_of(signed_in.get(space()))
    assert "Aucune suggestion n'a encore été demandée pour cette consultation." in page
    assert re.search(r'<input[^>]*id="threshold"[^>]*value="70"', page)
    response = signed_in.post_form(space(), {"clusters": "4", "threshold": "70", "version": ""})
    assert response.location == space()
    page = text_of(signed_in.get(space()))
    assert "Suggestion demandée : elle se calcule" in page and "Calcul en cours" in page
    assert f'<a class="fr-link" href="{space()}">Actualiser</a>' in page

    run_jobs()
    page = text_of(signed_in.get(space()))
    draft = db.session.scalars(sa.select(ClusterSuggestion)).one()
    canteen = cluster_of(draft, proposals["cantine-0"])
    assert "<caption>Groupes proposés : cochez ceux à accepter</caption>" in page
    assert re.search(f'<input type="checkbox" id="groupe-{canteen["number"]}" name="numbers" '
                     f'value="{canteen["number"]}">\\s*<label class="fr-label" for="groupe-{canteen["number"]}">'
                     f'{re.escape(canteen["name"])}</label>', page)
    assert ", ".join(canteen["key_terms"]) in page
    central_id, score = canteen["central"][0]
    assert re.search(f'<a href="/propositions/{central_id}">[^<]+</a> \\({round(score * 100)}\\s%\\)', page)
    assert "13 propositions publiées regroupées." in page and "4 grands enjeux demandés." in page
    assert re.search(r"1 paire de propositions se ressemble à 70\s% ou plus\.", page)
    assert "Demander une nouvelle suggestion" in page and f'name="version" value="{draft.version}"' in page


@pytest.mark.parametrize("method, path", [("get", "/groupes/1"), ("get", "/doublons"), ("post", "/accepter"),
                                          ("post", "/groupes/1/nom")])
def test_pages_of_a_draft_not_computed_yet_lead_back_to_the_suggestion_and_say_why(signed_in, consultation, member,
                                                                                  method, path):
    suggestions.request_suggestion(consultation, n_clusters=4, threshold=0.7, by=member)
    db.session.commit()  # asked, not computed: the job has not run
    response = signed_in.get(space(path)) if method == "get" else signed_in.post_form(space(path), {"name": "X"})
    assert response.status_code == 302 and response.location == space()
    assert "La suggestion n'est pas encore calculée." in text_of(signed_in.get(space()))


@pytest.mark.parametrize("form, message", [
    ({"clusters": "1", "threshold": "70"}, "Indiquez un nombre de 2 à 50, ou laissez vide."),
    ({"clusters": "51", "threshold": "70"}, "Indiquez un nombre de 2 à 50, ou laissez vide."),
    ({"clusters": "quatre", "threshold": "70"}, "Nombre de grands enjeux : N'est pas un entier valide."),
    ({"clusters": "", "threshold": ""}, "Indiquez le seuil des doublons probables, par exemple 70."),
    ({"clusters": "", "threshold": "30"}, "Indiquez un seuil de 50 à 99 %."),
    ({"clusters": "", "threshold": "0,7"}, "Seuil des doublons probables, en % : N'est pas un entier valide."),
    ({"clusters": "", "threshold": "70", "version": "abc"}, "Formulaire illisible : rechargez la page et recommencez."),
])
def test_bad_numbers_get_a_french_message_keep_what_was_typed_and_ask_nothing(signed_in, consultation, form, message):
    page = text_of(signed_in.post_form(space(), {"version": "", **form}))
    assert message in page
    if form["clusters"]:
        assert f'value="{form["clusters"]}"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClusterSuggestion)) == 0


def test_outside_deliberation_the_page_says_why_and_offers_no_form(client):
    consultation = make_consultation(PhaseKind.SELECTION, slug=SLUG)
    client.sign_in_as(seat(consultation).user)
    make_suggestion(consultation, [[make_proposal(consultation)]])
    page = text_of(client.get(space()))
    assert "Les enjeux se proposent et se revoient pendant la délibération du comité." in page
    assert "<caption>Groupes proposés</caption>" in page and "Proposer des enjeux" not in page
    assert 'name="numbers"' not in page
    response = client.post_form(space("/groupes/1/nom"), {"name": "Cantines", "version": "1"})
    assert response.location == space()
    assert db.session.scalars(sa.select(ClusterSuggestion)).one().content["clusters"][0]["name"] == "Groupe 1"


@pytest.fixture
def drafted(consultation):
    """A draft of two clusters: three proposals, then one."""
    first = [make_proposal(consultation, title=f"Cantine {number}") for number in range(3)]
    second = make_proposal(consultation, title="Transport à la demande")
    return make_suggestion(consultation, [first, [second]]), first, second


def names(draft) -> list[str]:
    return [cluster["name"] for cluster in db.session.get(ClusterSuggestion, draft.id).content["clusters"]]


def test_a_member_renames_moves_drops_and_merges_through_the_cluster_page(signed_in, drafted):
    draft, canteens, bus = drafted
    page = text_of(signed_in.get(space("/groupes/1")))
    assert "<h1 class=\"fr-mt-5w\">Groupe 1</h1>" in page and "3 propositions" in page
    assert re.search(f'<input type="checkbox" id="proposition-{canteens[0].id}" name="proposal_ids" '
                     f'value="{canteens[0].id}">\\s*<label class="fr-label" for="proposition-{canteens[0].id}">'
                     f'Cantine 0</label>', page)
    assert '<option value="2">Groupe 2</option>' in page

    signed_in.post_form(space("/groupes/1/nom"), {"name": "Restauration scolaire", "version": str(draft.version)})
    assert names(draft) == ["Restauration scolaire", "Groupe 2"]
    assert "Groupe renommé." in text_of(signed_in.get(space("/groupes/1")))

    signed_in.post_form(space("/groupes/1/propositions"), {"proposal_ids": [str(canteens[2].id)], "target": "2",
                                                           "action": "move", "version": str(draft.version)})
    signed_in.post_form(space("/groupes/1/propositions"), {"proposal_ids": [str(canteens[1].id)], "target": "",
                                                           "action": "drop", "version": str(draft.version)})
    content = db.session.get(ClusterSuggestion, draft.id).content
    assert content["clusters"][0]["proposal_ids"] == [canteens[0].id]
    assert content["clusters"][1]["proposal_ids"] == sorted([bus.id, canteens[2].id])
    assert content["dropped"] == [canteens[1].id]
    page = text_of(signed_in.get(space("/groupes/2")))
    assert "ajoutée à ce groupe" in page  # moved in: no similarity to this cluster's centre

    response = signed_in.post_form(space("/groupes/1/fusion"), {"other": "2", "version": str(draft.version)})
    assert response.location == space("/groupes/1")
    assert names(draft) == ["Restauration scolaire"]
    page = text_of(signed_in.get(space("/groupes/2"), follow_redirects=True))
    assert "Ce groupe n'existe plus dans la suggestion : il a été fusionné avec un autre." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0
    assert all(proposal.issue_id is None for proposal in [*canteens, bus])


@pytest.mark.parametrize("path, form, message", [
    ("/groupes/1/nom", {"name": ""}, "Donnez un nom au groupe."),
    ("/groupes/1/propositions", {"action": "move", "target": ""}, "Cochez au moins une proposition."),
    ("/groupes/1/propositions", {"proposal_ids": ["x"], "action": "drop"}, "Sélection illisible"),
    ("/groupes/1/propositions", {"proposal_ids": ["1"], "action": "move", "target": "9"},
     "Choisissez le groupe où déplacer les propositions."),
    ("/groupes/1/propositions", {"proposal_ids": ["1"], "action": "supprimer"}, "Choisissez : déplacer ou retirer."),
    ("/groupes/1/fusion", {"other": "1"}, "Choisissez un autre groupe à fusionner avec celui-ci."),
    ("/groupes/1/fusion", {"other": ""}, "Choisissez le groupe à réunir avec celui-ci."),
    ("/groupes/1/nom", {"name": "Cantines", "version": ""}, "Formulaire illisible"),
])
def test_bad_cluster_forms_get_a_french_message_and_change_nothing(signed_in, drafted, path, form, message):
    draft = drafted[0]
    before = json.dumps(draft.content)
    response = signed_in.post_form(space(path), {"version": str(draft.version), **form})
    assert response.status_code == 200 and message in text_of(response)
    assert json.dumps(db.session.get(ClusterSuggestion, draft.id).content) == before


def test_two_members_at_once_the_later_is_told_and_loses_nothing(client, app, consultation, drafted):
    draft, canteens, bus = drafted
    seen = str(draft.version)
    client.sign_in_as(seat(consultation, make_user(name="Karim Benali")).user)
    colleague = app.test_client()
    colleague.sign_in_as(seat(consultation, make_user(name="Hélène Garnier")).user)

    colleague.post_form(space("/groupes/1/nom"), {"name": "Restauration scolaire", "version": seen})
    response = client.post_form(space("/groupes/1/propositions"), {
        "proposal_ids": [str(canteens[0].id)], "action": "drop", "target": "", "version": seen})
    page = text_of(response)
    assert "Un autre membre du comité a modifié la suggestion pendant que vous la lisiez : rien n'a été changé." in page
    assert re.search(f'value="{canteens[0].id}" checked>', page)  # the ticks kept
    assert "<h1 class=\"fr-mt-5w\">Restauration scolaire</h1>" in page  # the colleague's change shown
    assert names(draft) == ["Restauration scolaire", "Groupe 2"]
    assert db.session.get(ClusterSuggestion, draft.id).content["dropped"] == []

    fresh = re.search(r'name="version" value="(\d+)"', page)
    client.post_form(space("/groupes/1/propositions"), {
        "proposal_ids": [str(canteens[0].id)], "action": "drop", "target": "", "version": fresh.group(1)})
    content = db.session.get(ClusterSuggestion, draft.id).content
    assert content["dropped"] == [canteens[0].id] and content["clusters"][0]["name"] == "Restauration scolaire"


def test_accepting_through_the_pages_one_or_several_at_once_all_or_nothing(signed_in, consultation, drafted):
    draft, canteens, bus = drafted
    make_issue(consultation, "Groupe 2")
    response = signed_in.post_form(space("/accepter"), {"numbers": ["1", "2"], "assigned": "laisser",
                                                        "version": str(draft.version)})
    page = text_of(response)
    assert "Groupe « Groupe 2 » : Un autre grand enjeu porte déjà ce titre. Renommez le groupe." in page
    assert re.search(r'value="1" checked>', page) and re.search(r'value="2" checked>', page)
    assert db.session.scalars(sa.select(Issue.title)).all() == ["Groupe 2"]  # the first one undone too

    response = signed_in.post_form(space("/accepter"), {"single": "1", "numbers": ["2"], "assigned": "laisser",
                                                        "version": str(draft.version)})
    assert response.location == space()
    page = text_of(signed_in.get(space()))
    assert "Grand enjeu créé : « Groupe 1 »." in page
    issue = db.session.scalars(sa.select(Issue).where(Issue.title == "Groupe 1")).one()
    assert f'<a href="/consultations/{SLUG}/comite/enjeux/{issue.id}">Accepté : grand enjeu « Groupe 1 »</a>' in page
    assert all(proposal.issue_id == issue.id for proposal in canteens) and bus.issue_id is None
    cluster_page = text_of(signed_in.get(space("/groupes/1")))
    assert "Groupe accepté : il est devenu le grand enjeu" in cluster_page and 'name="proposal_ids"' not in cluster_page

    page = text_of(signed_in.post_form(space("/accepter"), {"assigned": "laisser", "version": str(draft.version)}))
    assert "Cochez au moins un groupe à accepter." in page


def test_the_duplicates_page_lists_pairs_with_their_score_and_a_merge_link(app, signed_in, consultation, drafted):
    canteens = drafted[1]
    draft = db.session.get(ClusterSuggestion, drafted[0].id)
    content = dict(draft.content, duplicates=[{"proposal_ids": [canteens[0].id, canteens[1].id], "score": 0.9312}],
                   duplicates_total=1)
    draft.content = content
    db.session.commit()
    page = text_of(signed_in.get(space("/doublons")))
    assert re.search(f'<th scope="row"><a href="/propositions/{canteens[0].id}">Cantine 0</a>', page)
    assert re.search(r"<td>93\s%</td>", page)
    link = f"/consultations/{SLUG}/comite/fusions/nouvelle?proposal={canteens[0].id}&proposal={canteens[1].id}"
    with app.test_request_context():
        assert merge_url(SLUG, canteens[0].id, canteens[1].id) == link
    assert f'<a class="fr-btn fr-btn--sm fr-btn--secondary" href="{link}">Fusionner' in page.replace("&amp;", "&")


def test_the_likely_duplicate_filter_lists_the_proposals_of_the_suggestion_s_pairs(signed_in, consultation, member,
                                                                                  proposals):
    draft = computed(consultation, member)
    in_pairs = {id_ for pair in draft.content["duplicates"] for id_ in pair["proposal_ids"]}
    page = text_of(signed_in.get(f"/consultations/{SLUG}/comite/propositions", query_string={"doublon": "probable"}))
    shown = set(map(int, re.findall(r'<input type="checkbox" id="proposition-(\d+)"', page)))
    assert shown == in_pairs == {proposals["cantine-0"].id, proposals["copy"].id}
    assert "Effacer les filtres" in page

    proposals["copy"].hidden_at = proposals["copy"].published_at  # moderated: its twin is no longer a duplicate
    db.session.commit()
    page = text_of(signed_in.get(f"/consultations/{SLUG}/comite/propositions", query_string={"doublon": "probable"}))
    assert "0 proposition" in page
    assert computed(consultation, member).content["duplicates"] == []


def test_the_audit_log_tells_who_asked_and_who_accepted(client, consultation, member):
    draft = make_suggestion(consultation, [[make_proposal(consultation)]])
    suggestions.accept_clusters(draft, [1], version=draft.version, by=member)
    suggestions.request_suggestion(consultation, n_clusters=None, threshold=0.8, by=member)
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    page = text_of(client.get("/admin/journal"))
    link = f'« <a href="{space()}">{consultation.title}</a> »'
    assert f"Karim Benali a demandé la suggestion de grands enjeux de {link}" in page
    assert re.search(r"<li>Grands enjeux : le nombre que le calcul propose</li><li>Seuil des doublons : 80\s%</li>"
                     r"<li>Remplace la suggestion précédente</li>", page)
    assert f"Karim Benali a accepté un groupe de la suggestion de grands enjeux de {link}, devenu un grand enjeu" \
        in page
    assert "<li>Groupe : n° 1 « Groupe 1 »</li><li>Propositions rangées : 1</li>" in page
    assert "suggestion." not in page and "cluster_suggestions:" not in page


def test_the_pages_never_import_scikit_learn(tmp_path):
    """The web process reads stored drafts: rendering every page of a suggestion, and asking for one, leaves
    scikit-learn (a second and 60 MB) unloaded; the job alone imports it."""
    script = f"""
import sys
from alembic import command
from app import create_app
from app.extensions import db
from tests.conftest import Client, alembic_config
from tests.factories import make_consultation, make_proposal, make_suggestion, seat
from app.consultations.models import PhaseKind

app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite:///{tmp_path / 'agora.sqlite'}")
with app.app_context():
    with db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    consultation = make_consultation(PhaseKind.DELIBERATION, slug="{SLUG}")
    first, second = make_proposal(consultation), make_proposal(consultation)
    draft = make_suggestion(consultation, [[first], [second]], duplicates=[(first, second, 0.9)])
    app.test_client_class = Client
    client = app.test_client()
    client.sign_in_as(seat(consultation).user)
    base = "/consultations/{SLUG}/comite"
    statuses = [client.get(base + path).status_code for path in
                ("/suggestion", "/suggestion/groupes/1", "/suggestion/doublons", "/propositions?doublon=probable")]
    statuses.append(client.post_form(base + "/suggestion/groupes/1/nom",
                                     {{"name": "Cantines", "version": str(draft.version)}}).status_code)
    statuses.append(client.post_form(base + "/suggestion",
                                     {{"threshold": "70", "version": str(draft.version + 1)}}).status_code)
print(statuses, sorted(name for name in sys.modules if name.startswith(("sklearn", "app.committee.clustering"))))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "test"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[200, 200, 200, 200, 302, 302] []"


def test_two_members_changing_the_draft_at_the_same_moment_one_is_refused_nothing_is_lost(live_app, monkeypatch):
    """Real transactions on two connections: the draft's row lock makes the second change wait for the
    first and then see that the draft moved on. Each change, once its version is checked, waits up to a
    second for the other to be checked too: without the lock both are, and the second overwrites the first."""
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.DELIBERATION)
        members = [seat(consultation).user for _ in range(2)]
        first, second = make_proposal(consultation), make_proposal(consultation)
        draft = make_suggestion(consultation, [[first, second]])
        seen, draft_id, first_id = draft.version, draft.id, first.id
    checked = threading.Barrier(2, timeout=1)
    check_version = suggestions._check_version

    def check_then_wait(draft, version):
        check_version(draft, version)
        try:
            checked.wait()
        except threading.BrokenBarrierError:  # the other change waits for the lock: as it should
            pass

    monkeypatch.setattr(suggestions, "_check_version", check_then_wait)
    changes = [lambda draft, by: suggestions.rename_cluster(draft, 1, "Restauration", version=seen, by=by),
               lambda draft, by: suggestions.drop_proposals(draft, 1, [first_id], version=seen, by=by)]
    start, outcomes = threading.Barrier(2), []

    def work(number: int) -> None:
        with live_app.app_context():
            by, loaded = db.session.get(User, members[number].id), db.session.get(ClusterSuggestion, draft_id)
            loaded.consultation.committee_seats, loaded.consultation.phases  # noqa: B018 (loaded before the race)
            db.session.commit()
            start.wait()
            try:
                changes[number](loaded, by)
                db.session.commit()
                outcomes.append("done")
            except RuleViolation as refusal:
                db.session.rollback()
                outcomes.append(str(refusal))

    threads = [threading.Thread(target=work, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("done") == 1, outcomes
    assert any(outcome.startswith("Un autre membre du comité a modifié") for outcome in outcomes)
    with live_app.app_context():
        content = db.session.get(ClusterSuggestion, draft_id).content
        assert (content["clusters"][0]["name"] == "Restauration") != (content["dropped"] == [first_id])
