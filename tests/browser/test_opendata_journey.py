"""A visitor downloads the open data of a consultation whose results are published and checks the tally's
digest against the file they downloaded; then reads the statistics and the API's documentation.

In Chromium, with an accessibility check on every page visited.
"""

import hashlib
import io
import re
import zipfile

import pytest

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import make_consultation, make_counted_support, make_organization, make_proposal
from tests.helpers import run_jobs

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

SLUG = "numerique-ouvert-2027"
# title, kind, supporting communes
PROPOSALS = [("Portail famille mutualisé", "service", 3), ("Médiation numérique itinérante", "need", 2),
             ("Coffre-fort numérique des agents", "service", 1)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def size_label(data: bytes) -> str:
    """The size as the page writes it, for the small files of this journey."""
    assert len(data) < 1024
    return f"{len(data)} octet" if len(data) == 1 else f"{len(data)} octets"


def test_a_visitor_downloads_the_open_data_and_checks_the_tally_digest(page, live_app):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.RESULTS, slug=SLUG)  # the support window has closed
        communes = [make_organization(name, siren=siren) for name, siren in (
            ("Aurillac", "211500145"), ("Mauriac", "211501200"), ("Riom-ès-Montagnes", "211501622"))]
        for title, kind, supporters in PROPOSALS:
            proposal = make_proposal(consultation, communes[0], kind=kind, title=title)
            for commune in communes[:supporters]:
                make_counted_support(proposal, commune)
        consultation.results_published_at = clock.now()
        db.session.commit()
        db.session.remove()
    main = page.get_by_role("main")

    page.goto(f"/consultations/{SLUG}")
    main.get_by_role("link", name="Données ouvertes").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Données ouvertes")
    files = main.get_by_role("table", name="Fichiers publiés")
    expect(files.get_by_role("row", name="soutiens.csv")).to_contain_text("en cours de calcul")
    check_accessibility(page)
    with live_app.app_context():
        run_jobs()  # the worker counts the sizes
    page.reload()
    expect(files).not_to_contain_text("en cours de calcul")
    check_accessibility(page)
    licence = main.get_by_role("link", name="Licence Ouverte 2.0 (Etalab)")
    expect(licence).to_have_attribute("href", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
    listed = files.locator("tbody th[scope=row]").all_inner_texts()
    assert {"propositions.csv", "soutiens.csv", "soutiens.pb", "reponses.csv", "organisations.csv"} <= set(listed)
    shown_digest = main.locator("p", has_text="Empreinte SHA-256 du fichier soutiens.csv").locator("code").inner_text()

    # The supports file, downloaded through its link: its digest is the one the page shows.
    with page.expect_download() as info:
        files.get_by_role("link", name="soutiens.csv", exact=True).click()
    tally_file = info.value
    assert tally_file.suggested_filename == f"soutiens-{SLUG}.csv"
    tally = tally_file.path().read_bytes()
    lines = tally.decode().splitlines()
    assert len(lines) == 1 + sum(supporters for _title, _kind, supporters in PROPOSALS)  # a header, a line a support
    assert "Riom-ès-Montagnes;211501622" in tally.decode()
    assert sha256(tally) == shown_digest
    expect(files.get_by_role("row", name="soutiens.csv")).to_contain_text(size_label(tally))

    # The zip holds every file the page lists, the supports file as downloaded on its own.
    with page.expect_download() as info:
        main.get_by_role("link", name="Télécharger tous les fichiers (zip)").click()
    assert info.value.suggested_filename == f"donnees-ouvertes-{SLUG}.zip"
    with zipfile.ZipFile(io.BytesIO(info.value.path().read_bytes())) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted([*listed, "soutiens.csv.sha256"])
        assert archive.read("soutiens.csv") == tally
        assert sha256(archive.read("soutiens.csv")) == shown_digest
        assert archive.read("soutiens.csv.sha256").decode() == f"{shown_digest}  soutiens.csv\n"

    # The tally page, reached from the digest's explanation, publishes the same digest.
    main.get_by_role("link", name="comment la recalculer").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Décompte des soutiens")
    expect(main.locator("dt", has_text="Empreinte SHA-256 du fichier").locator("+ dd")).to_have_text(shown_digest)
    expect(main).to_contain_text(f"sha256sum soutiens-{SLUG}.csv")
    check_accessibility(page)
    with page.expect_download() as info:
        main.get_by_role("link", name="Télécharger la liste des soutiens (CSV)").click()
    assert info.value.path().read_bytes() == tally

    page.goto(f"/consultations/{SLUG}")
    main.get_by_role("link", name="Statistiques").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Statistiques")
    expect(main).to_contain_text("3 (1 besoin, 2 services numériques)")
    expect(main.locator("dt", has_text="Soutiens comptés").locator("+ dd")).to_have_text("6")
    check_accessibility(page)

    page.get_by_role("contentinfo").get_by_role("link", name="Plan du site").click()
    main.get_by_role("link", name="API de données ouvertes").click()
    expect(page).to_have_url(re.compile(r"/api/v1/docs$"))
    expect(main).to_contain_text("Les données sont publiées sous Licence Ouverte 2.0")
    expect(main.get_by_role("link", name="Le document OpenAPI 3.1 (JSON), d'où cette page est tirée")).to_be_visible()
    check_accessibility(page)
