"""Decidim's proposals export (CSV) brought into a consultation, so that a committee works on a past one.

Reading is pure: `read_export` turns the file into one `Line` per record, holding a proposal or the
reason it is skipped. Writing is `import_batch`: one savepoint per line, so that a line the rules or
the database refuse costs only itself. `flask --app wsgi decidim import` runs both and commits per
batch. Both column layouts are read: Decidim 0.27 and older (`category/*`, `scope/*`,
`endorsements/*`, plain `title` and `body` on some instances) and 0.28+ (`taxonomies/*`, `likes/*`);
translated fields are `<field>/<locale>`, the separator `;`.
"""

import csv
import enum
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _, ngettext
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.accounts.services import system_account
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import calendar_around
from app.consultations.services import ConsultationInput, open_consultation_for_platform, themes_named
from app.core import audit, clock
from app.core.errors import RuleViolation
from app.core.markdown import html_to_markdown, html_to_text
from app.extensions import db
from app.organizations.models import Organization, OrganizationKind
from app.organizations.services import organization_for_imports
from app.proposals.models import Proposal, ProposalKind, ProposalState, ProposalVersion
from app.proposals.services import TITLE_LENGTH, Provenance, ProposalInput, import_proposal, reimport_proposal

DEFAULT_ORGANIZATION = "Import Decidim"
AUTHOR_EMAIL = "import-decidim@agora.invalid"
AUTHOR_NAME = "Import Decidim"
LOCALE = "fr"  # the language read first among a translated field's columns
SUMMARY_LENGTH = 300  # a summary derived from the body: its first sentences, as a lead
DERIVED_TITLE_LENGTH = 100  # a title derived from the body, when the line has none
THEME_LENGTH = 120  # the columns' lengths
URL_LENGTH = 500
CONSULTATION_TITLE_LENGTH = 200
# A savepoint per line lets a line the database refuses cost only itself. Measured on the real export
# (196 lines, 1 to 3 s on SQLite and PostgreSQL on a busy 2-core machine): its two statements per line
# made no difference beyond the spread between runs. A batch is committed at once, which bounds how long
# an import holds SQLite's write lock at a time.
BATCH_SIZE = 100
TRUE_WORDS = {"true", "t", "1", "yes", "y", "oui", "vrai"}


class Unreadable(Exception):
    """A value of a line that cannot be read; the message, in French, says which."""


@dataclass(frozen=True)
class DecidimProposal:
    """A proposal as the export gives it, already in our terms: a Markdown body, a summary, theme names."""

    decidim_id: int
    url: str | None
    title: str
    summary: str
    body: str
    categories: tuple[str, ...]
    votes: int | None  # None when the export hides them
    published_at: datetime | None
    created_at: datetime | None
    is_withdrawn: bool
    withdrawn_at: datetime | None
    is_hidden: bool


@dataclass(frozen=True)
class Line:
    """One record of the file: the line it starts on, and the proposal it holds or why it is skipped."""

    number: int
    decidim_id: int | None = None
    proposal: DecidimProposal | None = None
    problem: str | None = None


# Reading ----------------------------------------------------------------------------------------------

class Columns:
    """Where each field is in the header, whichever Decidim version wrote it."""

    def __init__(self, header: list[str]):
        self.names = [name.strip() for name in header]
        self.positions = {name: position for position, name in reversed(list(enumerate(self.names)))}

    def translated(self, field: str) -> tuple[str, ...]:
        """A translated field's columns, French first: `title/fr`, plain `title`, then other locales
        (not `title/machine_translations/…`, which Decidim writes beside)."""
        depth = field.count("/") + 1
        others = [name for name in self.names if name.startswith(f"{field}/") and name.count("/") == depth]
        return (f"{field}/{LOCALE}", field, *others)

    def check(self) -> None:
        if "id" not in self.positions:
            raise RuleViolation(_("Ce fichier n'est pas un export de propositions Decidim : la colonne « id » "
                                  "manque (le séparateur attendu est le point-virgule)."))
        if not any(name in self.positions for name in (*self.translated("title"), *self.translated("body"))):
            raise RuleViolation(_("Ce fichier n'est pas un export de propositions Decidim : il n'a ni colonne "
                                  "« title » ni colonne « body »."))

    def reader(self, fields: list[str]):
        """value(*names): the first of these columns that this line fills in, stripped, or ""."""
        def value(*names: str) -> str:
            for name in names:
                position = self.positions.get(name)
                if position is not None and fields[position].strip():
                    return fields[position].strip()
            return ""
        return value


def read_export(raw: bytes) -> list[Line]:
    """Every record of the file, as a proposal or the reason it is skipped. The file is refused whole
    only when it is not a Decidim proposals export at all."""
    try:
        text = raw.decode("utf-8-sig")  # with or without a byte order mark
    except UnicodeDecodeError:
        raise RuleViolation(_("Ce fichier n'est pas en UTF-8 : enregistrez-le en UTF-8 et recommencez.")) from None
    records = _records(text)
    _number, header = next(records, (1, None))
    if not header:
        raise RuleViolation(_("Ce fichier est vide ou son en-tête est illisible."))
    columns = Columns(header)
    columns.check()
    seen: dict[int, int] = {}  # Decidim id: the line it was read on
    lines = []
    for number, fields in records:
        line = _read_line(number, fields, columns, seen)
        if line.proposal is not None:
            seen[line.decidim_id] = number
        lines.append(line)
    return lines


def _records(text: str):
    """(line number where it starts, fields) of each record, fields None when its quotes are broken.

    Python's csv module ends lines at \\r\\n, \\n and \\r alike, and keeps them inside quoted values."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None
        if fields != []:  # a blank line
            yield start, fields
        start = reader.line_num + 1


def _read_line(number: int, fields: list[str] | None, columns: Columns, seen: dict[int, int]) -> Line:
    if fields is None:
        return Line(number, problem=_("ligne mal formée : guillemets mal placés ou jamais refermés"))
    if len(fields) != len(columns.names):
        return Line(number, problem=_("ligne mal formée : %(count)d champs au lieu de %(expected)d",
                                      count=len(fields), expected=len(columns.names)))
    value = columns.reader(fields)
    raw_id = value("id")
    if not raw_id:
        return Line(number, problem=_("identifiant Decidim manquant"))
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
        return Line(number, problem=_("identifiant Decidim illisible : « %(value)s »", value=raw_id[:40]))
    decidim_id = int(raw_id)
    if decidim_id in seen:
        return Line(number, decidim_id, problem=_("identifiant déjà lu ligne %(line)d", line=seen[decidim_id]))
    try:
        return Line(number, decidim_id, proposal=_proposal(decidim_id, value, columns))
    except Unreadable as problem:
        return Line(number, decidim_id, problem=str(problem))


def _proposal(decidim_id: int, value, columns: Columns) -> DecidimProposal:
    """What Decidim accepted is kept: a short title or a missing summary are no reason to drop a
    contribution; only a line with neither title nor text has nothing to keep."""
    # Decidim's bodies are HTML (or plain text, in many exports). They become the Markdown every proposal
    # is written in, rather than HTML kept beside it: body_html is then rendered from the body like any
    # other proposal's, through render_markdown's nh3 settings, and search, similarity and the API read
    # words rather than tags.
    body_source = value(*columns.translated("body"))
    body = html_to_markdown(body_source)
    words = html_to_text(body_source)
    title = html_to_text(value(*columns.translated("title")))
    if not title and not words:
        raise Unreadable(_("titre et texte vides"))
    withdrawn_at = _moment(value("withdrawn_at"))
    # 0.28+ says it in `withdrawn`, older versions in the state.
    is_withdrawn = value("withdrawn").lower() in TRUE_WORDS or value("state").lower() == "withdrawn"
    return DecidimProposal(
        decidim_id=decidim_id, url=_url(value("url")),
        title=shorten(title, TITLE_LENGTH[1]) if title else shorten(words, DERIVED_TITLE_LENGTH),
        summary=shorten(words or title, SUMMARY_LENGTH), body=body,
        categories=_categories(value, columns), votes=_votes(value("votes", "supports")),
        published_at=_moment(value("published_at")), created_at=_moment(value("created_at")),
        is_withdrawn=is_withdrawn,
        # Older versions say only that it was withdrawn: its last change is the nearest date.
        withdrawn_at=(withdrawn_at or _moment(value("updated_at"))) if is_withdrawn else None,
        is_hidden=value("hidden").lower() in TRUE_WORDS)


def shorten(text: str, width: int) -> str:
    """At most `width` characters, cut after a word when one ends in the second half, with an ellipsis."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if " " in cut[width // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip() + "…"


def _moment(value: str) -> datetime | None:
    """Decidim writes Ruby's `2019-01-24 22:29:15 +0100`, ISO 8601, or `… UTC`; a moment without an
    offset is read in Paris time, where French consultations run."""
    if not value:
        return None
    text = re.sub(r"\s*(UTC|Z)$", "+00:00", value)
    text = re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Unreadable(_("date illisible : « %(value)s »", value=value[:40])) from None
    return clock.from_paris(moment) if moment.tzinfo is None else moment.astimezone(clock.UTC)


def _votes(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise Unreadable(_("nombre de votes illisible : « %(value)s »", value=value[:40]))
    return int(value)


def _url(value: str) -> str | None:
    """Its address on the Decidim instance, when it is one a page may link to."""
    if re.fullmatch(r"https?://\S+", value, re.IGNORECASE) and len(value) <= URL_LENGTH:
        return value
    return None


def _categories(value, columns: Columns) -> tuple[str, ...]:
    """Its category (Decidim 0.27 and older), or its taxonomies (0.28+), which the export joins with ", ":
    since a name may hold ", " itself, the names are split only when there are as many as ids."""
    category = value(*columns.translated("category/name"))
    if category:
        return (_theme_name(category),)
    names = value(*columns.translated("taxonomies/name"))
    if not names:
        return ()
    parts, ids = names.split(", "), value("taxonomies/id").split(",")
    return tuple(_theme_name(part) for part in parts) if len(parts) == len(ids) > 1 else (_theme_name(names),)


def _theme_name(name: str) -> str:
    return shorten(" ".join(name.split()), THEME_LENGTH)


# Writing ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where an export goes: the consultation, the organization its proposals are filed under, and the
    account that signs them (their authors are not imported)."""

    consultation: Consultation
    organization: Organization
    author: User


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Report:
    """What became of one line."""

    number: int
    decidim_id: int | None
    outcome: Outcome
    reason: str | None = None


def prepare_target(slug: str, organization_name: str, file_name: str, *, now: datetime | None = None) -> Target:
    """The consultation of that slug, else one the platform opens in its deliberation phase (a past
    consultation comes in for its committee); the organization named; the import's own account."""
    now = now or clock.now()
    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        consultation = open_consultation_for_platform(ConsultationInput(
            title=shorten(_("Consultation importée de Decidim (%(file)s)", file=file_name), CONSULTATION_TITLE_LENGTH),
            slug=slug, eligible_kinds=[kind.value for kind in OrganizationKind.directory_kinds()],
            phase_dates=calendar_around(PhaseKind.DELIBERATION, now)), now=now)
    return Target(consultation, organization_for_imports(organization_name), system_account(AUTHOR_EMAIL, AUTHOR_NAME))


def import_batch(lines: list[Line], target: Target, *, now: datetime | None = None) -> list[Report]:
    """Import these lines, one savepoint each; every new version queues its similarity vector's job, as
    any version does. Flushes, never commits."""
    now = now or clock.now()
    known = _imported(target.consultation, [line.decidim_id for line in lines if line.proposal is not None])
    return [_import_line(line, target, known.get(line.decidim_id), now) for line in lines]


def _imported(consultation: Consultation, decidim_ids: list[int]) -> dict[int, Proposal]:
    """The proposals of the consultation already imported under these ids, with what an update compares."""
    if not decidim_ids:
        return {}
    return {proposal.decidim_id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.consultation_id == consultation.id, Proposal.decidim_id.in_(decidim_ids))
        .options(selectinload(Proposal.versions).undefer(ProposalVersion.snapshot), selectinload(Proposal.themes),
                 selectinload(Proposal.territory_tags)))}


def _import_line(line: Line, target: Target, existing: Proposal | None, now: datetime) -> Report:
    if line.proposal is None:
        return Report(line.number, line.decidim_id, Outcome.SKIPPED, line.problem)
    try:
        with db.session.begin_nested():
            data, provenance = _our_terms(line.proposal, target.consultation)
            if existing is None:
                import_proposal(target.consultation, target.organization, data, provenance, author=target.author,
                                now=now)
                return Report(line.number, line.decidim_id, Outcome.IMPORTED)
            changed = reimport_proposal(existing, data, provenance, author=target.author, now=now)
            return Report(line.number, line.decidim_id, Outcome.UPDATED if changed else Outcome.UNCHANGED)
    except RuleViolation as refusal:
        return Report(line.number, line.decidim_id, Outcome.SKIPPED, str(refusal))
    except (IntegrityError, DataError):  # e.g. the same proposal imported at the same time by another run
        return Report(line.number, line.decidim_id, Outcome.SKIPPED,
                      _("refusée par la base de données (la même proposition importée en même temps ?)"))


def _our_terms(proposal: DecidimProposal, consultation: Consultation) -> tuple[ProposalInput, Provenance]:
    """A Decidim proposal is a need (what participants ask for), filed under the themes of its categories."""
    themes = themes_named(consultation, list(proposal.categories))
    data = ProposalInput(kind=ProposalKind.NEED, title=proposal.title, summary=proposal.summary, body=proposal.body,
                         theme_ids=[theme.id for theme in themes])
    provenance = Provenance(
        published_at=proposal.published_at or proposal.created_at, created_at=proposal.created_at,
        state=ProposalState.WITHDRAWN if proposal.is_withdrawn else ProposalState.PUBLISHED,
        withdrawn_at=proposal.withdrawn_at,
        withdrawal_reason=_("Retirée par son auteur dans Decidim.") if proposal.is_withdrawn else None,
        is_hidden=proposal.is_hidden, decidim_id=proposal.decidim_id, decidim_url=proposal.url,
        imported_vote_count=proposal.votes)
    return data, provenance


def record_import(target: Target, file_name: str, reports: list[Report]) -> None:
    """One audit entry for an import that changed something, by the platform; none for one that changed
    nothing, so that importing the same file again leaves the database as it was."""
    counts = Counter(report.outcome for report in reports)
    if counts[Outcome.IMPORTED] or counts[Outcome.UPDATED]:
        audit.record("decidim.import", actor=None, subject=target.consultation,
                     data={"file": file_name, "imported": counts[Outcome.IMPORTED],
                           "updated": counts[Outcome.UPDATED], "skipped": counts[Outcome.SKIPPED]})


# Command ----------------------------------------------------------------------------------------------

def describe(report: Report) -> str:
    outcome = {Outcome.IMPORTED: _("importée"), Outcome.UPDATED: _("mise à jour"),
               Outcome.UNCHANGED: _("inchangée")}.get(report.outcome) or _("ignorée, %(reason)s", reason=report.reason)
    return _("ligne %(number)d, id %(id)s : %(outcome)s", number=report.number,
             id=report.decidim_id if report.decidim_id is not None else "—", outcome=outcome)


def summary(reports: list[Report]) -> str:
    counts = Counter(report.outcome for report in reports)
    return ", ".join([
        ngettext("%(num)d proposition importée", "%(num)d propositions importées", counts[Outcome.IMPORTED]),
        ngettext("%(num)d mise à jour", "%(num)d mises à jour", counts[Outcome.UPDATED]),
        ngettext("%(num)d inchangée", "%(num)d inchangées", counts[Outcome.UNCHANGED]),
        ngettext("%(num)d ligne ignorée", "%(num)d lignes ignorées", counts[Outcome.SKIPPED])]) + "."


decidim_cli = AppGroup("decidim", help="Import d'exports Decidim.")


@decidim_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consultation", "slug", required=True,
              help="Identifiant d'adresse de la consultation ; créée, en phase de délibération, si elle n'existe pas.")
@click.option("--organization", "organization_name", default=DEFAULT_ORGANIZATION, show_default=True,
              help="Organisation à laquelle les propositions sont rattachées (une association créée si aucune "
                   "ne porte ce nom).")
@click.option("--dry-run", is_flag=True, help="Tout vérifier et dire ce qui serait fait, sans rien enregistrer.")
def import_command(path: Path, slug: str, organization_name: str, dry_run: bool) -> None:
    """Importe un export de propositions Decidim (CSV séparé par des points-virgules) dans une consultation.

    Importer le même fichier à nouveau met à jour les propositions qui ont changé et laisse les autres."""
    now = clock.now()
    try:
        lines = read_export(path.read_bytes())
        target = prepare_target(slug, organization_name, path.name, now=now)
    except RuleViolation as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    reports = []
    with click.progressbar(length=len(lines), label=_("Import des propositions")) as bar:
        for start in range(0, len(lines), BATCH_SIZE):
            reports += import_batch(lines[start:start + BATCH_SIZE], target, now=now)
            if not dry_run:
                db.session.commit()  # what is imported stays, whatever happens to the next batches
            bar.update(min(BATCH_SIZE, len(lines) - start))
    record_import(target, path.name, reports)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for report in reports:
        click.echo(describe(report))
    click.echo(summary(reports))
    if dry_run:
        click.echo(_("Essai à blanc : rien n'a été enregistré."))
