"""The Pabulib format (`.pb`), in and out, so that a selection can be analysed with the field's tools.

A `.pb` file has three sections, each a title line (META, PROJECTS, VOTES), a header and `;`-separated
rows (Stolicki, Szufa, Talmon, "Pabulib: A Participatory Budgeting Library", 2020). Reading is pure and
refuses a malformed file with a French message naming the line. `to_instance` turns an approval file into
the budget rules' `Instance`; `consultation_file` writes a consultation's counted supports as one, streamed:
projects are the listed proposals with a requested budget (cost in euros, as Pabulib expects), voters the
organizations whose supports count (those of the frozen tally), votes their supports, a merged proposal
counting its originals' supporters.

`flask --app wsgi pabulib select PATH --rule …` runs a rule on a file; `flask --app wsgi pabulib export
--consultation SLUG` writes a consultation's file.
"""

import csv
import io
import itertools
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.committee import budgeting
from app.committee.merging import supporters_of
from app.consultations.models import Consultation, PhaseKind
from app.extensions import db
from app.opendata.streaming import csv_line, streamed
from app.proposals.models import Proposal
from app.proposals.search import is_listed
from app.votes.services import counted_supports, supporter_label

SECTIONS = ("META", "PROJECTS", "VOTES")
RULES = {"greedy": lambda instance, _completion: budgeting.greedy(instance),
         "mes-cardinality": lambda instance, completion: budgeting.equal_shares(instance, "cardinality", completion),
         "mes-cost": lambda instance, completion: budgeting.equal_shares(instance, "cost", completion)}


class PabulibError(Exception):
    """A file that is not a readable Pabulib file; the message, in French, says where and why."""


@dataclass
class PbFile:
    """A Pabulib file as written: every value a string, columns in the file's order."""

    meta: dict[str, str] = field(default_factory=dict)
    projects: dict[str, dict[str, str]] = field(default_factory=dict)  # project_id -> its row
    votes: dict[str, dict[str, str]] = field(default_factory=dict)  # voter_id -> its row
    project_columns: list[str] = field(default_factory=lambda: ["project_id", "cost"])
    vote_columns: list[str] = field(default_factory=lambda: ["voter_id", "vote"])


# Reading ----------------------------------------------------------------------------------------------

def read_pb(text: str) -> PbFile:
    """The file's content, checked: the three sections, unique ids, costs and the budget as positive
    numbers, votes naming known projects."""
    pb, section, header = PbFile(), None, None
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    try:
        for fields in rows:
            number = rows.line_num
            if not any(value.strip() for value in fields):
                continue
            title = fields[0].strip().upper() if len(fields) == 1 else None
            if title in SECTIONS:
                if SECTIONS.index(title) != (SECTIONS.index(section) + 1 if section else 0):
                    raise _error(number, _("la section %(name)s n'est pas à sa place (l'ordre attendu est "
                                           "META, PROJECTS, VOTES).", name=title))
                section, header = title, None
            elif section is None:
                raise _error(number, _("le fichier doit commencer par la section META."))
            elif header is None:
                header = [name.strip() for name in fields]
                _check_header(section, header, number)
                if section == "PROJECTS":
                    pb.project_columns = header
                elif section == "VOTES":
                    pb.vote_columns = header
            else:
                _read_row(pb, section, header, fields, number)
    except csv.Error as error:
        raise _error(rows.line_num, _("ligne illisible (%(detail)s).", detail=str(error))) from None
    if section != "VOTES":
        raise PabulibError(_("Fichier Pabulib incomplet : la section %(name)s manque.",
                             name=SECTIONS[SECTIONS.index(section) + 1 if section else 0]))
    if "budget" not in pb.meta:
        raise PabulibError(_("Fichier Pabulib incomplet : la section META ne donne pas le budget (« budget »)."))
    return pb


def _error(number: int, detail: str) -> PabulibError:
    return PabulibError(_("Fichier Pabulib, ligne %(number)d : %(detail)s", number=number, detail=detail))


def _check_header(section: str, header: list[str], number: int) -> None:
    required = {"META": ("key", "value"), "PROJECTS": ("project_id", "cost"), "VOTES": ("voter_id",)}[section]
    missing = [name for name in required if name not in header]
    if missing:
        raise _error(number, _("l'en-tête de la section %(name)s doit avoir les colonnes %(columns)s.",
                               name=section, columns=", ".join(required)))


def _read_row(pb: PbFile, section: str, header: list[str], fields: list[str], number: int) -> None:
    if len(fields) != len(header):
        raise _error(number, _("%(found)d valeurs pour %(expected)d colonnes.", found=len(fields),
                               expected=len(header)))
    row = {name: value.strip() for name, value in zip(header, fields)}
    if section == "META":
        if row["key"] == "budget":
            _positive(row["value"], number, _("le budget"))
        pb.meta[row["key"]] = row["value"]
    elif section == "PROJECTS":
        project = row["project_id"]
        if not project or project in pb.projects:
            raise _error(number, _("identifiant de projet vide ou en double (« %(id)s »).", id=project))
        _positive(row["cost"], number, _("le coût"))
        pb.projects[project] = row
    else:
        voter = row["voter_id"]
        if not voter or voter in pb.votes:
            raise _error(number, _("identifiant de votant vide ou en double (« %(id)s »).", id=voter))
        unknown = [project for project in ballot_of(row) if project not in pb.projects]
        if unknown:
            raise _error(number, _("le vote cite un projet inconnu (« %(id)s »).", id=unknown[0]))
        pb.votes[voter] = row


def _positive(text: str, number: int, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise _error(number, _("%(what)s doit être un nombre positif, pas « %(value)s ».", what=what, value=text))
    return value


def ballot_of(row: dict[str, str]) -> list[str]:
    """The projects a vote names (comma-separated), in its order."""
    return [project.strip() for project in row.get("vote", "").split(",") if project.strip()]


def to_instance(pb: PbFile) -> tuple[budgeting.Instance, int]:
    """The rules' instance for an approval file, and the scale its costs were multiplied by to be whole
    (1 for whole euros, 100 for cents…): rules take integers so that sums and comparisons are exact."""
    vote_type = pb.meta.get("vote_type", "approval")
    if vote_type != "approval":
        raise PabulibError(_("Les règles ne lisent que des votes d'approbation, pas « %(type)s ».", type=vote_type))
    amounts = [Decimal(row["cost"]) for row in pb.projects.values()] + [Decimal(pb.meta["budget"])]
    scale = 10 ** max(0, *(-amount.normalize().as_tuple().exponent for amount in amounts))
    instance = budgeting.Instance(
        costs={project: int(Decimal(row["cost"]) * scale) for project, row in pb.projects.items()},
        ballots=[frozenset(ballot_of(row)) for row in pb.votes.values()],
        budget=int(Decimal(pb.meta["budget"]) * scale))
    return instance, scale


# Writing ----------------------------------------------------------------------------------------------

def write_pb(pb: PbFile) -> str:
    """The file's text, sections in order, `;`-separated (values holding `;` are quoted)."""
    return "".join(pb_lines(pb.meta, pb.project_columns, pb.projects.values(), pb.vote_columns, pb.votes.values()))


def pb_lines(meta: dict[str, str], project_columns: list[str], projects: Iterable[dict[str, str]],
             vote_columns: list[str], votes: Iterable[dict[str, str]]) -> Iterator[str]:
    """The file's lines, rows written as they come, so that a large file is never held whole."""
    line = csv_line()
    yield line(["META"])
    yield line(["key", "value"])
    for item in meta.items():
        yield line(item)
    for title, columns, rows in (("PROJECTS", project_columns, projects), ("VOTES", vote_columns, votes)):
        yield line([title])
        yield line(columns)
        for row in rows:
            yield line(row.get(name, "") for name in columns)


def euros(cents: int) -> str:
    """An amount in cents as Pabulib writes costs: euros, with decimals only when there are cents."""
    whole, rest = divmod(cents, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}"


def consultation_file(consultation: Consultation) -> Iterator[str]:
    """The consultation's counted supports as a Pabulib file, line by line (see the module's docstring): a few
    aggregate queries, then projects and votes read as they are written, whatever their number."""
    with_budget = (Proposal.consultation_id == consultation.id, is_listed(), Proposal.requested_budget_cents > 0)
    projects = sa.select(Proposal.id).where(*with_budget)
    # (project, organization) once per organization supporting the project or one of its merged originals.
    pairs = _counted(consultation, supporters_of(projects).add_columns(
        sa.func.coalesce(Proposal.merged_into_id, Proposal.id).label("project_id"))).subquery()
    per_project = (sa.select(pairs.c.project_id, sa.func.count().label("votes"))
                   .group_by(pairs.c.project_id).subquery())
    meta = _meta(consultation, db.session.scalar(sa.select(sa.func.count()).select_from(projects.subquery())),
                 db.session.scalar(sa.select(sa.func.count(sa.distinct(pairs.c.organization_id)))))
    project_rows = ({"project_id": str(proposal_id), "cost": euros(cents), "votes": str(votes or 0), "name": title}
                    for proposal_id, title, cents, votes in streamed(
                        sa.select(Proposal.id, Proposal.title, Proposal.requested_budget_cents, per_project.c.votes)
                        .outerjoin(per_project, per_project.c.project_id == Proposal.id)
                        .where(*with_budget).order_by(Proposal.id)))
    ballots = itertools.groupby(streamed(sa.select(pairs.c.organization_id, pairs.c.project_id)
                                         .order_by(pairs.c.organization_id, pairs.c.project_id)),
                                key=lambda pair: pair.organization_id)
    vote_rows = ({"voter_id": supporter_label(consultation, organization_id),
                  "vote": ",".join(str(pair.project_id) for pair in ballot)} for organization_id, ballot in ballots)
    yield from pb_lines(meta, ["project_id", "cost", "votes", "name"], project_rows, ["voter_id", "vote"], vote_rows)


def _counted(consultation: Consultation, statement: sa.Select) -> sa.Select:
    """Only the supports that count, as in the frozen tally."""
    return statement.where(counted_supports(consultation)).distinct()


def _meta(consultation: Consultation, projects: int, votes: int) -> dict[str, str]:
    meta = {"description": consultation.title, "country": "France", "instance": consultation.slug,
            "num_projects": str(projects), "num_votes": str(votes),
            "budget": euros(consultation.budget_envelope_cents), "vote_type": "approval", "rule": "greedy",
            "currency": "EUR"}
    window = consultation.phase(PhaseKind.SUPPORT)
    if window is not None:
        meta["date_begin"] = window.starts_at.strftime("%d.%m.%Y")
        meta["date_end"] = window.ends_at.strftime("%d.%m.%Y")
    if consultation.vote_limit:
        meta["max_length"] = str(consultation.vote_limit)
    if consultation.minimum_votes_per_user:
        meta["min_length"] = str(consultation.minimum_votes_per_user)
    return meta


# Commands ---------------------------------------------------------------------------------------------

pabulib_cli = AppGroup("pabulib", help="Fichiers Pabulib (.pb) : règles de sélection et export.")


@pabulib_cli.command("select")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rule", type=click.Choice(list(RULES)), required=True, help="Règle de sélection.")
@click.option("--completion", type=click.Choice(budgeting.COMPLETIONS), default=None,
              help="Complétion de la méthode des parts égales (sans effet sur greedy).")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def select_command(path: Path, rule: str, completion: str | None, as_json: bool) -> None:
    """Affiche les projets qu'une règle retient dans un fichier Pabulib, un identifiant par ligne, dans
    l'ordre où la règle les choisit."""
    try:
        instance, scale = to_instance(read_pb(path.read_text(encoding="utf-8")))
    except (PabulibError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error) if isinstance(error, PabulibError)
                                   else _("Le fichier n'est pas en UTF-8.")) from None
    started = time.perf_counter()
    outcome = RULES[rule](instance, completion)
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps({"rule": rule, "completion": completion, "selected": outcome.selected,
                               "completed": outcome.completed, "total_cost": _amount(outcome.total, scale),
                               "budget": _amount(instance.budget, scale), "left": _amount(outcome.left, scale),
                               "seconds": round(seconds, 4)}))
    else:
        for project in outcome.selected:
            click.echo(project)


def _amount(units: int, scale: int) -> int | float:
    return units // scale if units % scale == 0 else units / scale


@pabulib_cli.command("export")
@click.option("--consultation", "slug", required=True, help="Identifiant d'adresse de la consultation.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Fichier à écrire ; par défaut, la sortie standard.")
def export_command(slug: str, output: Path | None) -> None:
    """Écrit les soutiens comptés d'une consultation au format Pabulib : les propositions listées qui
    demandent un budget, les organisations dont les soutiens comptent et leurs soutiens."""
    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise click.ClickException(_("Aucune consultation n'a l'identifiant « %(slug)s ».", slug=slug))
    if output is None:
        for line in consultation_file(consultation):
            click.echo(line, nl=False)
    else:
        with output.open("w", encoding="utf-8") as file:
            file.writelines(consultation_file(consultation))
