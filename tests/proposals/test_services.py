"""Proposal rules at the service level: phases, membership, ownership, co-sponsors, links, versions,
sanitized Markdown, input limits, similar proposals, comments, reports and moderation.

Time is injected with `now=`: each test places itself in a phase of a consultation whose collect
phase is under way today.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from app.consultations.models import PhaseKind
from app.core import audit
from app.core.errors import RuleViolation
from app.core.jobs import Job
from app.core.markdown import ALLOWED_TAGS
from app.extensions import db
from app.organizations.models import MembershipStatus
from app.proposals import moderation, services, vectors
from app.proposals.models import (Comment, NeedServiceLink, Proposal, ProposalCosponsor, ProposalVector, Report,
                                  ProposalState)
from tests.factories import (CANTEEN, CYBER, NEW_CANTEEN_DRAFT, TRANSPORT, make_consultation, make_member,
                             make_organization, make_user, proposal_input, submit_proposal)
from tests.helpers import run_jobs

SECOND = timedelta(seconds=1)


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.COLLECT)


@pytest.fixture
def member():
    return make_member(role="agent")


def phase(consultation, kind):
    return consultation.phase(kind)


def during(consultation, kind):
    """A moment in the middle of the phase `kind`."""
    window = phase(consultation, kind)
    return window.starts_at + (window.ends_at - window.starts_at) / 2


def count(model) -> int:
    db.session.flush()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def pending_jobs() -> list[dict]:
    return db.session.scalars(sa.select(Job.payload).where(Job.done_at.is_(None)).order_by(Job.id)).all()


def refused(message: str):
    return pytest.raises(RuleViolation, match=message)


# --- Phases ---------------------------------------------------------------------------------------

def test_a_draft_can_be_written_before_the_collect_phase_but_published_only_during_it(consultation, member):
    before = phase(consultation, PhaseKind.COLLECT).starts_at - timedelta(days=3)
    draft = services.create_draft(consultation, member.organization, proposal_input(consultation),
                                  by=member.user, now=before)
    assert draft.state == ProposalState.DRAFT and draft.published_at is None

    with refused("La publication n'est possible que pendant la phase de dépôt des contributions."):
        services.publish_proposal(draft, by=member.user, now=before)
    assert draft.state == ProposalState.DRAFT

    opening = phase(consultation, PhaseKind.COLLECT).starts_at
    services.publish_proposal(draft, by=member.user, now=opening)
    assert draft.state == ProposalState.PUBLISHED and draft.published_at == opening


def test_nothing_is_drafted_or_published_once_the_collect_phase_is_over(consultation, member):
    closing = phase(consultation, PhaseKind.COLLECT).ends_at
    draft = services.create_draft(consultation, member.organization, proposal_input(consultation),
                                  by=member.user, now=closing - SECOND)
    with refused("Le dépôt des contributions est terminé."):
        services.create_draft(consultation, member.organization, proposal_input(consultation), by=member.user,
                              now=closing)
    with refused("La publication n'est possible que pendant la phase de dépôt des contributions."):
        services.publish_proposal(draft, by=member.user, now=closing)
    assert count(Proposal) == 1 and draft.state == ProposalState.DRAFT


def test_a_proposal_is_editable_until_the_collect_phase_ends(consultation, member):
    proposal = submit_proposal(consultation, member, title="Portail de la cantine scolaire")
    closing = phase(consultation, PhaseKind.COLLECT).ends_at
    services.update_proposal(proposal, proposal_input(consultation, title="Portail de la restauration scolaire"),
                             by=member.user, now=closing - SECOND)
    with refused("Les propositions ne sont plus modifiables après la phase de dépôt."):
        services.update_proposal(proposal, proposal_input(consultation, title="Un titre trop tardif"),
                                 by=member.user, now=closing)
    assert proposal.title == "Portail de la restauration scolaire" and len(proposal.versions) == 2


@pytest.mark.parametrize("kind", [PhaseKind.COLLECT, PhaseKind.SUPPORT, PhaseKind.DELIBERATION,
                                  PhaseKind.SELECTION])
def test_a_published_proposal_can_be_withdrawn_with_a_reason_in_any_phase_before_results(consultation, member,
                                                                                          kind):
    proposal = submit_proposal(consultation, member)
    moment = during(consultation, kind)
    services.withdraw_proposal(proposal, "  Le besoin est couvert par le département.  ", by=member.user,
                               now=moment)
    assert proposal.state == ProposalState.WITHDRAWN and proposal.withdrawn_at == moment
    assert proposal.withdrawal_reason == "Le besoin est couvert par le département."


def test_withdrawal_is_refused_once_results_are_out_or_without_a_reason(consultation, member):
    proposal = submit_proposal(consultation, member)
    with refused("Expliquez pourquoi la proposition est retirée."):
        services.withdraw_proposal(proposal, "   ", by=member.user)
    results = phase(consultation, PhaseKind.RESULTS).starts_at
    with refused("Les résultats sont publiés : la proposition ne peut plus être retirée."):
        services.withdraw_proposal(proposal, "Trop tard.", by=member.user, now=results)
    assert proposal.state == ProposalState.PUBLISHED and proposal.withdrawal_reason is None


def test_a_draft_or_a_withdrawn_proposal_cannot_be_withdrawn_and_a_withdrawn_one_stays_frozen(consultation, member):
    draft = submit_proposal(consultation, member, publish=False)
    with refused("Seule une proposition publiée peut être retirée."):
        services.withdraw_proposal(draft, "Abandon.", by=member.user)
    proposal = submit_proposal(consultation, member)
    services.withdraw_proposal(proposal, "Doublon d'une autre proposition.", by=member.user)
    with refused("Cette proposition a été retirée."):
        services.update_proposal(proposal, proposal_input(consultation), by=member.user)
    with refused("Seul un brouillon peut être publié."):
        services.publish_proposal(proposal, by=member.user)
    assert proposal.state == ProposalState.WITHDRAWN


# --- Membership and verification -----------------------------------------------------------------

def pending_member():
    return make_member(status=MembershipStatus.PENDING)


def refused_member():
    return make_member(status=MembershipStatus.REFUSED)


def member_of_unverified_organization():
    return make_member(organization=make_organization(is_verified=False))


@pytest.mark.parametrize("make_author", [pending_member, refused_member, member_of_unverified_organization])
def test_only_verified_members_of_verified_organizations_submit(consultation, make_author):
    membership = make_author()
    with refused("Seuls les membres vérifiés d'une organisation vérifiée déposent des propositions en son nom."):
        services.create_draft(consultation, membership.organization, proposal_input(consultation),
                              by=membership.user)
    assert count(Proposal) == 0


def test_nobody_submits_for_an_organization_they_do_not_belong_to(consultation, member):
    stranger_organization = make_organization("Aurillac")
    for user in (member.user, make_user(), AnonymousUserMixin()):
        with pytest.raises(RuleViolation):
            services.create_draft(consultation, stranger_organization, proposal_input(consultation), by=user)
    assert count(Proposal) == 0


def test_a_member_whose_membership_was_revoked_can_no_longer_edit(consultation, member):
    proposal = submit_proposal(consultation, member)
    member.status = MembershipStatus.REFUSED
    with refused("Seuls les membres de l'organisation qui l'a déposée modifient une proposition."):
        services.update_proposal(proposal, proposal_input(consultation, title="Titre changé après départ"),
                                 by=member.user)
    assert proposal.title != "Titre changé après départ"


# --- Ownership ------------------------------------------------------------------------------------

def test_another_organization_cannot_edit_publish_or_withdraw(consultation, member):
    draft = submit_proposal(consultation, member, publish=False, title="Brouillon de Saint-Flour")
    published = submit_proposal(consultation, member, title="Proposition de Saint-Flour")
    other = make_member(role="elected").user
    with refused("Seuls les membres de l'organisation qui l'a déposée modifient une proposition."):
        services.update_proposal(published, proposal_input(consultation, title="Réécrite par une autre"), by=other)
    with refused("Seuls les membres de l'organisation qui l'a déposée publient une proposition."):
        services.publish_proposal(draft, by=other)
    with refused("Seuls les membres de l'organisation qui l'a déposée retirent une proposition."):
        services.withdraw_proposal(published, "Je n'en veux pas.", by=other)
    assert (draft.state, published.state) == (ProposalState.DRAFT, ProposalState.PUBLISHED)
    assert published.title == "Proposition de Saint-Flour" and len(published.versions) == 1


def test_any_verified_member_of_the_author_organization_edits_publishes_and_withdraws(consultation, member):
    colleague = make_member(organization=member.organization, role="elected").user
    proposal = submit_proposal(consultation, member, publish=False)
    services.update_proposal(proposal, proposal_input(consultation, title="Relu par le maire"), by=colleague)
    services.publish_proposal(proposal, by=colleague)
    services.withdraw_proposal(proposal, "Projet abandonné en conseil municipal.", by=colleague)
    assert proposal.state == ProposalState.WITHDRAWN and proposal.versions[-1].author == colleague


# --- Co-sponsors ----------------------------------------------------------------------------------

def test_another_organization_cosponsors_a_published_proposal_once(consultation, member):
    proposal = submit_proposal(consultation, member)
    partner = make_member(role="elected")
    services.cosponsor_proposal(proposal, partner.organization, by=partner.user)
    colleague = make_member(organization=partner.organization).user
    with refused("Votre organisation coporte déjà cette proposition."):
        services.cosponsor_proposal(proposal, partner.organization, by=colleague)
    assert [c.organization for c in proposal.cosponsors] == [partner.organization]
    assert count(ProposalCosponsor) == 1


def test_the_author_organization_cannot_cosponsor_its_own_proposal(consultation, member):
    proposal = submit_proposal(consultation, member)
    colleague = make_member(organization=member.organization).user
    with refused("Votre organisation a déposé cette proposition."):
        services.cosponsor_proposal(proposal, member.organization, by=colleague)
    assert count(ProposalCosponsor) == 0


def test_cosponsoring_needs_a_visible_published_proposal_during_collect_and_a_verified_member(consultation, member):
    draft = submit_proposal(consultation, member, publish=False)
    published = submit_proposal(consultation, member)
    partner = make_member()
    with refused("Seule une proposition publiée peut être coportée."):
        services.cosponsor_proposal(draft, partner.organization, by=partner.user)
    with refused("Le coportage n'est possible que pendant la phase de dépôt des contributions."):
        services.cosponsor_proposal(published, partner.organization, by=partner.user,
                                    now=during(consultation, PhaseKind.SUPPORT))
    pending = make_member(status=MembershipStatus.PENDING)
    with refused("Seuls les membres vérifiés d'une organisation la font coporter une proposition."):
        services.cosponsor_proposal(published, pending.organization, by=pending.user)
    with refused("Seuls les membres vérifiés d'une organisation la font coporter une proposition."):
        services.cosponsor_proposal(published, make_organization(), by=partner.user)
    moderation.hide(published, by=make_user(is_admin=True))
    with refused("Seule une proposition publiée peut être coportée."):
        services.cosponsor_proposal(published, partner.organization, by=partner.user)
    assert count(ProposalCosponsor) == 0


# --- Links between services and needs -------------------------------------------------------------

def test_a_service_is_linked_to_a_need_and_each_lists_the_other(consultation, member):
    need = submit_proposal(consultation, title="Inscrire les enfants à la cantine")
    service = submit_proposal(consultation, member, kind="service", title="Portail famille libre")
    link = services.link_service_to_need(service, need, by=member.user)
    assert (link.need, link.service, link.created_by_id) == (need, service, member.user.id)
    assert services.linked(need) == [service] and services.linked(service) == [need]
    with refused("Ce service est déjà relié à ce besoin."):
        services.link_service_to_need(service, need, by=member.user)
    assert count(NeedServiceLink) == 1


def test_a_withdrawn_or_hidden_service_no_longer_shows_on_the_need(consultation, member):
    need = submit_proposal(consultation)
    withdrawn = submit_proposal(consultation, member, kind="service")
    hidden = submit_proposal(consultation, member, kind="service")
    for service in (withdrawn, hidden):
        services.link_service_to_need(service, need, by=member.user)
    services.withdraw_proposal(withdrawn, "Le logiciel n'est plus maintenu.", by=member.user)
    moderation.hide(hidden, by=make_user(is_admin=True))
    assert services.linked(need) == []


def test_link_rules(consultation, member):
    service = submit_proposal(consultation, member, kind="service")
    need = submit_proposal(consultation)
    other_service = submit_proposal(consultation, member, kind="service")
    need_of_member = submit_proposal(consultation, member)
    draft_need = submit_proposal(consultation, publish=False)
    elsewhere = submit_proposal(make_consultation(PhaseKind.COLLECT), member=make_member())
    hidden_need = submit_proposal(consultation)
    moderation.hide(hidden_need, by=make_user(is_admin=True))

    with refused("Seuls les membres de l'organisation qui porte le service le relient à des besoins."):
        services.link_service_to_need(service, need, by=make_member().user)
    with refused("Un lien relie un besoin à un service."):
        services.link_service_to_need(service, other_service, by=member.user)
    with refused("Un lien relie un besoin à un service."):
        services.link_service_to_need(need_of_member, need, by=member.user)
    with refused("Le besoin et le service doivent appartenir à la même consultation."):
        services.link_service_to_need(service, elsewhere, by=member.user)
    for unpublished in (draft_need, hidden_need):
        with refused("Seules des propositions publiées, visibles et non fusionnées se relient."):
            services.link_service_to_need(service, unpublished, by=member.user)
    assert count(NeedServiceLink) == 0


# --- Versions -------------------------------------------------------------------------------------

def test_each_edit_keeps_a_version_saying_who_changed_what_and_when(consultation, member):
    start = phase(consultation, PhaseKind.COLLECT).starts_at + timedelta(days=1)
    proposal = services.create_draft(consultation, member.organization, proposal_input(
        consultation, title="Cantine : inscription en ligne", territory_tags=["rural"]), by=member.user, now=start)
    first = proposal.versions[0]
    assert (first.number, first.author, first.created_at) == (1, member.user, start)
    assert {"kind", "title", "summary", "body", "problem", "themes", "territory_tags"} <= set(first.changed_fields)

    colleague = make_member(organization=member.organization, role="elected").user
    later = start + timedelta(days=2)
    services.update_proposal(proposal, proposal_input(
        consultation, title="Cantine : inscription et paiement en ligne", summary=proposal.summary,
        theme_ids=[theme.id for theme in consultation.themes], territory_tags=["rural"]), by=colleague, now=later)
    db.session.commit()

    versions = db.session.get(Proposal, proposal.id).versions
    assert [(v.number, v.author, v.created_at) for v in versions] == [(1, member.user, start), (2, colleague, later)]
    assert versions[1].changed_fields == ["title", "themes"]
    assert versions[0].snapshot["title"] == "Cantine : inscription en ligne"
    assert versions[1].snapshot["title"] == "Cantine : inscription et paiement en ligne"
    assert versions[1].snapshot["themes"] == ["Démarches en ligne", "Inclusion numérique"]
    assert proposal.updated_at == later


def test_saving_without_any_change_adds_no_version(consultation, member):
    data = proposal_input(consultation, territory_tags=["montagne", "rural"])
    start = phase(consultation, PhaseKind.COLLECT).starts_at + timedelta(days=1)
    proposal = services.create_draft(consultation, member.organization, data, by=member.user, now=start)
    services.update_proposal(proposal, data, by=member.user, now=start + timedelta(days=1))
    same_with_spaces = proposal_input(consultation, title=f"  {data.title}  ", summary=data.summary,
                                      territory_tags=["rural", "montagne"])
    services.update_proposal(proposal, same_with_spaces, by=member.user, now=start + timedelta(days=2))
    assert len(proposal.versions) == 1 and proposal.updated_at == start

    services.update_proposal(proposal, proposal_input(consultation, title=data.title, summary=data.summary,
                                                      territory_tags=["rural"]), by=member.user)
    assert [v.changed_fields for v in proposal.versions[1:]] == [["territory_tags"]]


def test_editing_a_published_proposal_queues_its_new_vector_which_the_worker_computes(consultation, member):
    proposal = submit_proposal(consultation, member, title="Inscription en ligne à la cantine scolaire",
                               body="Un portail pour inscrire les enfants au restaurant scolaire et payer les repas.")
    canteen_draft = publish_text(consultation, NEW_CANTEEN_DRAFT, publish=False)
    run_jobs()
    assert db.session.get(ProposalVector, proposal.id).version_number == 1
    assert [p for p, _score in vectors.similar_proposals(canteen_draft)] == [proposal]

    services.update_proposal(proposal, proposal_input(
        consultation, title="Navette à la demande pour les villages",
        body="Un minibus réservable par téléphone pour conduire les personnes âgées au marché et chez le médecin."),
        by=member.user)
    db.session.commit()
    assert pending_jobs() == [{"proposal_id": proposal.id}]
    assert db.session.get(ProposalVector, proposal.id).version_number == 1  # nothing embedded yet
    assert vectors.similar_proposals(proposal) is None

    assert run_jobs() == 1
    db.session.expire_all()
    assert db.session.get(ProposalVector, proposal.id).version_number == 2
    transport_draft = publish_text(consultation, {"title": "Transport à la demande en zone rurale",
                                                  "summary": "Un bus qui passe prendre les aînés sans voiture.",
                                                  "body": "Un bus qui passe prendre les aînés sans voiture."},
                                   publish=False)
    run_jobs()
    assert [p for p, _score in vectors.similar_proposals(transport_draft)] == [proposal]
    assert vectors.similar_proposals(canteen_draft) == []  # the lists it left were renewed too


def test_saving_without_change_queues_nothing_and_publishing_reuses_the_drafts_vector(consultation, member):
    data = proposal_input(consultation, **CANTEEN)
    draft = services.create_draft(consultation, member.organization, data, by=member.user)
    db.session.commit()
    assert pending_jobs() == [{"proposal_id": draft.id}]
    run_jobs()
    stored = db.session.get(ProposalVector, draft.id).vector

    services.update_proposal(draft, data, by=member.user)
    assert pending_jobs() == []
    services.publish_proposal(draft, by=member.user)
    db.session.commit()
    assert pending_jobs() == [{"proposal_id": draft.id}]
    assert run_jobs() == 1 and pending_jobs() == []
    db.session.expire_all()
    assert (db.session.get(ProposalVector, draft.id).version_number, db.session.get(ProposalVector, draft.id).vector
            ) == (1, stored)


# --- Markdown sanitization ------------------------------------------------------------------------

LEGITIMATE = ("## Contexte\n\nLes familles **doivent** réserver *chaque* repas.\n\n"
              "- inscription\n- paiement\n\n"
              "Voir [le guide](https://www.collectivites-locales.gouv.fr/guide) ou "
              "[écrire](mailto:mairie@saint-flour.fr).\n\n")
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[cliquez](javascript:alert(1))",
    "[cliquez](JaVaScRiPt:alert(document.cookie))",
    "[cliquez](  javascript:alert(1))",
    '<a href="javascript:alert(1)">cliquez</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "[cliquez](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![image](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pixel](data:image/gif;base64,R0lGODlhAQABAAAAACw=)",  # Markdown lets data:image through: the cleaner must not
    "[cliquez](data:image/png;base64,iVBORw0KGgo=)",
    "![image](https://pistage.example/pixel.gif)",
    '<iframe src="https://pirate.example/"></iframe>',
    "[cliquez](jav&#x61;script:alert(1))",
    "[cliquez](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1))",
    "[cliquez](java\tscript:alert(1))",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<javascript:alert(1)>",
    "[cliquez](vbscript:msgbox(1))",
    '[cliquez](https://exemple.fr "titre" onmouseover="alert(1)")',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<details open ontoggle=alert(1)>",
]


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the stored HTML."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_harmless(html: str) -> None:
    elements = _Elements(html).elements
    assert {tag for tag, _attrs in elements} <= ALLOWED_TAGS
    for tag, attributes in elements:
        assert not any(name.startswith("on") or name in {"style", "src"} for name in attributes), (tag, attributes)
        if "href" in attributes:
            assert attributes["href"].startswith(("https://", "http://", "mailto:")), attributes["href"]
    # What is left of a payload is text: escaped markup, never an element.
    for element in ("<script", "<img", "<svg", "<iframe", "<div", "<details"):
        assert element not in html.lower()


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_the_stored_html_keeps_the_markdown_and_drops_every_script(consultation, member, payload):
    proposal = services.create_draft(consultation, member.organization,
                                     proposal_input(consultation, body=LEGITIMATE + payload), by=member.user)
    html = proposal.body_html
    assert_harmless(html)
    assert "<h4>Contexte</h4>" in html  # the body's headings sit under the page's own
    assert "<strong>doivent</strong>" in html and "<em>chaque</em>" in html
    assert "<li>inscription</li>" in html
    links = [attrs.get("href") for tag, attrs in _Elements(html).elements if tag == "a"]
    assert links[:2] == ["https://www.collectivites-locales.gouv.fr/guide", "mailto:mairie@saint-flour.fr"]
    assert proposal.body == (LEGITIMATE + payload).strip()  # the author's text is kept as written


def test_an_edit_is_sanitized_too(consultation, member):
    proposal = submit_proposal(consultation, member)
    services.update_proposal(proposal, proposal_input(consultation, body="Bonjour <img src=x onerror=alert(1)>"),
                             by=member.user)
    assert_harmless(proposal.body_html)
    assert proposal.body_html == "<p>Bonjour &lt;img src=x onerror=alert(1)&gt;</p>\n"


# --- Input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field, message", [
    ({"title": "Trop court"[:9]}, "title", "Le titre doit compter entre 10 et 150 caractères."),
    ({"title": "      court      "}, "title", "Le titre doit compter entre 10 et 150 caractères."),
    ({"title": "x" * 151}, "title", "Le titre doit compter entre 10 et 150 caractères."),
    ({"summary": "   "}, "summary", "Résumez la contribution en 500 caractères au plus."),
    ({"summary": "x" * 501}, "summary", "Résumez la contribution en 500 caractères au plus."),
    ({"body": ""}, "body", r"Décrivez la contribution \(20000 caractères au plus\)."),
    ({"body": "x" * 20_001}, "body", r"Décrivez la contribution \(20000 caractères au plus\)."),
    ({"kind": "idee"}, "kind", "Choisissez le type de contribution : besoin ou service."),
    ({"theme_ids": []}, "theme_ids", "Choisissez au moins un thème de la consultation."),
    ({"theme_ids": [999_999]}, "theme_ids", "Choisissez au moins un thème de la consultation."),
    ({"territory_tags": ["banlieue"]}, "territory_tags", "Territoire inconnu."),
    ({"problem": "  "}, "problem", "Décrivez le problème rencontré."),
])
def test_bad_need_input_is_refused_with_a_message_on_its_field(consultation, member, changes, field, message):
    with refused(message) as refusal:
        services.create_draft(consultation, member.organization, proposal_input(consultation, **changes),
                              by=member.user)
    assert refusal.value.field == field
    assert count(Proposal) == 0


@pytest.mark.parametrize("changes, field, message", [
    ({"maturity": None}, "maturity", "Indiquez la maturité du service."),
    ({"maturity": "ancien"}, "maturity", "Indiquez la maturité du service."),
    ({"carrier": ""}, "carrier", "Indiquez qui porte le service."),
    ({"repository_url": "javascript:alert(1)"}, "repository_url", "L'adresse du dépôt de code doit commencer"),
    ({"repository_url": "ftp://forge.example/depot"}, "repository_url", "L'adresse du dépôt de code"),
    ({"repository_url": "https://forge example/depot"}, "repository_url", "L'adresse du dépôt de code"),
    ({"deployments": -1}, "deployments", "Le nombre de déploiements ne peut pas être négatif."),
    ({"requested_budget_cents": -100}, "requested_budget_cents", "Le budget demandé ne peut pas être négatif."),
])
def test_bad_service_input_is_refused_with_a_message_on_its_field(consultation, member, changes, field, message):
    with refused(message) as refusal:
        services.create_draft(consultation, member.organization,
                              proposal_input(consultation, kind="service", **changes), by=member.user)
    assert refusal.value.field == field
    assert count(Proposal) == 0


def test_limits_are_inclusive_and_text_is_trimmed(consultation, member):
    for title in ("x" * 10, "y" * 150):
        proposal = services.create_draft(consultation, member.organization, proposal_input(
            consultation, title=f"  {title}  ", summary="s" * 500, body="b" * 20_000), by=member.user)
        assert proposal.title == title
    assert count(Proposal) == 2


def test_a_theme_of_another_consultation_is_refused(consultation, member):
    other = make_consultation(PhaseKind.COLLECT)
    with refused("Choisissez au moins un thème de la consultation."):
        services.create_draft(consultation, member.organization, proposal_input(
            consultation, theme_ids=[consultation.themes[0].id, other.themes[0].id]), by=member.user)
    proposal = submit_proposal(consultation, member)
    with refused("Choisissez au moins un thème de la consultation."):
        services.update_proposal(proposal, proposal_input(consultation, theme_ids=[other.themes[1].id]),
                                 by=member.user)
    assert proposal.themes == [consultation.themes[0]]


def test_a_service_keeps_only_its_own_fields_and_a_need_only_its_own(consultation, member):
    service = services.create_draft(consultation, member.organization, proposal_input(
        consultation, kind="service", problem="Ignoré pour un service", licence=" EUPL-1.2 ",
        repository_url="https://code.gouv.fr/depot", deployments=12, requested_budget_cents=2_500_000),
        by=member.user)
    assert (service.problem, service.licence, service.deployments, service.requested_budget_cents) == (
        None, "EUPL-1.2", 12, 2_500_000)
    need = services.create_draft(consultation, member.organization, proposal_input(
        consultation, maturity="production", requested_budget_cents=100, affected=""), by=member.user)
    assert (need.maturity, need.requested_budget_cents, need.affected) == (None, None, None)


# --- Similar proposals ----------------------------------------------------------------------------

def publish_text(consultation, text, **changes):
    return submit_proposal(consultation, **text, **changes)


def test_similar_proposals_put_the_one_on_the_same_topic_first(consultation):
    canteen = publish_text(consultation, CANTEEN)
    publish_text(consultation, TRANSPORT)
    publish_text(consultation, CYBER)
    draft = publish_text(consultation, NEW_CANTEEN_DRAFT, publish=False)
    flowers = publish_text(consultation, {"title": "Fleurir les ronds-points de la commune",
                                          "summary": "Planter des vivaces et des arbustes peu gourmands en eau.",
                                          "body": "Aux entrées de ville."}, publish=False)
    assert vectors.similar_proposals(draft) is None  # until the worker has run
    run_jobs()
    found = vectors.similar_proposals(draft)
    assert found and found[0][0] == canteen
    scores = [score for _proposal, score in found]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.4
    assert vectors.similar_proposals(flowers) == []


def test_similar_proposals_leave_out_drafts_withdrawn_hidden_other_consultations_and_itself(consultation, member):
    canteen = publish_text(consultation, CANTEEN)
    publish_text(consultation, CANTEEN, publish=False)
    withdrawn = publish_text(consultation, CANTEEN, member=member)
    hidden = publish_text(consultation, CANTEEN)
    publish_text(make_consultation(PhaseKind.COLLECT), CANTEEN)
    draft = publish_text(consultation, NEW_CANTEEN_DRAFT, publish=False)
    run_jobs()
    # Withdrawn and hidden after their neighbours were computed: readers leave them out.
    services.withdraw_proposal(withdrawn, "Doublon.", by=member.user)
    moderation.hide(hidden, by=make_user(is_admin=True))
    assert [p for p, _score in vectors.similar_proposals(draft)] == [canteen]
    assert vectors.similar_proposals(canteen) == []


def test_a_draft_sees_the_proposals_published_after_its_vector_was_computed(consultation):
    draft = publish_text(consultation, NEW_CANTEEN_DRAFT, publish=False)
    publish_text(consultation, CYBER)
    run_jobs()
    assert vectors.similar_proposals(draft) == []
    canteen = publish_text(consultation, CANTEEN)
    run_jobs()
    assert [p for p, _score in vectors.similar_proposals(draft)] == [canteen]


# --- Comments -------------------------------------------------------------------------------------

@pytest.fixture
def published(consultation, member):
    return submit_proposal(consultation, member)


def test_members_comment_and_reply_one_level_deep(published):
    first = make_member()
    comment = moderation.add_comment(published, "  Nous avons le même besoin.  ", by=first.user,
                                     organization=first.organization)
    second = make_member()
    reply = moderation.add_comment(published, "Et vous, quel logiciel ?", by=second.user,
                                   organization=second.organization, parent=comment)
    assert (comment.body, reply.parent) == ("Nous avons le même besoin.", comment)
    with refused("On ne peut répondre qu'à un commentaire visible de cette proposition."):
        moderation.add_comment(published, "Réponse à la réponse", by=first.user, organization=first.organization,
                               parent=reply)
    db.session.commit()
    assert db.session.get(Proposal, published.id).comment_count == 2 and count(Comment) == 2


def test_a_reply_must_target_a_visible_comment_of_the_same_proposal(consultation, published):
    other = submit_proposal(consultation)
    author = make_member()
    elsewhere = moderation.add_comment(other, "Ailleurs.", by=author.user, organization=author.organization)
    hidden = moderation.add_comment(published, "Masqué.", by=author.user, organization=author.organization)
    moderation.hide(hidden, by=make_user(is_admin=True))
    for parent in (elsewhere, hidden):
        with refused("On ne peut répondre qu'à un commentaire visible de cette proposition."):
            moderation.add_comment(published, "Réponse.", by=author.user, organization=author.organization,
                                   parent=parent)
    assert count(Comment) == 2


@pytest.mark.parametrize("make_author, message", [
    (pending_member, "Seuls les membres vérifiés d'une organisation vérifiée peuvent commenter."),
    (member_of_unverified_organization, "Seuls les membres vérifiés d'une organisation vérifiée peuvent commenter."),
])
def test_only_verified_members_comment(published, make_author, message):
    membership = make_author()
    with refused(message):
        moderation.add_comment(published, "Un avis.", by=membership.user, organization=membership.organization)
    assert count(Comment) == 0 and published.comment_count == 0


def test_comment_refusals(consultation, member, published):
    commenter = make_member()
    with refused("Vous ne pouvez commenter qu'au nom d'une organisation dont vous êtes membre."):
        moderation.add_comment(published, "Un avis.", by=commenter.user, organization=member.organization)
    with refused("Le commentaire est vide."):
        moderation.add_comment(published, "   ", by=commenter.user, organization=commenter.organization)
    with refused("Un commentaire compte au plus 5000 caractères."):
        moderation.add_comment(published, "x" * 5001, by=commenter.user, organization=commenter.organization)
    draft = submit_proposal(consultation, member, publish=False)
    with refused("Cette proposition n'est pas ouverte aux commentaires."):
        moderation.add_comment(draft, "Un avis.", by=member.user, organization=member.organization)
    with refused("Les commentaires sont fermés pendant cette phase."):
        moderation.add_comment(published, "Un avis.", by=commenter.user, organization=commenter.organization,
                               now=during(consultation, PhaseKind.RESULTS))
    assert count(Comment) == 0


def test_only_the_author_edits_a_comment(published):
    author = make_member()
    comment = moderation.add_comment(published, "Premier avis.", by=author.user, organization=author.organization)
    colleague = make_member(organization=author.organization).user
    with refused("Seul son auteur modifie un commentaire."):
        moderation.edit_comment(comment, "Avis réécrit par un collègue.", by=colleague)
    later = comment.created_at + timedelta(hours=1)
    moderation.edit_comment(comment, "Avis précisé.", by=author.user, now=later)
    assert (comment.body, comment.edited_at) == ("Avis précisé.", later)
    with refused("Le commentaire est vide."):
        moderation.edit_comment(comment, " ", by=author.user)
    moderation.hide(comment, by=make_user(is_admin=True))
    with refused("Seul son auteur modifie un commentaire."):
        moderation.edit_comment(comment, "Après masquage.", by=author.user)
    assert comment.body == "Avis précisé."


# --- Reports and moderation -----------------------------------------------------------------------

def test_three_reports_by_different_members_hide_a_proposal(published):
    reporters = [make_member().user for _ in range(3)]
    moderation.report(published, "spam", by=reporters[0])
    moderation.report(published, "off_topic", by=reporters[1])
    assert not published.is_hidden and published.report_count == 2
    moment = published.published_at + timedelta(days=1)
    moderation.report(published, "offensive", by=reporters[2], now=moment)
    assert published.hidden_at == moment and published.report_count == 3
    assert sorted(r.reason for r in moderation.reports_about("proposal", published.id)) == [
        "off_topic", "offensive", "spam"]


def test_the_same_member_reports_only_once_and_needs_a_known_reason(published):
    reporter = make_member().user
    moderation.report(published, "spam", by=reporter)
    with refused("Vous avez déjà signalé ce contenu."):
        moderation.report(published, "offensive", by=reporter)
    with refused("Choisissez un motif de signalement."):
        moderation.report(published, "ennuyeux", by=make_member().user)
    with refused("Seuls les membres vérifiés d'une organisation vérifiée peuvent signaler un contenu."):
        moderation.report(published, "spam", by=make_user())
    assert published.report_count == 1 and count(Report) == 1 and not published.is_hidden


def test_three_reports_hide_a_comment_and_it_no_longer_counts(published):
    author = make_member()
    comment = moderation.add_comment(published, "Achetez nos logiciels !", by=author.user,
                                     organization=author.organization)
    db.session.commit()
    for _ in range(3):
        moderation.report(comment, "spam", by=make_member().user)
    db.session.commit()
    assert comment.is_hidden and db.session.get(Proposal, published.id).comment_count == 0


def audit_actions():
    return [(entry.action, entry.actor_id, entry.subject)
            for entry in db.session.scalars(sa.select(audit.AuditEntry).order_by(audit.AuditEntry.id))]


def test_admins_hide_and_restore_content_and_each_decision_is_audited(published):
    admin = make_user(is_admin=True)
    author = make_member()
    comment = moderation.add_comment(published, "Un avis.", by=author.user, organization=author.organization)
    for _ in range(2):
        moderation.report(published, "spam", by=make_member().user)
    moderation.hide(published, by=admin)
    moderation.hide(comment, by=admin)
    db.session.commit()
    assert published.is_hidden and comment.is_hidden
    assert db.session.get(Proposal, published.id).comment_count == 0
    moderation.restore(published, by=admin)
    moderation.restore(comment, by=admin)
    db.session.commit()
    assert not published.is_hidden and published.report_count == 0
    assert not comment.is_hidden and db.session.get(Proposal, published.id).comment_count == 1
    assert audit_actions() == [
        ("moderation.hide", admin.id, f"proposals:{published.id}"),
        ("moderation.hide", admin.id, f"comments:{comment.id}"),
        ("moderation.restore", admin.id, f"proposals:{published.id}"),
        ("moderation.restore", admin.id, f"comments:{comment.id}"),
    ]
    assert audit.verify_chain() is None


def test_a_restored_proposal_needs_three_new_reports_to_be_hidden_again(published):
    for _ in range(3):
        moderation.report(published, "spam", by=make_member().user)
    moderation.restore(published, by=make_user(is_admin=True))
    moderation.report(published, "spam", by=make_member().user)
    assert not published.is_hidden and published.report_count == 1


def test_admins_block_a_user_who_can_then_no_longer_sign_in(published):
    admin = make_user(is_admin=True)
    troll = make_member().user
    moderation.block_user(troll, by=admin)
    assert troll.blocked_at is not None and not troll.is_active
    with refused("Un compte d'administration ne peut pas être suspendu ici."):
        moderation.block_user(make_user(is_admin=True), by=admin)
    assert audit_actions() == [("moderation.block_user", admin.id, f"users:{troll.id}")]


def test_only_admins_moderate(published):
    member = make_member(role="elected").user
    victim = make_member().user
    for action in (lambda: moderation.hide(published, by=member), lambda: moderation.restore(published, by=member),
                   lambda: moderation.block_user(victim, by=member)):
        with refused("Seule l'équipe d'administration modère les contenus."):
            action()
    assert not published.is_hidden and victim.blocked_at is None and audit_actions() == []


# --- Rules added after review ---------------------------------------------------------------------

def test_a_hidden_service_cannot_be_linked(consultation, member):
    service = submit_proposal(consultation, member, kind="service")
    need = submit_proposal(consultation)
    moderation.hide(service, by=make_user(is_admin=True))
    with refused("Seules des propositions publiées, visibles et non fusionnées se relient."):
        services.link_service_to_need(service, need, by=member.user)


def test_a_published_proposal_keeps_its_kind(consultation, member):
    draft = submit_proposal(consultation, member, publish=False)
    services.update_proposal(draft, proposal_input(consultation, kind="service"), by=member.user)
    assert draft.kind == "service"  # a draft may still change its mind
    published = submit_proposal(consultation, member)
    with refused("Une proposition publiée ne change plus de type."):
        services.update_proposal(published, proposal_input(consultation, kind="service"), by=member.user)


def test_hiding_a_comment_takes_its_visible_replies_out_of_the_count(consultation, member):
    proposal = submit_proposal(consultation)
    first = moderation.add_comment(proposal, "Premier avis.", by=member.user, organization=member.organization)
    for text in ("Réponse une.", "Réponse deux."):
        moderation.add_comment(proposal, text, by=member.user, organization=member.organization, parent=first)
    moderation.add_comment(proposal, "Autre avis.", by=member.user, organization=member.organization)
    db.session.refresh(proposal)
    assert proposal.comment_count == 4
    admin = make_user(is_admin=True)
    moderation.hide(first, by=admin)
    assert proposal.comment_count == 1
    moderation.restore(first, by=admin)
    assert proposal.comment_count == 4
