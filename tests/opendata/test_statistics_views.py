"""The public statistics page: the figures a visitor reads, each chart's data table saying what its image draws,
the supports' figures replaced by a notice while counts are hidden or before supports open, the link to it."""

import re

import pytest

from app.consultations.models import PhaseKind
from app.demo import load_demo
from app.extensions import db
from app.votes.services import tally_rows
from tests.factories import make_consultation, seat
from tests.helpers import text_of
from tests.opendata.test_statistics import Built


def page_of(client, consultation) -> str:
    response = client.get(f"/consultations/{consultation.slug}/statistiques")
    assert response.status_code == 200
    return re.sub(r"[\u00a0\u202f]", " ", text_of(response))


def plain(page: str) -> str:
    """The page's text as read, tags and images left out, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))


def chart(page: str, key: str) -> tuple[str, list[tuple[str, ...]]]:
    """The chart `key`'s image, and the rows of its data table (header cell, then the numbers)."""
    section = page[page.index(f'id="{key}"'):]
    svg = re.search(r"<svg.*?</svg>", section, flags=re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", section, flags=re.S).group(1)
    rows = [tuple(cell.strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]
    return svg, rows


def test_a_visitor_reads_the_key_figures(client):
    built = Built()
    text = plain(page_of(client, built.consultation))
    assert "Contributions publiées 4 (2 besoins, 2 services numériques)" in text
    assert "Organisations contributrices 3" in text
    assert "Soutiens comptés 6" in text and "Organisations participantes 3" in text
    assert "Organisations admises à soutenir 5" in text and "Taux de participation 60 %" in text
    assert "au moins 2 soutiens" in text  # how supports are counted, with the tally's link


def test_the_contributions_table_gives_what_each_column_draws_and_the_running_total(client):
    built = Built()
    svg, rows = chart(page_of(client, built.consultation), "contributions-dans-le-temps")
    assert rows == [("4 janvier 2027", "1", "1"), ("5 janvier 2027", "0", "1"), ("6 janvier 2027", "2", "3"),
                    ("7 janvier 2027", "0", "3"), ("8 janvier 2027", "1", "4")]
    assert re.findall(r"<title>([^<]+) : (\d+)</title>", svg) == [(label, count) for label, count, _total in rows]
    assert 'role="img"' in svg and "4 contributions publiées en tout" in svg


def test_needs_and_services_per_theme_are_drawn_and_tabled_alike(client):
    built = Built()
    svg, rows = chart(page_of(client, built.consultation), "besoins-et-services-par-theme")
    assert rows == [("Démarches en ligne", "2", "0"), ("Inclusion numérique", "1", "1"), ("Sans thème", "0", "1")]
    drawn = re.findall(r">(Besoins|Services numériques) : (\d+)<", svg)
    assert drawn == [(name, value) for _theme, *values in rows for name, value in zip(
        ("Besoins", "Services numériques"), values)]


def test_supports_and_participants_are_drawn_and_tabled_alike(client):
    built = Built()
    page = page_of(client, built.consultation)
    svg, rows = chart(page, "soutiens-dans-le-temps")
    assert rows == [("20 janvier 2027", "1", "1"), ("21 janvier 2027", "1", "2"), ("22 janvier 2027", "3", "5"),
                    ("23 janvier 2027", "1", "6")]
    assert re.findall(r"<title>([^<]+) : (\d+)</title>", svg) == [(label, count) for label, count, _total in rows]
    svg, rows = chart(page, "participants-par-type")
    assert rows == [("Commune", "1"), ("Intercommunalité (EPCI)", "1"), ("Région", "1")]
    assert all(f">{label}<" in svg for label, _count in rows)
    svg, rows = chart(page, "participants-par-region")
    assert rows == [("Auvergne-Rhône-Alpes", "2"), ("Sans région", "1")]
    svg, rows = chart(page, "participation-par-departement")
    assert rows == [("Sans département", "2"), ("Cantal (15)", "1")]
    assert "<title>Cantal (15) : 1</title>" in svg and "<title>Corse-du-Sud (2A) : 0</title>" in svg


def test_while_counts_are_hidden_the_page_says_so_and_shows_no_support_figure_but_to_the_committee(client):
    hidden = Built(PhaseKind.SUPPORT, votes_hidden=True)
    page = page_of(client, hidden.consultation)
    text = plain(page)
    assert "Les soutiens restent masqués jusqu'à la fin de la période de soutiens" in text
    assert "Soutiens comptés" not in text and "Taux de participation" not in text
    assert 'id="soutiens-dans-le-temps"' not in page and 'id="participation-par-departement"' not in page
    assert "Contributions publiées 4" in text  # contributions stay public
    client.sign_in_as(seat(hidden.consultation).user)
    assert "Soutiens comptés 6" in plain(page_of(client, hidden.consultation))


def test_before_supports_open_the_page_says_when(client):
    consultation = make_consultation(PhaseKind.COLLECT)
    text = plain(page_of(client, consultation))
    assert "Les soutiens ouvriront le" in text and "Taux de participation" not in text
    assert "Aucune donnée pour l'instant." in text  # no contribution yet


def test_the_consultation_page_links_to_its_statistics_and_an_unknown_one_is_not_found(client):
    built = Built()
    slug = built.consultation.slug
    assert f'href="/consultations/{slug}/statistiques"' in text_of(client.get(f"/consultations/{slug}"))
    assert client.get("/consultations/inconnue/statistiques").status_code == 404


@pytest.mark.parametrize("phase", [PhaseKind.COLLECT, PhaseKind.RESULTS])  # before supports, and all done
def test_the_demo_shows_its_statistics(client, phase):
    consultation = load_demo(phase)
    db.session.commit()
    page = page_of(client, consultation)
    _svg, published = chart(page, "contributions-dans-le-temps")
    assert int(published[-1][2]) >= 60  # the running total: every demo contribution
    if phase == PhaseKind.COLLECT:
        assert "Les soutiens ouvriront le" in plain(page)
    else:
        _svg, supports = chart(page, "soutiens-dans-le-temps")
        assert int(supports[-1][2]) == len(tally_rows(consultation)) > 20
        assert f"Soutiens comptés {len(tally_rows(consultation))}" in plain(page)
