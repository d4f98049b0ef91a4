"""The back office's home and consultation form through HTTP: labels, amounts and dates as people type them."""

import re

import pytest
import sqlalchemy as sa

from app.consultations.models import Consultation, PhaseKind
from app.extensions import db
from tests.consultations.test_views import consultation_form
from tests.factories import make_consultation
from tests.helpers import text_of

NEW = "/admin/consultations/nouvelle"


def count_consultations() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Consultation))


def field_error(page: str, field: str) -> str:
    """The error shown right under `field`, tied to it."""
    found = re.search(rf'<p id="{field}-erreur" class="fr-error-text">([^<]*)</p>', page)
    return found.group(1) if found else ""


def test_the_home_lists_each_consultation_with_its_supports_journal(client, admin):
    consultation = make_consultation()
    page = text_of(client.get("/admin/"))
    journal = f"/admin/consultations/{consultation.id}/soutiens"
    assert (f'<a href="{journal}">journal des soutiens<span class="fr-sr-only"> {consultation.title}</span></a>'
            in page)
    assert client.get(journal).status_code == 200


def test_the_consultation_form_names_settings_in_french_and_says_what_they_do(client, admin):
    page = text_of(client.get(NEW))
    labels = re.findall(r'<label class="fr-label" for="[^"]+">([^<]*)', page)
    assert labels and not [label for label in labels if "_" in label]  # no setting named by its code
    assert re.search(r'for="vote_limit">Soutiens par organisation\s', page)
    assert ('id="vote_limit-aide">Combien de propositions chaque organisation peut soutenir ; 0 : sans limite. '
            'Dans Decidim : vote_limit.</span>') in page
    assert "Dans Decidim : minimum_votes_per_user." in page and "Dans Decidim : threshold_per_proposal." in page
    assert ('id="budget_envelope-aide">En euros : le montant que les lauréats se partagent, '
            'par exemple 12 000 000 €.</span>') in page


def test_the_budget_is_typed_and_shown_as_a_french_amount(client, admin):
    response = client.post_form(NEW, consultation_form(budget_envelope="12 000 000 €"), follow_redirects=True)
    assert "Consultation enregistrée" in text_of(response)
    consultation = db.session.scalars(sa.select(Consultation)).one()
    assert consultation.budget_envelope_cents == 12_000_000_00
    assert 'value="12 000 000"' in text_of(client.get(f"/admin/consultations/{consultation.id}/modifier"))
    client.post_form(f"/admin/consultations/{consultation.id}/modifier",
                     consultation_form(budget_envelope="1\u202f234\u00a0567,80"))
    db.session.refresh(consultation)
    assert consultation.budget_envelope_cents == 1_234_567_80
    assert 'value="1 234 567,80"' in text_of(client.get(f"/admin/consultations/{consultation.id}/modifier"))


@pytest.mark.parametrize("typed, message", [
    *[(amount, "Indiquez un montant en euros positif ou nul, avec deux décimales au plus, "
               "par exemple 12 000 000 ou 1 234,50.") for amount in ("sNaN", "NaN", "Infinity", "1e400", "-5")],
    ("1 000 000 000 001", "Le montant ne peut pas dépasser 1 000 000 000 000 €."),
])
def test_a_budget_that_is_no_amount_is_a_french_error_next_to_the_field(client, admin, typed, message):
    response = client.post_form(NEW, consultation_form(budget_envelope=typed))
    assert response.status_code == 200
    page = text_of(response)
    assert field_error(page, "budget_envelope") == message and "Le formulaire contient 1 erreur" in page
    assert f'value="{typed}"' in page  # what was typed, to correct it
    assert count_consultations() == 0


@pytest.mark.parametrize("field, typed", [("collect_starts_at", "0001-01-01T00:00"),
                                          ("results_ends_at", "9999-12-31T23:59"),
                                          ("support_starts_at", "01/04/1900 00:00")])
def test_a_date_out_of_range_is_a_french_error_next_to_the_field(client, admin, field, typed):
    response = client.post_form(NEW, consultation_form(**{field: typed}))
    assert response.status_code == 200
    assert field_error(text_of(response), field) == "L'année doit être comprise entre 2000 et 2100."
    assert count_consultations() == 0


def test_an_edit_with_a_date_out_of_range_changes_nothing(client, admin):
    consultation = make_consultation(PhaseKind.COLLECT)
    collect = consultation.phase(PhaseKind.COLLECT)
    starts_at, title = collect.starts_at, consultation.title
    response = client.post_form(f"/admin/consultations/{consultation.id}/modifier",
                                consultation_form(collect_starts_at="0001-01-01T00:00", title="Autre titre"))
    assert field_error(text_of(response), "collect_starts_at") == "L'année doit être comprise entre 2000 et 2100."
    db.session.expire_all()
    assert (consultation.title, consultation.phase(PhaseKind.COLLECT).starts_at) == (title, starts_at)


def test_the_admin_lets_organizations_support_their_own_proposals_by_a_box_off_by_default(client, admin):
    client.post_form(NEW, consultation_form())
    consultation = db.session.scalars(sa.select(Consultation)).one()
    assert consultation.can_support_own_proposals is False
    edit = f"/admin/consultations/{consultation.id}/modifier"
    assert "Une organisation peut soutenir ses propres propositions" in text_of(client.get(edit))
    client.post_form(edit, consultation_form(can_support_own_proposals="y"))
    db.session.refresh(consultation)
    assert consultation.can_support_own_proposals is True
    box = re.search(r'<input[^>]*name="can_support_own_proposals"[^>]*>', text_of(client.get(edit))).group(0)
    assert "checked" in box
