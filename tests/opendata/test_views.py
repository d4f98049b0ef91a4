"""What visitors see of proposals imported from Decidim: the pages and the API; and admins, the log."""

from tests.factories import make_user
from tests.helpers import text_of
from tests.opendata.test_decidim import NEWER, OLDER, imported, run_import


def test_imported_proposals_are_listed_and_their_page_shows_decidim_votes_apart_from_supports(app, client):
    run_import(app, OLDER)
    proposals = imported()
    listing = text_of(client.get("/consultations/budget-2019/propositions"))
    assert "Composteurs collectifs dans les quartiers" in listing
    assert "Proposition masquée par la modération" not in listing  # hidden in Decidim, hidden here
    page = text_of(client.get(f"/propositions/{proposals[101].id}"))
    assert "12 votes dans Decidim (importés)" in page
    assert "0 soutien" in page
    assert 'href="https://decidim.example.org/processes/budget/f/12/proposals/101"' in page
    assert "Importée de Decidim : voir la proposition d'origine" in page
    assert "alert(" not in page and "Le problème" not in page
    hidden = text_of(client.get(f"/propositions/{proposals[105].id}"))
    assert "Contribution en cours de modération" in hidden


def test_the_api_gives_imported_votes_and_the_decidim_address_beside_the_supports(app, client):
    run_import(app, NEWER)
    proposals = imported()
    body = client.get(f"/api/v1/proposals/{proposals[201].id}").get_json()
    assert (body["imported_vote_count"], body["support_count"]) == (5, 0)
    assert body["decidim"] == {"id": 201, "url": "https://decidim.example.org/processes/ville-2024/f/7/proposals/201"}
    assert body["published_at"] == "2024-03-01T09:00:00+00:00"
    listed = client.get("/api/v1/consultations/budget-2019/proposals?per_page=100").get_json()
    by_title = {item["title"]: item for item in listed["items"]}
    assert by_title["Budget participatif des écoles"]["imported_vote_count"] is None
    assert "Only in English" not in by_title  # withdrawn in Decidim


def test_the_audit_log_says_the_platform_made_the_consultation_the_organization_and_the_import(app, client):
    run_import(app, OLDER)
    proposal = imported()[101]
    client.sign_in_as(make_user(is_admin=True))
    log = text_of(client.get("/admin/journal"))
    consultation = (f'« <a href="/admin/consultations/{proposal.consultation_id}/modifier">'
                    'Consultation importée de Decidim (decidim-0.27.csv)</a> »')
    assert f"La plateforme a créé la consultation {consultation}" in log
    assert f"La plateforme a importé des propositions Decidim dans la consultation {consultation}" in log
    assert "<li>Fichier : decidim-0.27.csv</li><li>Importées : 4</li><li>Mises à jour : 0</li>" in log
    assert ("La plateforme a ajouté l'organisation "
            f'« <a href="/collectivites/{proposal.organization_id}">Import Decidim</a> »') in log
    assert "SIREN" not in log  # an association the platform adds has none
