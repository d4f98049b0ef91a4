"""Importing a Decidim proposals export: reading both layouts, the command, what the database holds after."""

from pathlib import Path

import pytest
import sqlalchemy as sa

import config
from app.accounts.models import User
from app.accounts.services import authenticate
from app.consultations.models import Consultation, PhaseKind, Theme
from app.consultations.phases import stage
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.jobs import Job
from app.extensions import db
from app.opendata.decidim import read_export
from app.organizations.models import Organization
from app.proposals.models import Proposal, ProposalVersion
from tests.factories import make_consultation, make_organization, make_proposal

FIXTURES = Path(__file__).parent / "fixtures"
OLDER = FIXTURES / "decidim-0.27.csv"  # category/*, title/fr, hidden, state; a byte order mark, mixed line endings
NEWER = FIXTURES / "decidim-0.28.csv"  # taxonomies/*, likes/*, withdrawn
REAL_EXPORT = Path(config.ROOT).parent / "shared" / "data" / "decidim-export-mel-grand-debat-2019.csv"


def run_import(app, path: Path, *options: str, slug: str = "budget-2019"):
    result = app.test_cli_runner().invoke(args=["decidim", "import", str(path), "--consultation", slug, *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def imported(slug: str = "budget-2019") -> dict[int, Proposal]:
    return {proposal.decidim_id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).join(Consultation).where(Consultation.slug == slug))}


def test_both_layouts_are_read_line_by_line_with_the_reason_of_each_skipped_line(app):
    with app.app_context():
        older = {line.number: line for line in read_export(OLDER.read_bytes())}
        newer = {line.number: line for line in read_export(NEWER.read_bytes())}
    assert {number: line.problem for number, line in older.items() if line.problem} == {
        7: "ligne mal formée : 4 champs au lieu de 15",
        8: "identifiant Decidim manquant",
        9: "titre et texte vides",
        12: "identifiant déjà lu ligne 2",
        13: "nombre de votes illisible : « beaucoup »",
    }
    assert [number for number, line in older.items() if line.proposal] == [2, 3, 10, 11]
    assert {number: line.problem for number, line in newer.items() if line.problem} == {
        5: "ligne mal formée : guillemets mal placés ou jamais refermés"}
    # The quoted body over four lines, its \r\n kept as paragraphs and list items of Markdown.
    assert older[3].proposal.body == ("Installer des composteurs\n\ndans chaque quartier :\n\n"
                                      "- au pied des immeubles\n- dans les écoles")
    # HTML: the script's words are gone, the link is kept.
    assert older[2].proposal.body == "Plus de bus le soir.\n\nVoir [le plan](<https://example.org/plan>)."
    assert newer[2].proposal.categories == ("Mobilités", "Santé")
    assert newer[3].proposal.categories == ("Impôts, dépenses, action publique",)
    assert newer[4].proposal.title == "Only in English"


@pytest.mark.parametrize("content, message", [
    (b"titre,texte\nUn,Deux\n", "la colonne « id » manque"),
    (b"id;auteur\n1;Camille\n", "ni colonne « title » ni colonne « body »"),
    ("id;title\n1;Écoles\n".encode("latin-1"), "n'est pas en UTF-8"),
    (b"", "vide"),
])
def test_a_file_that_is_no_decidim_export_is_refused_whole(app, content, message):
    with app.app_context(), pytest.raises(RuleViolation, match=message):
        read_export(content)


def test_dry_run_reports_every_line_and_saves_nothing(app):
    result = run_import(app, OLDER, "--dry-run")
    assert result.exit_code == 0
    assert "ligne 2, id 101 : importée" in result.output
    assert "ligne 7, id — : ignorée, ligne mal formée : 4 champs au lieu de 15" in result.output
    assert "ligne 9, id 104 : ignorée, titre et texte vides" in result.output
    assert "Essai à blanc : rien n'a été enregistré." in result.output
    assert db.session.scalar(sa.select(Consultation).filter_by(slug="budget-2019")) is None
    assert db.session.scalar(sa.select(User).filter_by(email="import-decidim@agora.invalid")) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0


def test_older_layout_imports_published_proposals_as_decidim_had_them(app):
    result = run_import(app, OLDER)
    assert result.exit_code == 0
    assert "4 propositions importées" in result.output and "5 lignes ignorées" in result.output
    proposals = imported()
    assert set(proposals) == {101, 102, 105, 106}
    bus = proposals[101]
    # A title shorter than our form allows and no summary: kept, the summary taken from the body.
    assert (bus.title, bus.summary) == ("Bus", "Plus de bus le soir. Voir le plan.")
    assert "alert" not in bus.body and "<script" not in bus.body_html
    assert '<a href="https://example.org/plan"' in bus.body_html
    assert (bus.state, bus.kind, bus.hidden_at) == ("published", "need", None)
    assert bus.published_at.isoformat() == "2019-01-24T21:29:15+00:00"
    assert bus.decidim_url == "https://decidim.example.org/processes/budget/f/12/proposals/101"
    assert (bus.imported_vote_count, bus.support_count) == (12, 0)  # Decidim's votes are no supports
    assert proposals[105].hidden_at is not None
    assert proposals[106].title == "Une proposition sans titre mais avec un texte assez long pour en tirer un titre."
    assert proposals[106].decidim_url is None  # javascript:… is no address to link to
    assert (proposals[106].state, proposals[106].withdrawn_at) == ("withdrawn", proposals[106].published_at)
    # Categories become themes, matched whatever their case.
    assert [theme.name for theme in bus.consultation.themes] == ["Mobilités", "Transition écologique"]
    assert [theme.name for theme in proposals[105].themes] == ["Mobilités"]
    assert proposals[106].themes == []


def test_the_consultation_organization_and_author_are_made_by_the_platform(app):
    run_import(app, OLDER)
    proposal = imported()[101]
    consultation, organization, author = proposal.consultation, proposal.organization, proposal.author
    assert stage(consultation) == PhaseKind.DELIBERATION
    assert (organization.name, organization.kind, organization.siren) == ("Import Decidim", "association", None)
    assert (author.email, author.name) == ("import-decidim@agora.invalid", "Import Decidim")
    for password in ("", "!", "Import Decidim"):
        with pytest.raises(RuleViolation, match="Adresse électronique ou mot de passe incorrect"):
            authenticate(author.email, password)
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(entry.action, entry.actor_id) for entry in entries] == [
        ("consultation.create", None), ("organization.create", None), ("decidim.import", None)]
    assert entries[-1].data == {"file": "decidim-0.27.csv", "imported": 4, "updated": 0, "skipped": 5}
    # Each proposal's first version is dated when Decidim published it, and queues its similarity vector.
    assert proposal.versions[0].created_at == proposal.published_at
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 4


def test_newer_layout_imports_taxonomies_and_withdrawals(app):
    run_import(app, NEWER)
    proposals = imported()
    assert set(proposals) == {201, 202, 203, 205}
    assert [theme.name for theme in proposals[201].themes] == ["Mobilités", "Santé"]
    assert [theme.name for theme in proposals[202].themes] == ["Impôts, dépenses, action publique"]
    assert proposals[201].imported_vote_count == 5  # its 9 likes are not votes
    assert proposals[202].imported_vote_count is None  # hidden in Decidim: unknown, not zero
    withdrawn = proposals[203]
    assert withdrawn.state == "withdrawn" and withdrawn.withdrawn_at.isoformat() == "2024-03-05T12:00:00+00:00"


def test_the_same_file_twice_leaves_the_database_as_it_was(app):
    def state():
        return {table.name: sorted(map(tuple, db.session.execute(sa.select(table)).all()), key=repr)
                for table in db.metadata.sorted_tables}

    run_import(app, OLDER)
    before = state()
    result = run_import(app, OLDER)
    assert state() == before
    assert "ligne 2, id 101 : inchangée" in result.output and "4 inchangées" in result.output


def test_a_changed_line_updates_its_proposal_with_a_new_version(app, tmp_path):
    run_import(app, NEWER)
    changed = tmp_path / "decidim-0.28.csv"
    changed.write_bytes(NEWER.read_bytes().replace(b"Des navettes le dimanche.", b"Des navettes le dimanche matin.")
                        .replace(b"Mobilit\xc3\xa9s, Sant\xc3\xa9", b"Mobilit\xc3\xa9s, Sant\xc3\xa9, \xc3\x89coles")
                        .replace(b";3, 4;", b";3, 4, 6;"))
    result = run_import(app, changed)
    assert "ligne 6, id 205 : mise à jour" in result.output
    assert "ligne 2, id 201 : mise à jour" in result.output and "ligne 3, id 202 : inchangée" in result.output
    proposals = imported()
    assert proposals[205].body == "Des navettes le dimanche matin."
    versions = db.session.scalars(sa.select(ProposalVersion).filter_by(proposal_id=proposals[205].id)
                                  .order_by(ProposalVersion.number)).all()
    assert [(version.number, version.changed_fields) for version in versions][-1] == (2, ["summary", "body"])
    assert [theme.name for theme in proposals[201].themes] == ["Mobilités", "Santé", "Écoles"]
    assert len(proposals[202].versions) == 1


def test_an_existing_consultation_and_organization_are_used_and_keep_what_they_hold(app):
    consultation = make_consultation(PhaseKind.SELECTION, slug="budget-2019")
    lille = make_organization("Métropole européenne de Lille", kind="epci")
    ours = make_proposal(consultation, title="Une proposition déposée ici")
    themes_before = [theme.name for theme in consultation.themes]
    result = run_import(app, NEWER, "--organization", "Métropole européenne de Lille")
    assert result.exit_code == 0
    assert {proposal.organization_id for proposal in imported().values() if proposal.decidim_id} == {lille.id}
    assert db.session.get(Proposal, ours.id).title == "Une proposition déposée ici"
    assert [theme.name for theme in consultation.themes][:len(themes_before)] == themes_before
    assert stage(consultation) == PhaseKind.SELECTION
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)
                             .filter_by(name="Import Decidim")) == 0


@pytest.mark.parametrize("options, message", [
    (("--consultation", "Budget 2019"), "L'identifiant d'adresse ne peut contenir que"),
    (("--consultation", "budget", "--organization", "Saint-Martin"), "Plusieurs organisations s'appellent"),
])
def test_a_refused_target_stops_the_command_and_creates_nothing(app, options, message):
    make_organization("Saint-Martin")
    make_organization("Saint-Martin")
    result = app.test_cli_runner().invoke(args=["decidim", "import", str(NEWER), *options])
    assert result.exit_code == 1 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0


@pytest.mark.skipif(not REAL_EXPORT.exists(), reason="the shared data folder is absent (a fresh clone has none)")
def test_the_real_export_of_the_lille_grand_debat_imports_with_its_published_figures(app):
    result = run_import(app, REAL_EXPORT, slug="grand-debat-mel")
    assert "196 propositions importées" in result.output and ": ignorée" not in result.output
    proposals = list(imported("grand-debat-mel").values())
    assert len(proposals) == 196
    assert sum(proposal.imported_vote_count for proposal in proposals) == 498
    assert sum(proposal.support_count for proposal in proposals) == 0
    assert sum(1 for proposal in proposals if proposal.themes) == 162
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Theme).join(Consultation)
                             .where(Consultation.slug == "grand-debat-mel")) == 5
