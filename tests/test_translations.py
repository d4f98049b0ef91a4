"""The interface speaks French, and English on request: every string has its entry in both catalogs.

The catalogs are read as .po files, so these tests need no compiled .mo file; the pages are
rendered with the catalogs that conftest's `compiled_translations` compiles for the session.
"""

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import ngettext

from config import LANGUAGES, ROOT
from tests.factories import make_consultation, make_proposal, make_user
from tests.helpers import text_of

SOURCE_FOLDERS = ("app", "templates")
FRENCH_PLURAL_FORMS = "nplurals=2; plural=(n > 1);"
TO_FIX = ("Run `make messages`, translate the new entries of translations/en/LC_MESSAGES/messages.po "
          "(empty msgstr, or marked fuzzy: check the suggestion and remove the flag), then `make translations`.")


def makefile_keywords() -> list[str]:
    """The gettext keywords `make messages` passes to pybabel, so that both extract the same strings."""
    line = re.search(r"^BABEL_KEYWORDS\s*:?=(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line, "The Makefile no longer defines BABEL_KEYWORDS, which `make messages` and this test share."
    return re.findall(r"-k\s*(\S+)", line.group(1))


def _in_sources(dirpath: str) -> bool:
    # Unlike Babel's default filter, folders starting with "_" (templates/_macros) are searched.
    parts = Path(dirpath).relative_to(ROOT).parts
    return parts[0] in SOURCE_FOLDERS and not any(part.startswith(".") or part == "__pycache__" for part in parts)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    """Every message the code and templates hold today, extracted as `make messages` does."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(makefile_keywords())}
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords, directory_filter=_in_sources):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(language: str) -> Catalog:
    path = ROOT / "translations" / language / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path.relative_to(ROOT)} is missing. {TO_FIX}"
    with path.open("rb") as po_file:
        return read_po(po_file)


def _show(message) -> str:
    return repr(message.id[0] if message.pluralizable else message.id)


def test_extraction_finds_lazy_plural_and_block_strings(extracted):
    assert "Mot de passe" in extracted  # lazy_gettext, as _l, in a form
    assert "Le formulaire contient %(num)d erreur" in extracted  # ngettext in templates/_macros
    assert "Votre collectivité a utilisé son soutien." in extracted  # ngettext in Python
    assert any(str(message.id).startswith("Bonjour %(name)s,") for message in extracted)  # {% trans %}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_code_has_its_translation(extracted, language):
    catalog = read_catalog(language)
    assert not catalog.fuzzy, (f"translations/{language}/LC_MESSAGES/messages.po is marked fuzzy in its header: "
                               "pybabel compile skips it. Remove the '#, fuzzy' above the first msgid.")
    problems = []
    for message in extracted:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            problems.append(f"{_show(message)}: missing")
        elif entry.id != message.id:
            problems.append(f"{_show(message)}: its plural form changed")
        elif entry.fuzzy:
            problems.append(f"{_show(message)}: marked fuzzy")
        elif not all(entry.string if entry.pluralizable else (entry.string,)):
            problems.append(f"{_show(message)}: not translated")
    assert not problems, (f"{len(problems)} message(s) of the code lack a translation in "
                          f"translations/{language}/LC_MESSAGES/messages.po:\n  " + "\n  ".join(problems)
                          + f"\n{TO_FIX}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    errors = [f"{_show(message)}: {'; '.join(map(str, found))}" for message, found in read_catalog(language).check()]
    assert not errors, "pybabel compile would refuse these entries:\n  " + "\n  ".join(errors)


def test_the_french_catalog_repeats_the_source_and_carries_the_french_plural_rule():
    catalog = read_catalog("fr")
    assert catalog.plural_forms == FRENCH_PLURAL_FORMS
    changed = [_show(message) for message in catalog
               if message.id and message.string != (tuple(message.id) if message.pluralizable else message.id)]
    assert not changed, ("The French catalog must repeat each msgid; regenerate it with "
                         "`make messages` (scripts/fill_source_catalog.py):\n  " + "\n  ".join(changed))


def test_french_counts_zero_in_the_singular(app):
    with app.test_request_context("/"):
        assert render_template_string('{{ ngettext("%(num)d soutien", "%(num)d soutiens", 0) }}') == "0 soutien"
        assert render_template_string('{{ ngettext("%(num)d soutien", "%(num)d soutiens", 2) }}') == "2 soutiens"
        assert ngettext("%(num)d commentaire", "%(num)d commentaires", 0) == "0 commentaire"


def test_a_page_without_contributions_says_so_in_the_singular_in_french_plural_in_english(client):
    consultation = make_consultation("collect")
    page = text_of(client.get(f"/consultations/{consultation.slug}/propositions"))
    assert "0 contribution<" in page

    client.post_form("/langue", {"language": "en"})
    page = text_of(client.get(f"/consultations/{consultation.slug}/propositions"))
    assert "0 contributions<" in page


def test_the_footer_switches_the_interface_to_english_and_back(client):
    home = text_of(client.get("/"))
    assert '<html lang="fr"' in home and "Aucune consultation n'est ouverte pour l'instant." in home
    assert "Consultations des collectivités territoriales" in home
    assert ">English</button>" in home

    response = client.post_form("/langue", {"language": "en", "next": "/compte/connexion"})
    assert response.status_code == 302 and response.headers["Location"] == "/compte/connexion"

    home = text_of(client.get("/"))
    assert '<html lang="en"' in home
    assert "No consultation is open at the moment." in home and "Local authorities" in home
    assert "Consultations of local authorities" in home and "Consultations des collectivités" not in home
    assert "Aucune consultation" not in home and ">Français</button>" in home
    sign_in = text_of(client.get("/compte/connexion"))
    assert "<h1" in sign_in and "Sign in" in sign_in and "Forgotten your password?" in sign_in
    assert "Email address" in sign_in and "Mot de passe" not in sign_in

    client.post_form("/langue", {"language": "fr", "next": "/"})
    sign_in = text_of(client.get("/compte/connexion"))
    assert '<html lang="fr"' in sign_in and "Mot de passe oublié ?" in sign_in and "Sign in" not in sign_in


def test_an_unknown_language_changes_nothing(client):
    client.post_form("/langue", {"language": "de"})
    assert '<html lang="fr"' in text_of(client.get("/"))


def test_reading_pages_sets_no_cookie_and_the_switcher_needs_none(client):
    """The footer's switcher carries no CSRF token, so reading a page leaves nothing in the browser."""
    proposal = make_proposal(make_consultation("support"))
    for url in ("/", f"/propositions/{proposal.id}", "/collectivites/", "/soutiens/verifier"):
        response = client.get(url)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, url

    response = client.post("/langue", data={"language": "en", "next": f"/propositions/{proposal.id}"})
    assert response.status_code == 302 and "Set-Cookie" in response.headers
    assert '<html lang="en"' in text_of(client.get(f"/propositions/{proposal.id}"))


def test_another_sites_form_can_neither_switch_the_language_nor_sign_anyone_out(app, client):
    cross_site = {"Sec-Fetch-Site": "cross-site"}
    # A browser sends no SameSite=Lax cookie with another site's form: the server sees a stranger,
    # and a cookie in its answer would replace the visitor's session.
    forged = app.test_client().post("/langue", data={"language": "en"}, headers=cross_site)
    assert forged.status_code == 400 and "Set-Cookie" not in forged.headers

    user = make_user()
    client.sign_in_as(user)
    assert client.post("/langue", data={"language": "en"}, headers=cross_site).status_code == 400
    page = text_of(client.get("/"))
    assert '<html lang="fr"' in page and "Se déconnecter" in page and user.locale == "fr"
    mine = client.post("/langue", data={"language": "en"}, headers={"Sec-Fetch-Site": "same-origin"})
    assert mine.status_code == 302 and user.locale == "en"
