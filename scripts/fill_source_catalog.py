"""Regenerate the French catalog from translations/messages.pot: every msgstr is its msgid.

French is the source language, so its catalog translates nothing; it exists for its header's
plural rule (nplurals=2; plural=(n > 1)). Without it gettext falls back to English rules and
writes "0 soutiens" where French writes "0 soutien". Run by `make messages`.
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
SOURCE_CATALOG = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
FRENCH_PLURAL_FORMS = "nplurals=2; plural=(n > 1);"
HEADER_COMMENT = """\
# Agora's French catalog. French is the source language: every msgstr repeats its msgid.
# Do not edit: `make messages` regenerates this file (scripts/fill_source_catalog.py) from
# translations/messages.pot. It exists for the French plural rule in its header."""


def source_catalog(template: Catalog) -> Catalog:
    """The identity catalog of `template`: msgstr = msgid, msgstr[0]/[1] = singular/plural."""
    catalog = Catalog(locale="fr", domain="messages", project=template.project, version=template.version,
                      copyright_holder=template.copyright_holder, msgid_bugs_address=template.msgid_bugs_address,
                      creation_date=template.creation_date, revision_date=template.creation_date,
                      last_translator="Agora", language_team="Agora", fuzzy=False, header_comment=HEADER_COMMENT)
    for message in template:
        if not message.id:  # the header
            continue
        string = tuple(message.id) if message.pluralizable else message.id
        catalog.add(message.id, string, locations=message.locations, flags=message.flags - {"fuzzy"},
                    auto_comments=message.auto_comments, user_comments=message.user_comments,
                    context=message.context)
    # Set, not taken from Babel's locale data: since Babel 2.17 (CLDR 46) it adds a third form for
    # round millions, which no msgstr of ours writes.
    catalog.mime_headers = [("Plural-Forms", FRENCH_PLURAL_FORMS)]
    return catalog


def main() -> int:
    if not TEMPLATE.exists():
        print(f"{TEMPLATE.relative_to(ROOT)} is missing: run `make messages`.", file=sys.stderr)
        return 1
    with TEMPLATE.open("rb") as fileobj:
        template = read_po(fileobj)
    catalog = source_catalog(template)
    SOURCE_CATALOG.parent.mkdir(parents=True, exist_ok=True)
    with SOURCE_CATALOG.open("wb") as fileobj:
        write_po(fileobj, catalog, width=0)
    print(f"{SOURCE_CATALOG.relative_to(ROOT)}: {len(catalog)} messages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
