"""What every page shows around its content: the menu, the breadcrumb trail, the footer's legal
pages, and the count of membership requests waiting for whoever may decide them."""

import re
from datetime import date

import pytest

from app.consultations.models import PhaseKind
from app.organizations.models import MembershipStatus
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user, seat
from tests.helpers import counted_statements, text_of


def menu_of(page: str) -> dict[str, bool]:
    """The main menu's links: label -> whether it is marked as the current page."""
    menu = re.search(r'<nav class="fr-nav agora-nav".*?</nav>', page, re.DOTALL).group(0)
    return {label: bool(current) for current, label in
            re.findall(r'<a class="fr-nav__link" href="[^"]*"( aria-current="page")?>([^<]+)</a>', menu)}


def breadcrumb_of(page: str) -> list[tuple[str, str]]:
    """The breadcrumb's steps as (label, link), the link of the current page being "current"."""
    trail = re.search(r'<nav role="navigation" class="fr-breadcrumb".*?</nav>', page, re.DOTALL).group(0)
    return [(label, "current" if current else href) for href, current, label in
            re.findall(r'<a class="fr-breadcrumb__link"(?: href="([^"]*)")?( aria-current="page")?>([^<]+)</a>', trail)]


def footer_links(page: str) -> dict[str, str]:
    footer = re.search(r'<footer .*?</footer>', page, re.DOTALL).group(0)
    links = re.findall(r'<a class="fr-footer__bottom-link" href="([^"]+)"[^>]*>([^<]+)</a>', footer)
    return {label: href for href, label in links}


def test_the_menu_marks_the_page_being_shown_and_only_it(client):
    assert menu_of(text_of(client.get("/collectivites/"))) == {
        "Accueil": False, "Collectivités": True, "Se connecter": False, "Créer un compte": False}
    assert menu_of(text_of(client.get("/")))["Accueil"] is True
    client.sign_in_as(make_user())
    menu = menu_of(text_of(client.get("/compte/")))
    assert menu == {"Accueil": False, "Collectivités": False, "Mon compte": True}


def test_the_menu_offers_administration_to_admins_only(client):
    client.sign_in_as(make_user(is_admin=True))
    assert menu_of(text_of(client.get("/admin/")))["Administration"] is True


def test_the_small_screen_menu_is_a_disclosure_holding_the_same_links(client):
    page = text_of(client.get("/"))
    narrow = re.search(r'<details class="agora-nav__narrow">\s*<summary[^>]*>Menu</summary>(.*?)</details>',
                       page, re.DOTALL)
    assert narrow, "the menu must open without JavaScript on small screens"
    assert menu_of(f'<nav class="fr-nav agora-nav">{narrow.group(1)}</nav>') == menu_of(page)
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page


def test_a_proposal_page_shows_the_breadcrumb_trail_up_to_the_home_page(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation, title="Réserver la cantine en ligne")
    assert breadcrumb_of(text_of(client.get(f"/propositions/{proposal.id}"))) == [
        ("Accueil", "/"), (consultation.title, f"/consultations/{consultation.slug}"),
        ("Contributions", f"/consultations/{consultation.slug}/propositions"),
        ("Réserver la cantine en ligne", "current")]


def test_deeper_pages_continue_the_trail(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    organization = make_organization("Saint-Flour")
    member = make_member(organization=organization, role="elected")
    proposal = make_proposal(consultation, organization, author=member.user)
    client.sign_in_as(member.user)
    assert breadcrumb_of(text_of(client.get(f"/propositions/{proposal.id}/retirer")))[-2:] == [
        (proposal.title, f"/propositions/{proposal.id}"), ("Retirer la proposition", "current")]
    assert breadcrumb_of(text_of(client.get(f"/collectivites/{organization.id}"))) == [
        ("Accueil", "/"), ("Collectivités", "/collectivites/"), ("Saint-Flour", "current")]
    assert breadcrumb_of(text_of(client.get(f"/consultations/{consultation.slug}/decompte"))) == [
        ("Accueil", "/"), (consultation.title, f"/consultations/{consultation.slug}"),
        ("Décompte des soutiens", "current")]


def test_admin_pages_lead_back_to_the_administration(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    client.sign_in_as(make_user(is_admin=True))
    assert breadcrumb_of(text_of(client.get(f"/admin/consultations/{consultation.id}/comite"))) == [
        ("Accueil", "/"), ("Administration", "/admin/"),
        (consultation.title, f"/admin/consultations/{consultation.id}/modifier"), ("Comité de pilotage", "current")]


@pytest.mark.parametrize("url", ["/", "/collectivites/", "/compte/connexion", "/mentions-legales", "/page-absente"])
def test_every_page_links_to_the_legal_pages_in_its_footer(client, url):
    links = footer_links(text_of(client.get(url)))
    assert links["Mentions légales"] == "/mentions-legales"
    assert links["Données personnelles"] == "/donnees-personnelles"
    assert links["Accessibilité : non conforme"] == "/accessibilite"  # no audit yet
    assert links["Plan du site"] == "/plan-du-site"


@pytest.fixture
def operator(app, monkeypatch):
    """The settings an operator gives in the environment, as config.py reads them."""
    for name, value in {"OPERATOR_NAME": "Communauté de communes de Saint-Flour",
                        "OPERATOR_ADDRESS": "4 place d'Armes, 15100 Saint-Flour",
                        "OPERATOR_CONTACT_EMAIL": "consultation@saint-flour.fr",
                        "PUBLICATION_DIRECTOR": "Jeanne Barret, présidente",
                        "HOSTING_PROVIDER": "Hébergeur public, 1 rue du Serveur, 75000 Paris",
                        "ACCESSIBILITY_AUDIT_DATE": date(2027, 3, 12), "ACCESSIBILITY_CONFORMITY": "partielle"}.items():
        monkeypatch.setitem(app.config, name, value)


def test_without_an_audit_the_site_says_it_is_not_conformant_as_the_rgaa_asks(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESSIBILITY_CONFORMITY", "totale")  # a claim without an audit date
    page = text_of(client.get("/accessibilite"))
    assert "Accessibilité : non conforme" in page and "est non conforme avec le référentiel" in page
    monkeypatch.setitem(app.config, "ACCESSIBILITY_AUDIT_DATE", date(2027, 3, 12))
    assert "Accessibilité : totalement conforme" in text_of(client.get("/"))


def test_the_legal_notice_shows_the_operator_settings(client, operator):
    page = text_of(client.get("/mentions-legales"))
    assert "<h1>Mentions légales</h1>" in page
    for shown in ("Ce site est édité par Communauté de communes de Saint-Flour.", "4 place d'Armes, 15100 Saint-Flour",
                  '<a href="mailto:consultation@saint-flour.fr">', "Jeanne Barret, présidente",
                  "Hébergeur public, 1 rue du Serveur, 75000 Paris"):
        assert shown in page, shown
    assert "(information à compléter)" not in page


def test_an_unset_setting_shows_as_missing_rather_than_empty(client):
    assert "(information à compléter)" in text_of(client.get("/mentions-legales"))


def test_the_accessibility_statement_follows_the_rgaa_model(client, operator):
    page = text_of(client.get("/accessibilite"))
    for shown in ("<h1>Déclaration d'accessibilité</h1>", "partiellement conforme", "<h2>Contenus non accessibles</h2>",
                  "Un audit de conformité au RGAA a été réalisé le 12 mars 2027.", "consultation@saint-flour.fr",
                  "<h2>Voies de recours</h2>", "Défenseur des droits", "Libre réponse 71120"):
        assert shown in page, shown


def test_the_personal_data_page_names_the_controller_and_the_rights(client, operator):
    page = text_of(client.get("/donnees-personnelles"))
    assert "Communauté de communes de Saint-Flour est responsable des traitements" in page
    assert "CNIL" in page and "consultation@saint-flour.fr" in page


def test_the_operator_replaces_a_page_with_a_markdown_file(client, app, monkeypatch, tmp_path):
    (tmp_path / "mentions-legales.md").write_text("# Éditeur\n\nLa **commune de Murat**.\n\n<script>x()</script>\n",
                                                  encoding="utf-8")
    monkeypatch.setitem(app.config, "LEGAL_PAGES_DIR", str(tmp_path))
    response = client.get("/mentions-legales")
    assert "<script>x()" not in response.get_data(as_text=True)  # shown as text, never run
    page = text_of(response)
    assert "<h1>Mentions légales</h1>" in page and "<h2>Éditeur</h2>" in page
    assert "La <strong>commune de Murat</strong>." in page
    assert "Direction de la publication" not in page  # the whole default is replaced
    assert "Responsable du traitement" in text_of(client.get("/donnees-personnelles"))  # no file: the default


def test_the_site_map_lists_each_consultation(client):
    consultation = make_consultation(PhaseKind.COLLECT)
    page = text_of(client.get("/plan-du-site"))
    assert f'<a href="/consultations/{consultation.slug}">{consultation.title}</a>' in page
    assert f'<a href="/consultations/{consultation.slug}/propositions">Contributions</a>' in page


PENDING = "Adhésions à traiter (1)"


def test_an_elected_official_sees_the_requests_waiting_for_them_in_the_menu(client):
    organization = make_organization()
    elected = make_member(organization=organization, role="elected").user
    make_member(organization=organization, status=MembershipStatus.PENDING)
    client.sign_in_as(elected)
    page = text_of(client.get("/"))
    assert f'<a class="fr-nav__link" href="/adhesions/a-traiter">{PENDING}</a>' in page
    assert menu_of(text_of(client.get("/adhesions/a-traiter")))[PENDING] is True


@pytest.mark.parametrize("viewer", ["visitor", "agent of the same commune", "elected official elsewhere",
                                    "committee member"])
def test_others_see_no_count_of_requests(client, viewer):
    consultation, organization = make_consultation(PhaseKind.SUPPORT), make_organization()
    make_member(organization=organization, role="elected")
    make_member(organization=organization, status=MembershipStatus.PENDING)
    users = {"agent of the same commune": lambda: make_member(organization=organization).user,
             "elected official elsewhere": lambda: make_member(role="elected").user,
             "committee member": lambda: seat(consultation).user}
    if viewer in users:
        client.sign_in_as(users[viewer]())
    assert "Adhésions à traiter" not in text_of(client.get("/"))


def test_the_ansm_badge_says_what_it_means(client):
    commune = make_organization("Anglards-de-Saint-Flour", population=300)
    proposal = make_proposal(make_consultation(PhaseKind.SUPPORT), commune)
    explanation = ("Accompagnement numérique sur mesure (ANSM) : gratuit pour les communes de moins de 3\u202f500 "
                   "habitants et les intercommunalités de moins de 15\u202f000 habitants.")
    for url in (f"/propositions/{proposal.id}", f"/collectivites/{commune.id}"):
        page = text_of(client.get(url))
        assert "Éligible ANSM" in page and explanation in page, url


def test_the_count_costs_one_query_for_a_signed_in_person_and_none_for_a_visitor(client):
    def count_queries(url: str) -> int:
        with counted_statements() as statements:
            client.get(url)
        return sum("count(" in statement.lower() and "memberships" in statement for statement in statements)

    assert count_queries("/collectivites/") == 0
    client.sign_in_as(make_member(role="elected").user)
    assert count_queries("/collectivites/") == 1  # for both lists of the menu
