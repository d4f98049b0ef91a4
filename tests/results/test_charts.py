"""Charts drawn on the server: accessible SVG (role, title, description), no inline style, escaped text,
the map's classes and its legend, the same figures as the data table."""

import re

import pytest

from app.core import charts
from app.core.france_grid import DEPARTEMENTS


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def test_a_bar_chart_is_an_image_named_by_its_title_and_description_with_a_bar_per_row():
    chart = charts.bar_chart("barres", "Soutiens par grand enjeu", "Le plus élevé : Cantines (1 234).",
                             [("Cantines", 1234), ("Voirie", 617), ("Vide", 0)], headers=("Grand enjeu", "Soutiens"))
    svg = str(chart.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="barres-titre barres-desc"' in svg
    assert '<title id="barres-titre">Soutiens par grand enjeu</title>' in svg
    assert '<desc id="barres-desc">Le plus élevé : Cantines (1 234).</desc>' in svg
    widths = [float(width) for width in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths == [630.0, 315.0]  # no bar for zero, the longest spanning what the values leave
    assert "1\u202f234" in svg or "1 234" in svg or "1\xa0234" in svg
    assert chart.rows == [("Cantines", 1234), ("Voirie", 617), ("Vide", 0)] and not chart.is_empty
    assert "style" not in svg and "<script" not in svg


def test_labels_are_escaped_and_long_ones_shortened_in_the_image_only():
    long_label = "<script>alert(1)</script> " + "très long titre " * 10
    chart = charts.bar_chart("x", "T & D", "D", [(long_label, 3)], headers=("A", "B"))
    svg = str(chart.svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "T &amp; D" in svg
    assert "…" in svg and chart.rows[0][0] == long_label
    assert charts.bar_chart("vide", "T", "D", [("A", 0)], headers=("A", "B")).is_empty


def test_classes_split_the_positive_values_into_ranges_of_similar_sizes():
    assert charts.classes([]) == [] and charts.classes([0, 0]) == []
    assert charts.classes([5, 5, 5]) == [(5, 5)]
    assert charts.classes([1, 2, 3]) == [(1, 1), (2, 2), (3, 3)]
    assert charts.classes(range(1, 101)) == [(1, 25), (26, 50), (51, 75), (76, 100)]
    assert charts.classes([1] * 10 + [50, 900]) == [(1, 1), (2, 50), (51, 900)]


def test_the_map_has_a_tile_per_departement_with_its_code_and_count_and_a_legend_in_words():
    counts = {"15": 12, "2A": 1, "971": 3, "75": 40, None: 2, "999": 5, "977": 2}
    chart = charts.departement_map("carte", "Participation", "Carte.", counts, headers=("Département", "Organisations"))
    svg = str(chart.svg)
    assert svg.count("<g><title>") == len(DEPARTEMENTS) == 109
    assert "<title>Cantal (15) : 12</title>" in svg and "<title>Corse-du-Sud (2A) : 1</title>" in svg
    assert "<title>Guadeloupe (971) : 3</title>" in svg and "<title>Ain (01) : 0</title>" in svg
    assert ">Outre-mer<" in svg and ">Légende<" in svg
    legend = re.findall(r">([^<]*)</text>", svg.split(">Légende<")[1])
    assert legend == ["0", "1 à 2", "3", "4 à 12", "13 à 40"]  # the tiles' classes (not the table-only 5), in words
    assert 'fill="#000091"' in svg and 'fill="#f6f6f6"' in svg and "style" not in svg
    # The table: every count, largest first, unknown places in the table only.
    assert chart.rows == [("Paris (75)", 40), ("Cantal (15)", 12), ("999", 5), ("Guadeloupe (971)", 3),
                          ("Saint-Barthélemy (977)", 2), ("Sans département", 2), ("Corse-du-Sud (2A)", 1)]


def test_the_grid_places_each_departement_on_its_own_tile():
    cells = [(column, row) for _, column, row in DEPARTEMENTS.values()]
    assert len(set(cells)) == len(cells)
    assert {f"{number:02d}" for number in range(1, 96) if number != 20} | {"2A", "2B", "971", "972", "973", "974",
                                                                            "976"} <= set(DEPARTEMENTS)
