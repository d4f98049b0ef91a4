"""Reaching people in Chromium (issue 16): the choice of mails on "Mon compte", the one-click unsubscribe page, the
ANSM diagnostic asked for by a small commune and triaged by an admin, and the ProConnect button; every page is
checked for accessibility, then at phone width for horizontal scrolling."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.notifications.models import NotificationKind, NotificationPreference
from app.notifications.services import unsubscribe_token
from app.organizations.models import DiagnosticRequest
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.browser.test_layout_journey import phone
from tests.browser.test_mandates_journey import sign_in, sign_out
from tests.factories import make_diagnostic_request, make_member, make_organization, make_user

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
# The kinds of mail, as "Mes courriels" names them.
OPENING, CLOSING, RESULTS = "Ouverture des soutiens", "Clôture prochaine des soutiens", "Publication des résultats"
FOLLOWED = "Suivi des propositions de votre organisation (commentaires, fusions, réponses)"
INELIGIBLE_AURILLAC = ("Ce diagnostic est réservé aux communes de moins de 3 500 habitants et aux EPCI de moins de "
                       "15 000 habitants : cette commune compte 20 000 habitants.")


@pytest.fixture
def proconnect(live_app, monkeypatch):
    """ProConnect configured on the live app for this test only; the button needs no provider behind it."""
    monkeypatch.setitem(live_app.config, "PROCONNECT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setitem(live_app.config, "PROCONNECT_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setitem(live_app.config, "PROCONNECT_DISCOVERY_URL",
                        "http://127.0.0.1:9/.well-known/openid-configuration")


def chosen_modes(live_app, user_id: int) -> dict[str, str]:
    """The person's NotificationPreference rows, kind → mode (no row: they receive it at once)."""
    with live_app.app_context():
        rows = db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.mode)
                                  .where(NotificationPreference.user_id == user_id)).all()
        db.session.remove()
    return dict(rows)


def open_account(page) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")


def test_an_official_chooses_a_daily_digest_for_one_kind_and_nothing_for_another(page, live_app):
    with live_app.app_context():
        user_id = make_member(make_user("maire@murat.fr", name="Gilles Chabrier"), make_organization("Murat"),
                              role="elected").user_id
    main = page.get_by_role("main")

    def choices(kind: str):
        return page.get_by_role("group", name=kind)

    sign_in(page, "maire@murat.fr", "Gilles Chabrier")
    open_account(page)
    check_accessibility(page)
    main.get_by_role("link", name="Choisir les courriels que vous recevez").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes courriels")
    for kind in (OPENING, CLOSING, RESULTS, FOLLOWED):
        expect(choices(kind).get_by_label("Tout de suite")).to_be_checked()
    check_accessibility(page)

    # DSFR draws its own radio over the native one: the person clicks the label.
    choices(FOLLOWED).get_by_text("Un résumé quotidien", exact=True).click()
    choices(CLOSING).get_by_text("Rien", exact=True).click()
    main.get_by_role("button", name="Enregistrer").click()
    expect(main.get_by_role("status")).to_have_text("Vos choix de courriels sont enregistrés.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    check_accessibility(page)

    main.get_by_role("link", name="Choisir les courriels que vous recevez").click()
    page.reload()
    expect(choices(FOLLOWED).get_by_label("Un résumé quotidien")).to_be_checked()
    expect(choices(CLOSING).get_by_label("Rien")).to_be_checked()
    expect(choices(OPENING).get_by_label("Tout de suite")).to_be_checked()
    expect(choices(RESULTS).get_by_label("Tout de suite")).to_be_checked()
    check_accessibility(page)

    assert chosen_modes(live_app, user_id) == {"followed_proposal_activity": "daily", "window_closing": "none"}


def test_a_visitor_unsubscribes_from_one_kind_by_the_link_of_a_mail_and_holds_no_session(page, live_app):
    with live_app.app_context():
        user = make_user("camille.roux@example.org", name="Camille Roux")
        user_id, token = user.id, unsubscribe_token(user, NotificationKind.RESULTS)
    main = page.get_by_role("main")

    page.goto(f"/courriels/desabonnement/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se désabonner")
    expect(main).to_contain_text(
        "Ne plus recevoir, à l'adresse ca…@example.org, les courriels « Publication des résultats » ?")
    check_accessibility(page)
    assert chosen_modes(live_app, user_id) == {}  # opening the link (as a mail scanner does) changes nothing

    main.get_by_role("button", name="Me désabonner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Désabonnement enregistré")
    expect(main).to_contain_text("Vous ne recevrez plus les courriels « Publication des résultats ».")
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu.get_by_role("link", name="Se connecter")).to_be_visible()  # still a visitor
    check_accessibility(page)

    assert chosen_modes(live_app, user_id) == {"results": "none"}
    assert page.context.cookies() == []


def test_a_small_commune_asks_for_the_diagnostic_a_large_one_is_told_why_not_an_admin_triages_it(page, live_app):
    with live_app.app_context():
        murat = make_organization("Murat", population=1_900)
        make_member(make_user("lea.vidal@murat.fr", name="Léa Vidal"), murat, role="agent")
        make_member(make_user("hugo.delmas@aurillac.fr", name="Hugo Delmas"),
                    make_organization("Aurillac", population=20_000), role="agent")
        make_user("admin@example.org", name="Camille Roux", is_admin=True)
    main = page.get_by_role("main")

    def status():
        return main.get_by_role("status")

    # The agent of Murat asks from the commune's page, forgetting the needs first.
    sign_in(page, "lea.vidal@murat.fr", "Léa Vidal")
    open_account(page)
    main.get_by_role("link", name="Murat", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Murat")
    expect(main.get_by_role("heading", name="Diagnostic sur mesure (ANSM)")).to_be_visible()
    check_accessibility(page)
    main.get_by_role("link", name="Demander le diagnostic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demander le diagnostic sur mesure (ANSM)")
    expect(page.get_by_label("Personne à contacter")).to_have_value("Léa Vidal")
    expect(page.get_by_label("Adresse électronique de contact")).to_have_value("lea.vidal@murat.fr")
    check_accessibility(page)
    main.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Vos besoins : Décrivez vos besoins : ce que vous attendez du diagnostic.")
    expect(page.get_by_label("Vos besoins")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)
    page.get_by_label("Vos besoins").fill("Notre site internet n'est plus à jour et nos démarches sont sur papier.")
    main.get_by_role("button", name="Envoyer la demande").click()
    expect(status()).to_have_text(
        "Votre demande de diagnostic est envoyée. L'équipe vous contactera à l'adresse indiquée.")
    expect(main).to_contain_text("par Léa Vidal : nouvelle.")
    expect(main).to_contain_text("Votre organisation a déjà une demande de diagnostic en cours (statut : nouvelle)")
    expect(main.get_by_role("link", name="Demander le diagnostic")).to_have_count(0)
    check_accessibility(page)
    sign_out(page)

    # The agent of Aurillac, 20,000 inhabitants, reads why it cannot ask.
    sign_in(page, "hugo.delmas@aurillac.fr", "Hugo Delmas")
    open_account(page)
    main.get_by_role("link", name="Aurillac", exact=True).click()
    expect(main.get_by_role("heading", name="Diagnostic sur mesure (ANSM)")).to_be_visible()
    expect(main).to_contain_text(INELIGIBLE_AURILLAC)
    expect(main.get_by_role("link", name="Demander le diagnostic")).to_have_count(0)
    check_accessibility(page)
    sign_out(page)

    # An admin triages Murat's request.
    sign_in(page, "admin@example.org", "Camille Roux")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Administration").click()
    main.get_by_role("link", name="1 nouvelle demande de diagnostic sur mesure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes de diagnostic sur mesure (ANSM)")
    expect(main.get_by_role("row").filter(has_text="Murat")).to_contain_text("Nouvelle")
    check_accessibility(page)
    main.get_by_role("link", name=re.compile("traiter la demande de Murat$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande de diagnostic de Murat")
    check_accessibility(page)
    page.get_by_label("Statut").select_option(label="Collectivité contactée")
    page.get_by_label("Note de l'équipe (non transmise à la collectivité)").fill("Appelée le 3, rappel jeudi.")
    main.get_by_role("button", name="Enregistrer").click()
    expect(status()).to_have_text("Demande de diagnostic mise à jour.")
    expect(page.get_by_label("Statut")).to_have_value("contacted")
    expect(main).to_contain_text("Statut : Nouvelle → Collectivité contactée")
    check_accessibility(page)

    with live_app.app_context():
        diagnostic = db.session.scalars(sa.select(DiagnosticRequest)).one()
        assert (diagnostic.organization.name, diagnostic.requested_by.name) == ("Murat", "Léa Vidal")
        assert (diagnostic.status, diagnostic.admin_note) == ("contacted", "Appelée le 3, rappel jeudi.")
        db.session.remove()


def test_the_sign_in_page_offers_proconnect(page, live_app, proconnect):
    page.goto("/compte/connexion")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Agent public ? Connectez-vous avec votre compte professionnel.")
    expect(main.get_by_role("link", name="S'identifier avec ProConnect")).to_have_attribute(
        "href", "/compte/proconnect")
    expect(main.get_by_role("button", name="Se connecter")).to_be_visible()  # the password form stays
    check_accessibility(page)


def test_at_phone_width_the_new_pages_do_not_scroll_sideways(browser, live_server, live_app, proconnect, tmp_path):
    with live_app.app_context():
        murat = make_organization("Murat", population=1_900)
        make_member(make_user("lea.vidal@murat.fr", name="Léa Vidal"), murat, role="agent")
        aurillac = make_organization("Aurillac", population=20_000)
        diagnostic = make_diagnostic_request(make_organization("Allanche", population=600),
                                             needs="Un diagnostic de nos outils numériques, " * 20)
        make_user("admin@example.org", name="Camille Roux", is_admin=True)
        token = unsubscribe_token(make_user("camille.roux@example.org"), NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY)
        murat_id, aurillac_id, diagnostic_id = murat.id, aurillac.id, diagnostic.id
    context = phone(browser, live_server, javascript=True)
    try:
        page = context.new_page()
        page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})  # phone() is 375 wide; 390 is a common phone
        main = page.get_by_role("main")

        def fits(name: str, heading: str) -> None:
            """The page expected, without horizontal scrolling; a full-page screenshot in the test's folder."""
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, page.url

        page.goto("/compte/connexion")
        expect(main.get_by_role("link", name="S'identifier avec ProConnect")).to_be_visible()
        fits("connexion-proconnect", "Se connecter")
        page.goto(f"/courriels/desabonnement/{token}")
        fits("desabonnement", "Se désabonner")
        main.get_by_role("button", name="Me désabonner").click()
        fits("desabonnement-enregistre", "Désabonnement enregistré")

        sign_in(page, "lea.vidal@murat.fr", "Léa Vidal")
        page.goto("/compte/courriels")
        fits("courriels", "Mes courriels")
        page.goto(f"/collectivites/{murat_id}")
        fits("collectivite-eligible", "Murat")
        page.goto(f"/collectivites/{murat_id}/diagnostic")
        main.get_by_role("button", name="Envoyer la demande").click()
        expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient 1 erreur")
        fits("diagnostic-erreur", "Demander le diagnostic sur mesure (ANSM)")

        context.clear_cookies()
        sign_in(page, "admin@example.org", "Camille Roux")
        page.goto(f"/collectivites/{aurillac_id}")
        expect(main).to_contain_text(INELIGIBLE_AURILLAC)
        fits("collectivite-non-eligible", "Aurillac")
        page.goto("/admin/diagnostics")
        fits("admin-diagnostics", "Demandes de diagnostic sur mesure (ANSM)")
        page.goto(f"/admin/diagnostics/{diagnostic_id}")
        fits("admin-diagnostic", "Demande de diagnostic d'Allanche")
    finally:
        context.close()
