"""The open-data page and its downloads: every file listed with its size, date, licence and columns, each one
streamed with its type and name, one zip of them all, nothing before it is published."""

import hashlib
import io
import re
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock, jobs
from app.extensions import db
from app.core.jobs import Job
from app.opendata import exports, sizes
from app.votes.services import frozen_tally
from tests.factories import make_consultation, make_proposal
from tests.helpers import text_of
from tests.opendata.test_exports import SECRETS, Published


@pytest.fixture
def published():
    return Published()


def page_of(client, world) -> str:
    response = client.get(f"/consultations/{world.consultation.slug}/donnees-ouvertes")
    assert response.status_code == 200
    return text_of(response)


def download(client, slug: str, name: str):
    response = client.get(f"/consultations/{slug}/donnees-ouvertes/{name}")
    assert response.status_code == 200, name
    assert response.is_streamed
    return response


def test_the_page_lists_each_file_with_its_size_date_licence_and_columns(client, published):
    page_of(client, published)
    jobs.run_pending()  # the sizes are counted by the worker
    page = page_of(client, published)
    slug = published.consultation.slug
    for file in exports.files(published.consultation):
        assert f'href="/consultations/{slug}/donnees-ouvertes/{file.name}"' in page, file.name
    # The size shown is the size downloaded.
    body = download(client, slug, "grands-enjeux.csv").get_data()
    assert len(body) < 1024
    row = re.search(r"grands-enjeux\.csv</a></th>.*?</tr>", page, re.S).group(0)
    assert f"<td>{len(body)} octets</td>" in row
    assert 'href="https://www.etalab.gouv.fr/licence-ouverte-open-licence/"' in page
    assert "Licence Ouverte 2.0 (Etalab)" in page
    assert "<code>taxonomies/name/fr</code></th><td>Noms des thèmes de la proposition, séparés par « , ».</td>" in page
    assert "<code>id_organisation</code>" in page and "<code>hash</code>" in page
    assert f'href="/consultations/{slug}/donnees-ouvertes.zip"' in page
    assert frozen_tally(published.consultation).digest in page
    assert "<caption>Fichiers publiés</caption>" in page and '<th scope="col">Taille</th>' in page


def test_sizes_are_counted_by_a_job_asked_for_once_and_again_when_they_are_old(client, published):
    def waiting() -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
            Job.kind == sizes.KIND, Job.done_at.is_(None)))

    first = page_of(client, published)
    assert first.count("en cours de calcul") == len(exports.files(published.consultation))
    page_of(client, published)
    assert waiting() == 1  # asked for once, however many visits
    jobs.run_pending()
    assert "en cours de calcul" not in page_of(client, published) and waiting() == 0
    later = clock.now() + sizes.FRESH_FOR + timedelta(minutes=1)
    sizes.sizes(published.consultation, now=later)
    assert waiting() == 1  # old sizes are counted again; the page shows them meanwhile


def test_each_file_is_streamed_with_its_type_and_name_and_holds_the_export(client, published):
    slug = published.consultation.slug
    for file in exports.files(published.consultation):
        response = download(client, slug, file.name)
        assert response.headers["Content-Type"] == exports.MEDIA_TYPES[file.format]
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="{file.dataset.name}-{slug}.{file.format}"')
        assert response.get_data() == b"".join(exports.content(published.consultation, file))
    tally = download(client, slug, "soutiens.csv").get_data()
    assert hashlib.sha256(tally).hexdigest() in page_of(client, published)


def test_the_zip_holds_every_file_as_downloaded(client, published):
    slug = published.consultation.slug
    response = client.get(f"/consultations/{slug}/donnees-ouvertes.zip")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="donnees-ouvertes-{slug}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        published_names = [file.name for file in exports.files(published.consultation)]
        assert [name for name in names if name != "soutiens.csv.sha256"] == published_names
        for name in published_names:
            assert archive.read(name) == download(client, slug, name).get_data(), name
            assert archive.getinfo(name).compress_type == zipfile.ZIP_DEFLATED
        # As `sha256sum --check soutiens.csv.sha256` reads it, in the unzipped folder.
        digest, name = archive.read("soutiens.csv.sha256").decode().split()
        assert name == "soutiens.csv" and digest == hashlib.sha256(archive.read(name)).hexdigest()
        assert digest == frozen_tally(published.consultation).digest


def test_a_file_not_published_yet_is_not_found_and_the_page_says_when_it_comes(client):
    world = Published(phase=PhaseKind.SELECTION, published=False)
    slug = world.consultation.slug
    for name in ("reponses.csv", "grands-enjeux.json", "inconnu.csv", "propositions.xml"):
        assert client.get(f"/consultations/{slug}/donnees-ouvertes/{name}").status_code == 404, name
    page = page_of(client, world)
    assert "Réponses et lauréats : Les réponses du comité et les lauréats seront publiés" in page
    assert "reponses.csv" not in page
    assert client.get("/consultations/inconnue/donnees-ouvertes").status_code == 404


def test_during_the_support_window_the_supports_wait_for_the_tally(client):
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    make_proposal(consultation, title="Une contribution")
    db.session.commit()
    assert client.get(f"/consultations/{consultation.slug}/donnees-ouvertes/soutiens.csv").status_code == 404
    page = text_of(client.get(f"/consultations/{consultation.slug}/donnees-ouvertes"))
    assert "Les soutiens seront publiés à la fin de la période de soutien" in page
    body = download(client, consultation.slug, "propositions.csv").get_data(as_text=True)
    assert "Une contribution" in body


def test_nothing_hidden_reaches_the_page_or_the_zip(client):
    world = Published(supporters_hidden=True, only_supporter="Supporter caché")
    zipped = client.get(f"/consultations/{world.consultation.slug}/donnees-ouvertes.zip").get_data()
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        everything = page_of(client, world) + "".join(archive.read(name).decode() for name in archive.namelist())
    for secret in SECRETS:
        assert secret not in everything, secret


def test_the_consultation_and_results_pages_lead_to_the_open_data(client, published):
    target = f'href="/consultations/{published.consultation.slug}/donnees-ouvertes"'
    assert target in text_of(client.get(f"/consultations/{published.consultation.slug}"))
    assert target in text_of(client.get(f"/consultations/{published.consultation.slug}/resultats"))
