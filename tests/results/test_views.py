"""The public results pages as visitors read them: nothing before the publication, then the laureates,
amounts, answers, ranking and charts; the catalogue of laureate services, its filters and its pages."""

import re

import pytest

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from tests.factories import make_consultation, make_member, seat
from tests.helpers import counted_statements, text_of

RESULTS = "/consultations/relance-2027/resultats"
RANKING = f"{RESULTS}/classement"


def read(response) -> str:
    """The page's text, with the thin spaces that group digits written as plain spaces."""
    return text_of(response).replace("\u202f", " ").replace("\xa0", " ")


def test_before_the_publication_nothing_of_the_answers_shows_and_the_expected_date_does(client, unpublished):
    for url in (RESULTS, RANKING, f"{RESULTS}/services"):
        page = read(client.get(url))
        assert "Les résultats de cette consultation ne sont pas encore publiés" in page
        assert "Ils sont attendus à partir du" in page
        for secret in ("Portail famille libre", "Retenu pour sa réutilisabilité", "40 000", "Lauréat"):
            assert secret not in page
    assert client.get(f"{RESULTS}/services/{unpublished.portal.id}").status_code == 404
    consultation_page = read(client.get("/consultations/relance-2027"))
    assert f'href="{RESULTS}"' not in consultation_page and "Restauration scolaire" not in consultation_page
    assert "/compte/connexion" in client.get(f"/consultations/relance-2027/comite/enjeux/{unpublished.cantines.id}"
                                             ).location
    client.sign_in_as(seat(unpublished.consultation).user)  # the committee waits for the publication too
    assert "ne sont pas encore publiés" in read(client.get(RESULTS))


def test_the_results_page_shows_laureates_amounts_envelope_and_issues(client, results):
    page = read(client.get(RESULTS))
    laureates = page.split('id="laureats"')[1].split('id="graphiques"')[0]
    assert "3 lauréats" in laureates
    assert re.findall(r'<th scope="row"><a href="/propositions/\d+">([^<]+)</a>', laureates) == [
        "Portail famille libre", "Médiation numérique itinérante", "Agent conversationnel municipal"]
    for text in ("Commune du Cantal 0", "Restauration scolaire", "40 000 €", "25 000 €", "10 000 €",
                 "Total accordé", "75 000 €"):
        assert text in laureates
    assert "Service masqué" not in page and "Original fusionné" not in page
    facts = page.split('class="agora-facts"')[1].split("</dl>")[0]
    assert "100 000 €" in facts and "75 000 €" in facts and "75 % de l'enveloppe" in facts and "25 000 €" in facts
    assert "(objectif : 3)" in facts
    assert f'href="/consultations/relance-2027/comite/enjeux/{results.cantines.id}">Restauration scolaire' in page
    assert f'href="{RESULTS}/services/{results.portal.id}"' in page  # a laureate service's card


def test_the_ranking_gives_every_answer_with_its_rank_on_its_own_page(client, results):
    assert f'href="{RANKING}"' in read(client.get(RESULTS))
    ranking = read(client.get(RANKING))
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<th scope=\"row\"><a href=\"/propositions/\d+\">([^<]+)</a>", ranking)
    assert rows == [("1", "Portail famille libre"), ("2", "Médiation numérique itinérante"),
                    ("3", "Agent conversationnel municipal"), ("3", "Logiciel de paie propriétaire"),
                    ("5", "Cimetière en ligne")]
    for answer in ("Retenu pour sa réutilisabilité.", "Pas de code ouvert.", "Encore à l'étude.", "Non retenue",
                   "En cours d'évaluation"):
        assert answer in ranking
    refused = read(client.get(f"{RANKING}?reponse=not_retained"))
    assert "Logiciel de paie propriétaire" in refused and "Cimetière en ligne" not in refused
    assert "1 proposition" in refused and "Effacer les filtres" in refused


@pytest.mark.parametrize("query, message", [
    ("reponse=peut-etre", "N'est pas un choix valide"),
    ("kind=idee", "N'est pas un choix valide"),
    ("page=0", "Le numéro de page doit être un entier positif."),
    ("page=abc", "N'est pas un entier valide"),
    ("page=99999999999999999999", "Le numéro de page doit être un entier positif."),
    ("reponse=%00", None),
])
def test_bad_filters_of_the_ranking_are_explained_never_a_server_error(client, results, query, message):
    response = client.get(f"{RANKING}?{query}")
    if message is None:
        assert response.status_code == 400
        return
    page = read(response)
    assert response.status_code == 200 and message in page
    assert "5 propositions" in page  # the whole ranking, unfiltered


def test_a_page_past_the_end_of_the_ranking_says_so(client, results):
    page = read(client.get(f"{RANKING}?page=7"))
    assert "Aucune proposition ne correspond à ces critères." in page and "5 propositions" in page


def test_the_charts_are_accessible_images_each_followed_by_its_data_table(client, results):
    response = client.get(RESULTS)
    page = read(response)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    for key, title in (("soutiens-par-enjeu", "Soutiens par grand enjeu"), ("laureats-par-theme", "Lauréats par thème"),
                       ("laureats-par-territoire", "Lauréats par type de territoire"),
                       ("participation-par-departement", "Organisations participantes par département")):
        assert f'<title id="{key}-titre">{title}</title>' in page and f'id="{key}-desc"' in page
        assert f"Données du graphique « {title} »" in page
    table = page.split("Données du graphique « Soutiens par grand enjeu »")[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', table) == [
        ("Restauration scolaire", "6"), ("Inclusion numérique", "3"), ("Sans grand enjeu", "2")]
    departements = page.split("Données du graphique « Organisations participantes par département »")[1]
    assert re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', departements.split("</table>")[0]) == [
        ("Cantal (15)", "3"), ("Corse-du-Sud (2A)", "1")]
    assert "4 organisations ont donné des soutiens comptés, dans 2 départements" in page
    # Strict CSP: no inline style anywhere, no script but the DSFR's module.
    assert " style=" not in page and "<style" not in page and "<script" not in page.split("</main>")[0]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"].split("style-src")[1].split(";")[0]


def test_the_results_page_reads_the_same_few_queries_however_many_proposals(client, results):
    client.get(RESULTS)  # the tally is frozen on the first visit
    with counted_statements() as statements:
        assert client.get(RESULTS).status_code == 200
    assert len(statements) <= 14, "\n".join(s[:90] for s in statements)


def test_the_catalogue_lists_laureate_services_with_licence_source_maturity_and_carrier(client, results):
    page = read(client.get(f"{RESULTS}/services"))
    assert "2 services lauréats" in page
    assert re.findall(r'<th scope="row"><a href="[^"]+/services/\d+">([^<]+)</a>', page) == [
        "Agent conversationnel municipal", "Portail famille libre"]
    for text in ("EUPL-1.2", "MIT", 'href="https://forge.example.org/portail"', "En production", "Prototype",
                 "Structure publique", "Entreprise", "non publié"):
        assert text in page
    assert "Logiciel de paie propriétaire" not in page and "Médiation numérique" not in page
    filtered = read(client.get(f"{RESULTS}/services?licence=MIT&structure=private"))
    assert "1 service lauréat" in filtered and "Agent conversationnel municipal" in filtered
    assert "Portail famille libre" not in filtered
    theme = results.consultation.themes[1].id
    assert "Aucun service lauréat ne correspond à ces critères." in text_of(
        client.get(f"{RESULTS}/services?theme={theme}"))


@pytest.mark.parametrize("query", ["licence=GPL-9", "maturity=ancienne", "structure=etat", "theme=abc",
                                   "theme=999999999999"])
def test_bad_filters_of_the_catalogue_are_explained_never_a_server_error(client, results, query):
    response = client.get(f"{RESULTS}/services?{query}")
    page = read(response)
    assert response.status_code == 200 and "N'est pas un choix valide" in page and "2 services lauréats" in page


def test_each_laureate_service_has_its_page(client, results):
    page = read(client.get(f"{RESULTS}/services/{results.portal.id}"))
    for text in ("Portail famille libre", "Service lauréat", "EUPL-1.2", "https://forge.example.org/portail",
                 "En production", "Structure publique", "40 000 €", "Restauration scolaire", "Commune du Cantal 0",
                 "Retenu pour sa réutilisabilité.", "Rural", "Déploiements"):
        assert text in page
    for proposal in (results.mediation, results.refused, results.hidden, results.original):
        assert client.get(f"{RESULTS}/services/{proposal.id}").status_code == 404
    other = make_consultation(PhaseKind.RESULTS, slug="autre")
    assert client.get(f"/consultations/autre/resultats/services/{results.portal.id}").status_code == 404
    assert client.get(f"{RESULTS}/services/99999999999").status_code == 404
    assert other.id


def test_the_consultation_page_and_the_site_map_lead_to_the_results(client, results):
    for url in ("/consultations/relance-2027", "/plan-du-site"):
        assert f'href="{RESULTS}"' in read(client.get(url)), url
    assert f'href="{RESULTS}/services"' in read(client.get("/consultations/relance-2027"))


def test_once_published_the_issue_pages_are_public_even_before_the_results_stage(client, unpublished):
    url = f"/consultations/relance-2027/comite/enjeux/{unpublished.cantines.id}"
    assert client.get(url).status_code == 302
    unpublished.consultation.results_published_at = clock.now()  # published during the selection stage
    db.session.commit()
    page = read(client.get(url))
    assert "Restauration scolaire" in page and "Portail famille libre" in page
    client.sign_in_as(make_member().user)
    assert client.get(url).status_code == 200
    listing = read(client.get("/consultations/relance-2027"))
    assert f'href="{url}">Restauration scolaire</a>' in listing


def test_in_the_results_stage_before_the_publication_the_page_says_they_come_soon(client):
    make_consultation(PhaseKind.RESULTS, slug="bientot")
    page = read(client.get("/consultations/bientot/resultats"))
    assert "ne sont pas encore publiés" in page and "La phase des résultats est ouverte depuis le" in page
