"""The committee's decisions and answers and their publication: laureates within the envelope, reasons, answer
templates in bulk, what still lacks an answer, nothing public before the chair publishes (pages, lists, filters,
API), the publication all at once with the password, its digest, its mails, and all or nothing; then the same
through the pages."""

import hashlib
import json

import pytest
import sqlalchemy as sa

from app.committee import decisions
from app.committee.models import AnswerTemplate
from app.consultations.models import PhaseKind
from app.core import clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations.models import MembershipStatus
from app.proposals.models import AnswerState, Proposal, ProposalCosponsor
from tests.factories import (PASSWORD, make_consultation, make_member, make_organization, make_proposal,
                             make_support, make_user, seat)
from tests.helpers import text_of

ENVELOPE = 100_000_00  # 100 000 €


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.SELECTION, slug="besoins-2027", budget_envelope_cents=ENVELOPE)


@pytest.fixture
def member(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user


@pytest.fixture
def chair(consultation):
    return seat(consultation, make_user(name="Claire Dumas"), is_chair=True).user


def service(consultation, requested: int | None = 60_000_00, **fields) -> Proposal:
    return make_proposal(consultation, kind="service", requested_budget_cents=requested, **fields)


def plain(text: str) -> str:
    """Amounts are written with narrow no-break spaces ("60 000 €"): compared here with plain ones."""
    return text.replace("\u202f", " ")


def read(response) -> str:
    return plain(text_of(response))


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def answer_all(consultation, by, *proposals) -> None:
    for proposal in proposals:
        if proposal.answer_state == AnswerState.NOT_ANSWERED:
            decisions.decide(proposal, state=AnswerState.NOT_RETAINED, by=by)
        decisions.write_answer(proposal, f"Réponse à « {proposal.title} ».", by=by)
    db.session.commit()


# Decisions and the envelope

def test_a_laureate_gets_an_amount_within_the_envelope_and_the_decision_is_audited(consultation, member):
    first, second = service(consultation), service(consultation)
    decisions.decide(first, state=AnswerState.LAUREATE, granted_amount_cents=60_000_00, reason="Très utile.",
                     by=member)
    assert (first.answer_state, first.granted_amount_cents, first.decision_reason) == (
        AnswerState.LAUREATE, 60_000_00, "Très utile.")
    assert first.decided_by_id == member.id and first.decided_at is not None
    [entry] = entries("decision.decide")
    assert entry.data["state"] == "laureate" and entry.data["granted_amount_cents"] == 60_000_00
    assert entry.data["reason"] == "Très utile."
    db.session.commit()  # as the page does; a refusal then rolls back to here

    with pytest.raises(RuleViolation) as refusal:  # 60 000 + 50 000 > 100 000
        decisions.decide(second, state=AnswerState.LAUREATE, granted_amount_cents=50_000_00, reason="Utile.",
                         by=member)
    assert plain(str(refusal.value)) == ("Ce montant dépasserait l'enveloppe : 60 000 € sont déjà accordés sur "
                                         "100 000 €, il reste 40 000 €.")
    db.session.rollback()
    decisions.decide(second, state=AnswerState.LAUREATE, granted_amount_cents=40_000_00, reason="Utile.", by=member)
    assert decisions.envelope_of(consultation).left_cents == 0
    # The same laureate's amount changes within the envelope: its own amount is not counted twice.
    decisions.decide(second, state=AnswerState.LAUREATE, granted_amount_cents=30_000_00, reason="Utile.", by=member)
    assert decisions.envelope_of(consultation).granted_cents == 90_000_00


def test_an_amount_above_the_requested_budget_needs_a_written_reason(consultation, member):
    proposal = service(consultation, requested=20_000_00)
    with pytest.raises(RuleViolation) as refusal:
        decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=25_000_00, by=member)
    assert refusal.value.field == "reason"
    assert plain(str(refusal.value)) == ("Le montant accordé dépasse le budget demandé (20 000 €) : écrivez "
                                         "pourquoi dans le motif.")
    with pytest.raises(RuleViolation, match="Écrivez le motif de la décision."):
        decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=20_000_00, by=member)
    with pytest.raises(RuleViolation, match="Indiquez le montant accordé"):
        decisions.decide(proposal, state=AnswerState.LAUREATE, reason="Utile.", by=member)
    decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=25_000_00,
                     reason="Le déploiement national coûte davantage.", by=member)
    assert proposal.granted_amount_cents == 25_000_00


def test_only_a_laureate_keeps_an_amount(consultation, member):
    proposal = service(consultation)
    decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=10_000_00, reason="Oui.", by=member)
    decisions.decide(proposal, state=AnswerState.NOT_RETAINED, granted_amount_cents=10_000_00, by=member)
    assert (proposal.answer_state, proposal.granted_amount_cents) == (AnswerState.NOT_RETAINED, None)
    assert decisions.envelope_of(consultation).granted_cents == 0


def test_who_and_when_decide(consultation, member):
    proposal = service(consultation)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité"):
        decisions.decide(proposal, state=AnswerState.NOT_RETAINED, by=make_user())
    decisions.decide(proposal, state=AnswerState.EVALUATING, by=make_user(is_admin=True))
    deliberating = make_consultation(PhaseKind.DELIBERATION, budget_envelope_cents=ENVELOPE)
    early = service(deliberating)
    with pytest.raises(RuleViolation, match="pendant la sélection des lauréats"):
        decisions.decide(early, state=AnswerState.NOT_RETAINED, by=seat(deliberating).user)
    with pytest.raises(RuleViolation, match="Choisissez l'état"):
        decisions.decide(proposal, state=AnswerState.NOT_ANSWERED, by=member)


def test_merged_hidden_or_foreign_proposals_get_no_decision(consultation, member):
    other = make_consultation(PhaseKind.SELECTION)
    merged = service(consultation)
    original = service(consultation, merged_into_id=merged.id)
    hidden = service(consultation, hidden_at=clock.now())
    for proposal in (original, hidden):
        with pytest.raises(RuleViolation, match="Seules les propositions publiées de cette consultation"):
            decisions.decide(proposal, state=AnswerState.NOT_RETAINED, by=member)
    with pytest.raises(RuleViolation, match="Seuls les membres du comité"):
        decisions.decide(service(other), state=AnswerState.NOT_RETAINED, by=member)


# Answers and templates

def test_templates_are_filled_for_each_proposal_in_its_state_then_edited_one_by_one(consultation, member):
    laureate = service(consultation, title="Un guichet unique des démarches")
    refused = service(consultation, title="Une application de covoiturage")
    decisions.decide(laureate, state=AnswerState.LAUREATE, granted_amount_cents=45_000_00, reason="Oui.", by=member)
    decisions.decide(refused, state=AnswerState.NOT_RETAINED, by=member)
    with pytest.raises(RuleViolation, match="Champ inconnu dans le modèle : {montan}"):
        decisions.save_template(consultation, AnswerState.LAUREATE, "Bravo, {montan} !", by=member)
    decisions.save_template(consultation, AnswerState.LAUREATE,
                            "« {titre} », portée par {organisation}, reçoit {montant} (demandé : {montant_demande}).",
                            by=member)
    db.session.commit()
    with pytest.raises(RuleViolation, match="Il n'y a pas de modèle pour l'état « Non retenue »"):
        decisions.apply_templates(consultation, [laureate.id, refused.id], by=member)
    db.session.rollback()
    decisions.save_template(consultation, AnswerState.NOT_RETAINED, "« {titre} » n'est pas retenue.", by=member)
    decisions.apply_templates(consultation, [laureate.id, refused.id], by=member)
    assert plain(laureate.answer_text) == (
        f"« Un guichet unique des démarches », portée par {laureate.organization.name}, reçoit 45 000 € (demandé : "
        "60 000 €).")
    assert refused.answer_text == "« Une application de covoiturage » n'est pas retenue."
    decisions.write_answer(refused, "Proche d'un service existant : voyez le guichet unique.", by=member)
    assert refused.answer_text == "Proche d'un service existant : voyez le guichet unique."
    assert [entry.data["state"] for entry in entries("decision.template")] == ["laureate", "not_retained"]
    assert entries("decision.apply_templates")[0].data["proposals"] == [laureate.id, refused.id]
    assert entries("decision.answer")[0].data["text"].startswith("Proche d'un service")


def test_a_template_is_not_applied_to_a_proposal_without_decision(consultation, member):
    proposal = service(consultation, title="Sans décision")
    decisions.save_template(consultation, AnswerState.NOT_RETAINED, "Non.", by=member)
    with pytest.raises(RuleViolation, match="« Sans décision » n'a pas encore d'état de réponse"):
        decisions.apply_templates(consultation, [proposal.id], by=member)


def test_the_committee_sees_which_proposals_lack_an_answer(consultation, member):
    done, undecided, untexted = service(consultation), service(consultation), service(consultation)
    answer_all(consultation, member, done)
    decisions.decide(untexted, state=AnswerState.NOT_RETAINED, by=member)
    missing = decisions.proposals_to_answer(consultation, missing_only=True)
    assert {proposal.id for proposal in missing} == {undecided.id, untexted.id}
    assert decisions.readiness(consultation).refusal == (
        "2 propositions n'ont pas encore de réponse (un état et un texte) : la publication attend une réponse pour "
        "chacune.")


# Nothing public before publication

def drafted(consultation, member) -> Proposal:
    proposal = service(consultation, title="Un guichet unique des démarches")
    decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=42_000_00, reason="Oui.", by=member)
    decisions.write_answer(proposal, "Félicitations, projet retenu en brouillon.", by=member)
    db.session.commit()
    return proposal


def test_a_drafted_answer_does_not_leak_before_publication(client, consultation, member):
    proposal = drafted(consultation, member)
    page = read(client.get(f"/propositions/{proposal.id}"))
    assert "Félicitations" not in page and "Lauréate" not in page and "42 000" not in page
    listing = client.get(f"/consultations/{consultation.slug}/propositions")
    assert listing.status_code == 200 and "Lauréate" not in read(listing)
    assert 'name="answer_state"' not in read(listing)  # the filter is not offered
    filtered = read(client.get(f"/consultations/{consultation.slug}/propositions?answer_state=not_retained"))
    assert proposal.title in filtered  # the filter is ignored: it would tell who is not a laureate
    api = client.get(f"/api/v1/proposals/{proposal.id}").get_json()
    assert (api["answer_state"], api["answer_text"], api["granted_amount_cents"]) == ("not_answered", None, None)
    listed = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?answer_state=not_retained").get_json()
    assert "Félicitations" not in json.dumps(listed, ensure_ascii=False)
    assert "laureate" not in json.dumps(listed)


def test_a_published_answer_shows_everywhere(client, consultation, member, chair):
    proposal = drafted(consultation, member)
    decisions.publish_results(consultation, by=chair, password=PASSWORD)
    db.session.commit()
    page = read(client.get(f"/propositions/{proposal.id}"))
    assert "Félicitations, projet retenu en brouillon." in page and "Lauréate" in page and "42 000 €" in page
    listing = read(client.get(f"/consultations/{consultation.slug}/propositions?answer_state=not_retained"))
    assert proposal.title not in listing and 'name="answer_state"' in listing
    api = client.get(f"/api/v1/proposals/{proposal.id}").get_json()
    assert (api["answer_state"], api["granted_amount_cents"]) == ("laureate", 42_000_00)


# Publication

def test_only_the_chair_publishes_with_their_password(consultation, member, chair):
    proposal = service(consultation)
    answer_all(consultation, member, proposal)
    with pytest.raises(RuleViolation, match="Seul le président ou la présidente du comité publie"):
        decisions.publish_results(consultation, by=member, password=PASSWORD)
    with pytest.raises(RuleViolation, match="Seul le président"):
        decisions.publish_results(consultation, by=make_user(is_admin=True), password=PASSWORD)
    with pytest.raises(RuleViolation, match="Ce n'est pas votre mot de passe actuel."):
        decisions.publish_results(consultation, by=chair, password="pas le bon")
    assert consultation.results_published_at is None
    decisions.publish_results(consultation, by=chair, password=PASSWORD)
    with pytest.raises(RuleViolation, match="Les réponses sont déjà publiées."):
        decisions.publish_results(consultation, by=chair, password=PASSWORD)
    with pytest.raises(RuleViolation, match="Les réponses sont publiées : les décisions et les réponses ne changent"):
        decisions.write_answer(proposal, "Autre chose.", by=member)


def test_publication_waits_for_every_answer_and_every_laureate_amount(consultation, member, chair):
    answered, waiting = service(consultation), service(consultation)
    answer_all(consultation, member, answered)
    with pytest.raises(RuleViolation, match="^1 proposition n'a pas encore de réponse"):
        decisions.publish_results(consultation, by=chair, password=PASSWORD)
    answer_all(consultation, member, waiting)
    waiting.answer_state = AnswerState.LAUREATE  # as an import or an older version could leave it
    db.session.commit()
    with pytest.raises(RuleViolation, match="^1 lauréate n'a pas de montant accordé."):
        decisions.publish_results(consultation, by=chair, password=PASSWORD)
    assert consultation.results_published_at is None


def test_publication_stores_and_audits_the_digest_of_what_was_published(consultation, member, chair):
    laureate, other = service(consultation), service(consultation)
    decisions.decide(laureate, state=AnswerState.LAUREATE, granted_amount_cents=50_000_00, reason="Oui.", by=member)
    answer_all(consultation, member, laureate, other)
    now = clock.now()
    digest = decisions.publish_results(consultation, by=chair, password=PASSWORD, now=now)
    db.session.commit()
    expected = json.dumps({"answers": [
        {"granted_amount_cents": 50_000_00, "id": laureate.id, "state": "laureate", "text": laureate.answer_text},
        {"granted_amount_cents": None, "id": other.id, "state": "not_retained", "text": other.answer_text}],
        "consultation": "besoins-2027", "envelope_cents": ENVELOPE}, ensure_ascii=False, separators=(",", ":"))
    assert decisions.canonical_results(consultation) == expected.encode()
    assert digest == hashlib.sha256(expected.encode()).hexdigest() == consultation.results_digest
    assert decisions.published_digest(consultation) == digest
    [entry] = entries("results.publish")
    assert entry.data == {"digest": digest, "answers": 2, "laureates": 1, "granted_cents": 50_000_00}
    assert consultation.results_published_at == now
    assert {proposal.answered_at for proposal in (laureate, other)} == {now}
    other.answer_text = "Changé en douce."  # a change after publication shows: the digest no longer holds
    db.session.commit()
    assert decisions.published_digest(consultation) != consultation.results_digest


def test_publication_tells_carriers_their_answer_and_supporters_the_outcome_in_their_language(
        consultation, member, chair):
    carrier, cosponsor, supporter = (make_organization("Saint-Flour"), make_organization("Mauriac"),
                                     make_organization("Aurillac"))
    carrier_member = make_member(make_user("agent@saint-flour.fr", locale="en"), carrier)
    make_member(make_user("pending@saint-flour.fr"), carrier, status=MembershipStatus.PENDING)
    make_member(make_user("maire@mauriac.fr"), cosponsor)
    make_member(make_user("elu@aurillac.fr"), supporter, role="elected")
    laureate = service(consultation, organization=carrier, title="Un guichet unique")
    db.session.add(ProposalCosponsor(proposal=laureate, organization=cosponsor, added_by_id=carrier_member.user_id))
    merged = service(consultation, title="Cantines réunies")
    original = service(consultation, merged_into_id=merged.id)
    make_support(laureate, supporter)
    make_support(original, supporter)  # supporting an original is supporting what it was merged into
    decisions.decide(laureate, state=AnswerState.LAUREATE, granted_amount_cents=50_000_00, reason="Oui.", by=member)
    answer_all(consultation, member, laureate, merged)
    decisions.publish_results(consultation, by=chair, password=PASSWORD)
    mails = {message.recipient: plain(message.body) for message in db.session.scalars(sa.select(OutboxMessage))}
    assert set(mails) == {"agent@saint-flour.fr", "maire@mauriac.fr", "elu@aurillac.fr"}
    english = mails["agent@saint-flour.fr"]
    assert "« Un guichet unique » : Laureate" in english and "Réponse à « Un guichet unique »." in english
    assert f"/propositions/{laureate.id}" in english
    assert "« Un guichet unique » : Lauréate (montant accordé : 50 000 €)" in mails["maire@mauriac.fr"]
    outcome = mails["elu@aurillac.fr"]
    assert "« Un guichet unique » : Lauréate" in outcome and "« Cantines réunies » : Non retenue" in outcome
    assert "Réponse à" not in outcome  # supporters learn the outcome; the answer is on the proposal's page


def test_a_failure_during_publication_leaves_nothing_published_and_no_mail(consultation, member, chair):
    organization = make_organization("Saint-Flour")
    make_member(make_user("agent@saint-flour.fr"), organization)
    make_member(make_user("broken@saint-flour.fr", locale="zz"), organization)  # no such language: mail fails
    proposal = service(consultation, organization=organization)
    answer_all(consultation, member, proposal)
    with pytest.raises(Exception, match="unknown locale 'zz'"):
        decisions.publish_results(consultation, by=chair, password=PASSWORD)
    db.session.rollback()
    assert db.session.get(type(consultation), consultation.id).results_published_at is None
    assert consultation.results_digest is None and proposal.answered_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert entries("results.publish") == []


# Through the pages

def test_a_member_decides_and_answers_on_the_proposal_page(client, consultation, member):
    proposal = service(consultation, requested=20_000_00)
    client.sign_in_as(member)
    url = f"/consultations/{consultation.slug}/comite/decisions/{proposal.id}"
    refused = client.post_form(url, {"state": "laureate", "granted_amount": "25 000", "reason": "",
                                     "answer_text": "Bravo."})
    assert refused.status_code == 200
    page = read(refused)
    assert "Le montant accordé dépasse le budget demandé (20 000 €) : écrivez pourquoi dans le motif." in page
    assert "Bravo." in page and 'value="25 000"' in page  # nothing typed is lost
    assert db.session.get(Proposal, proposal.id).answer_state == AnswerState.NOT_ANSWERED
    done = client.post_form(url, {"state": "laureate", "granted_amount": "25 000", "reason": "Déploiement national.",
                                  "answer_text": "Bravo."}, follow_redirects=True)
    assert "Décision et réponse enregistrées." in read(done)
    proposal = db.session.get(Proposal, proposal.id)
    assert (proposal.answer_state, proposal.granted_amount_cents, proposal.answer_text) == (
        AnswerState.LAUREATE, 25_000_00, "Bravo.")
    assert "Accordé aux lauréates" in read(done) and "75 000 €" in read(done)  # what is left
    assert "Karim Benali, le " in read(client.get(url))  # who decided last, and when
    unreadable = read(client.post_form(url, {"state": "laureate", "granted_amount": "beaucoup"}))
    assert "Indiquez un montant en euros positif ou nul" in unreadable


def test_templates_page_documents_placeholders_and_applies_in_bulk(client, consultation, member):
    first, second, undecided = service(consultation), service(consultation), service(consultation, title="Attente")
    for proposal in (first, second):
        decisions.decide(proposal, state=AnswerState.NOT_RETAINED, by=member)
    db.session.commit()
    client.sign_in_as(member)
    base = f"/consultations/{consultation.slug}/comite/decisions"
    page = read(client.get(f"{base}/modeles"))
    assert "{titre}" in page and "le titre de la proposition" in page
    saved = client.post_form(f"{base}/modeles", {"evaluating": "", "laureate": "", "not_retained": "{titre} : non."},
                             follow_redirects=True)
    assert "Modèles de réponse enregistrés." in read(saved)
    assert db.session.scalar(sa.select(AnswerTemplate.body)) == "{titre} : non."
    refused = client.post_form(f"{base}/appliquer", {"proposal_ids": [str(first.id), str(undecided.id)]})
    assert "« Attente » n'a pas encore d'état de réponse" in read(refused)
    assert 'checked' in read(refused)  # the ticks are kept
    unreadable = client.post_form(f"{base}/appliquer", {"proposal_ids": ["1; DROP"]})
    assert "Sélection illisible" in read(unreadable)
    done = client.post_form(f"{base}/appliquer", {"proposal_ids": [str(first.id), str(second.id)]},
                            follow_redirects=True)
    assert "Modèles appliqués à 2 propositions : relisez chaque réponse." in read(done)
    assert db.session.get(Proposal, first.id).answer_text == f"{first.title} : non."
    missing = read(client.get(f"{base}?manque=1"))
    assert "Attente" in missing and first.title not in missing
    assert "1 proposition n'a pas encore de réponse." in missing


def test_the_chair_publishes_through_the_page_after_typing_the_password_again(client, consultation, member, chair):
    proposal = service(consultation)
    answer_all(consultation, member, proposal)
    url = f"/consultations/{consultation.slug}/comite/decisions/publier"
    client.sign_in_as(member)
    assert "Seul le président ou la présidente du comité publie les réponses." in read(client.get(url))
    client.post_form(url, {"current_password": PASSWORD})
    assert db.session.get(type(consultation), consultation.id).results_published_at is None
    client.sign_in_as(chair)
    wrong = client.post_form(url, {"current_password": "pas le bon"})
    assert wrong.status_code == 200 and "Ce n'est pas votre mot de passe actuel." in read(wrong)
    done = client.post_form(url, {"current_password": PASSWORD}, follow_redirects=True)
    assert "Réponses publiées : les organisations en sont informées par courriel." in read(done)
    consultation = db.session.get(type(consultation), consultation.id)
    assert consultation.results_published_at is not None
    assert consultation.results_digest in read(done)
    assert "Les réponses sont déjà publiées." in read(client.get(url))


def test_the_publication_page_says_how_many_answers_are_missing(client, consultation, chair):
    service(consultation), service(consultation)
    client.sign_in_as(chair)
    page = read(client.get(f"/consultations/{consultation.slug}/comite/decisions/publier"))
    assert "2 propositions n'ont pas encore de réponse" in page and "Publier toutes les réponses" not in page


def test_typing_the_password_again_is_rate_limited_like_sign_in(client, consultation, member, chair):
    answer_all(consultation, member, service(consultation))
    client.sign_in_as(chair)
    url = f"/consultations/{consultation.slug}/comite/decisions/publier"
    statuses = [client.post_form(url, {"current_password": "pas le bon"}).status_code for _attempt in range(11)]
    assert statuses == [200] * 10 + [429]
    assert db.session.get(type(consultation), consultation.id).results_published_at is None


def test_decisions_answers_templates_and_publication_read_as_sentences_in_the_log(client, consultation, member,
                                                                                   chair):
    proposal = service(consultation, title="Cantine en ligne", requested=20_000_00)
    decisions.decide(proposal, state=AnswerState.LAUREATE, granted_amount_cents=25_000_00,
                     reason="Déploiement national.", by=member)
    decisions.save_template(consultation, AnswerState.LAUREATE, "Bravo pour {titre}.", by=member)
    decisions.apply_templates(consultation, [proposal.id], by=member)
    decisions.write_answer(proposal, "Bravo, vraiment.", by=member)
    digest = decisions.publish_results(consultation, by=chair, password=PASSWORD)
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    page = read(client.get("/admin/journal"))
    link = f'« <a href="/propositions/{proposal.id}">Cantine en ligne</a> »'
    assert f"Karim Benali a pris une décision sur la proposition {link}" in page
    assert ("<li>Décision : Lauréate</li><li>Montant accordé : 25 000 €</li><li>Budget demandé : 20 000 €</li>"
            "<li>Motif : Déploiement national.</li>") in page
    assert "Karim Benali a modifié un modèle de réponse de la consultation" in page
    assert "<li>Modèle : Lauréate</li><li>Texte : « (vide) » → « Bravo pour {titre}. »</li>" in page
    assert "Karim Benali a appliqué les modèles de réponse à des propositions de la consultation" in page
    assert f"Karim Benali a écrit la réponse du comité à la proposition {link}" in page
    assert "<li>Texte : « Bravo pour Cantine en ligne. » → « Bravo, vraiment. »</li>" in page
    assert "Claire Dumas a publié les réponses du comité de la consultation" in page
    assert f"<li>Empreinte SHA-256 de ce qui a été publié : {digest}</li>" in page
