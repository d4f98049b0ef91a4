"""The open-data files of a consultation: what each one holds, that nothing hidden leaks into any of them (the
zip included), the tally's digest checked from its file, and the proposals file imported back through the
Decidim importer."""

import csv
import hashlib
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from app.consultations.models import Consultation, PhaseKind
from app.core import audit, clock
from app.extensions import db
from app.opendata import exports
from app.opendata.decidim import Outcome, import_batch, prepare_target, read_export
from app.opendata.pabulib import read_pb
from app.proposals.models import AnswerState, Proposal, ProposalCosponsor, ProposalTerritoryTag
from app.votes.services import frozen_tally
from tests.factories import (make_comment, make_consultation, make_counted_support, make_issue, make_member,
                             make_organization, make_proposal, make_user)
from tests.helpers import counted_statements


def read_all(consultation: Consultation) -> dict[str, str]:
    """Every published file, by name, as text."""
    return {file.name: b"".join(exports.content(consultation, file)).decode()
            for file in exports.files(consultation)}


def unzipped(consultation: Consultation) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(b"".join(exports.archive(consultation)))) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name).decode() for name in archive.namelist()}


def table(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def answer(proposal: Proposal, state: str, text: str, granted_cents: int | None = None) -> Proposal:
    proposal.answer_state, proposal.answer_text, proposal.granted_amount_cents = state, text, granted_cents
    proposal.answered_at = clock.now()
    db.session.commit()
    return proposal


class Published:
    """A consultation whose support window has ended and whose answers are published: two listed proposals
    with themes, supports, comments, an issue and answers, and around them what must never be published."""

    def __init__(self, *, phase=PhaseKind.RESULTS, published=True, only_supporter: str | None = None, **settings):
        self.consultation = make_consultation(phase, slug="numerique-2027", budget_envelope_cents=10_000_000,
                                              **settings)
        online, inclusion = self.consultation.themes
        self.aurillac = make_organization("Aurillac", siren="211500145", departement_code="15")
        self.mauriac = make_organization("Mauriac", siren="211501200", departement_code="15")
        self.riom = make_organization("Riom", siren="216301956", departement_code="63")
        self.agent = make_member(make_user(email="agent.secret@example.org", name="Agent Discret"), self.aurillac)
        self.issue = make_issue(self.consultation, "Écoles connectées")
        self.portal = make_proposal(self.consultation, self.aurillac, kind="service", title="Portail famille",
                                    body="Un portail pour les familles.\n\nInscriptions et paiements en ligne.",
                                    themes=[online, inclusion], requested_budget_cents=4_000_050,
                                    issue_id=self.issue.id, licence="EUPL-1.2")
        self.portal.territory_tags = [ProposalTerritoryTag(tag="rural")]
        db.session.add(ProposalCosponsor(proposal=self.portal, organization=self.riom, added_by_id=self.agent.user.id))
        self.need = make_proposal(self.consultation, self.mauriac, title="Médiation numérique", themes=[inclusion])
        make_counted_support(self.portal, self.mauriac)
        make_counted_support(self.portal, self.riom)
        make_counted_support(self.need, self.aurillac)
        if only_supporter:  # an organization that takes part by its supports alone
            make_counted_support(self.portal, make_organization(only_supporter, siren="219999999"))
        self.comment = make_comment(self.portal, self.agent, body="Nous en avons besoin à Aurillac.")
        self.hidden_comment = make_comment(self.portal, self.agent, body="Commentaire modéré injurieux")
        self.hidden_comment.hidden_at = clock.now()
        answer(self.portal, AnswerState.LAUREATE, "Retenu pour sa réutilisabilité.", 3_000_000)
        answer(self.need, AnswerState.NOT_RETAINED, "Déjà couvert ailleurs.")
        # Never published: a draft, a withdrawn one, one hidden by moderation, an original merged into another.
        self.draft = make_proposal(self.consultation, self.aurillac, state="draft", title="Brouillon confidentiel")
        self.withdrawn = make_proposal(self.consultation, self.aurillac, state="withdrawn", title="Retrait discret")
        self.hidden = answer(make_proposal(self.consultation, self.riom, title="Proposition masquée abusive",
                                           body="Texte masqué par la modération"), AnswerState.LAUREATE,
                             "Réponse à une proposition masquée", 9_000_000)
        self.hidden.hidden_at = clock.now()
        self.original = make_proposal(self.consultation, self.riom, title="Original fusionné disparu",
                                      merged_into_id=self.need.id)
        make_comment(self.original, body="Commentaire d'un original fusionné")
        audit.record("results.publish", actor=self.agent.user, subject=self.consultation, data={"secret": "x"})
        self.consultation.results_published_at = clock.now() if published else None
        db.session.commit()
        frozen_tally(self.consultation)
        db.session.commit()


@pytest.fixture
def published():
    return Published()


def test_every_file_is_listed_once_published_in_csv_and_json_and_the_supports_in_pabulib(published):
    names = [file.name for file in exports.files(published.consultation)]
    assert names == ["propositions.csv", "propositions.json", "commentaires.csv", "commentaires.json",
                     "soutiens.csv", "soutiens.pb", "grands-enjeux.csv", "grands-enjeux.json", "reponses.csv",
                     "reponses.json", "organisations.csv", "organisations.json", "journal.csv", "journal.json"]


def test_the_proposals_file_has_decidims_columns_first_then_ours(published):
    rows = table(read_all(published.consultation)["propositions.csv"])
    header = list(rows[0])
    assert header[:11] == ["id", "author/id", "author/name", "author/url", "taxonomies/id", "taxonomies/name/fr",
                           "participatory_space/id", "participatory_space/url", "component/id", "title/fr",
                           "body/fr"]
    assert header.index("execution_period/fr") < header.index("kind")
    by_title = {row["title/fr"]: row for row in rows}
    assert set(by_title) == {"Portail famille", "Médiation numérique"}
    portal = by_title["Portail famille"]
    assert portal["id"] == str(published.portal.id) and portal["author/name"] == "Aurillac"
    assert portal["author/url"] == f"http://localhost/collectivites/{published.aurillac.id}"
    assert portal["url"] == f"http://localhost/propositions/{published.portal.id}"
    assert portal["taxonomies/name/fr"] == "Démarches en ligne, Inclusion numérique"
    assert portal["body/fr"] == "Un portail pour les familles.\n\nInscriptions et paiements en ligne."
    assert (portal["votes"], portal["comments"], portal["coauthorships_count"]) == ("2", "2", "2")
    assert (portal["state"], portal["answer/fr"], portal["granted_amount"]) == (
        "accepted", "Retenu pour sa réutilisabilité.", "30000")
    assert (portal["cost"], portal["cosponsors"], portal["territories"]) == ("40000.50", "Riom", "rural")
    assert (portal["issue/title"], portal["organization/siren"], portal["licence"]) == (
        "Écoles connectées", "211500145", "EUPL-1.2")
    assert by_title["Médiation numérique"]["related_proposals"] == str(published.original.id)
    assert by_title["Médiation numérique"]["state"] == "rejected"


def test_the_json_files_nest_what_the_csv_names_with_slashes(published):
    files = read_all(published.consultation)
    proposals = {item["id"]: item for item in json.loads(files["propositions.json"])}
    portal = proposals[published.portal.id]
    assert portal["title"] == {"fr": "Portail famille"}
    assert portal["author"]["name"] == "Aurillac" and portal["votes"] == 2 and portal["is_amend"] is False
    assert portal["likes"] == {"total_count": None, "user_likes": None}
    csv_ids = [int(row["id"]) for row in table(files["propositions.csv"])]
    assert list(proposals) == csv_ids
    for name in ("commentaires", "grands-enjeux", "reponses", "organisations", "journal"):
        assert len(json.loads(files[f"{name}.json"])) == len(table(files[f"{name}.csv"])), name


def test_the_tally_file_is_the_frozen_tally_and_its_digest_checks(published):
    files = read_all(published.consultation)
    tally = frozen_tally(published.consultation)
    assert files["soutiens.csv"] == tally.content
    assert hashlib.sha256(files["soutiens.csv"].encode()).hexdigest() == tally.digest
    rows = table(files["soutiens.csv"])
    assert sorted((int(row["id_proposition"]), row["organisation"]) for row in rows) == sorted(
        [(published.portal.id, "Mauriac"), (published.portal.id, "Riom"), (published.need.id, "Aurillac")])


def test_a_tally_larger_than_a_slice_is_read_in_slices_to_the_same_bytes(monkeypatch):
    world = Published(only_supporter="Saint-Étienne-de-Chomeil")  # slices count characters, not bytes
    monkeypatch.setattr(exports, "TALLY_SLICE", 7)
    file = exports.find(world.consultation, "soutiens.csv")
    content = b"".join(exports.content(world.consultation, file))
    assert hashlib.sha256(content).hexdigest() == frozen_tally(world.consultation).digest
    assert "Saint-Étienne-de-Chomeil" in content.decode()


def test_the_pabulib_file_counts_the_supports_of_listed_proposals_with_a_budget(published):
    pb = read_pb(read_all(published.consultation)["soutiens.pb"])
    assert list(pb.projects) == [str(published.portal.id)]  # the need asks for no budget
    assert pb.projects[str(published.portal.id)]["votes"] == "2"
    assert set(pb.votes) == {str(published.mauriac.id), str(published.riom.id)}
    assert pb.meta["num_votes"] == "2" and pb.meta["budget"] == "100000"


def test_comments_issues_answers_organizations_and_the_audit_log(published):
    files = read_all(published.consultation)
    assert [(row["id"], row["organization/name"], row["body"]) for row in table(files["commentaires.csv"])] == [
        (str(published.comment.id), "Aurillac", "Nous en avons besoin à Aurillac.")]
    assert [(row["title"], row["proposals"]) for row in table(files["grands-enjeux.csv"])] == [
        ("Écoles connectées", "1")]
    answers = table(files["reponses.csv"])
    assert [(row["proposal/title"], row["answer_state"], row["is_laureate"], row["granted_amount"])
            for row in answers] == [("Portail famille", "laureate", "true", "30000"),
                                    ("Médiation numérique", "not_retained", "false", "")]
    organizations = {row["name"]: row for row in table(files["organisations.csv"])}
    assert set(organizations) == {"Aurillac", "Mauriac", "Riom"}
    assert (organizations["Riom"]["siren"], organizations["Riom"]["kind"], organizations["Riom"]["departement"],
            organizations["Riom"]["region"]) == ("216301956", "commune", "63", "84")  # the département's région
    assert (organizations["Aurillac"]["proposals"], organizations["Aurillac"]["comments"],
            organizations["Aurillac"]["supports"]) == ("1", "1", "1")
    assert organizations["Riom"]["proposals"] == "1"  # co-sponsor of the portal
    entries = table(files["journal.csv"])
    assert [(row["action"], row["subject"]) for row in entries] == [
        ("results.publish", f"consultations:{published.consultation.id}")]
    assert len(entries[0]["hash"]) == 64 and "secret" not in files["journal.csv"]


def test_answers_and_issues_wait_for_their_publication_and_supports_for_the_end_of_the_window():
    world = Published(phase=PhaseKind.SELECTION, published=False)
    names = {file.name for file in exports.files(world.consultation)}
    assert "reponses.csv" not in names and "grands-enjeux.csv" not in names and "soutiens.csv" in names
    row = {row["title/fr"]: row for row in table(read_all(world.consultation)["propositions.csv"])}["Portail famille"]
    assert (row["state"], row["answer/fr"], row["answer_state"], row["granted_amount"], row["issue/title"]) == (
        "", "", "not_answered", "", "")


# Nothing hidden leaks ------------------------------------------------------------------------------------------

SECRETS = ("agent.secret@example.org", "elu.secret@example.org", "Agent Discret", "Brouillon confidentiel",
           "Retrait discret", "Proposition masquée abusive", "Texte masqué par la modération",
           "Original fusionné disparu", "Commentaire modéré injurieux", "Commentaire d'un original fusionné",
           "Réponse à une proposition masquée", "Réponse brouillon du comité", "Enjeu pas encore public",
           "Supporter caché")


def assert_nothing_leaks(files: dict[str, str]) -> None:
    for name, text in files.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {name}"
        assert "@" not in text, name


def test_while_supports_are_open_and_counts_hidden_no_file_says_anything_hidden():
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    elected = make_member(make_user(email="elu.secret@example.org"), make_organization("Supporter caché"),
                          role="elected")
    agent = make_member(make_user(email="agent.secret@example.org", name="Agent Discret"))
    listed = make_proposal(consultation, agent.organization, author=agent.user, title="Une proposition publique",
                           requested_budget_cents=100_000)
    make_counted_support(listed, elected.organization)
    answer(listed, AnswerState.LAUREATE, "Réponse brouillon du comité", 50_000)  # drafted, not published
    make_issue(consultation, "Enjeu pas encore public", proposals=[listed])
    make_comment(listed, agent, body="Un commentaire public")
    hidden_comment = make_comment(listed, agent, body="Commentaire modéré injurieux")
    hidden_comment.hidden_at = clock.now()
    make_proposal(consultation, state="draft", title="Brouillon confidentiel")
    make_proposal(consultation, state="withdrawn", title="Retrait discret")
    make_proposal(consultation, title="Proposition masquée abusive", body="Texte masqué par la modération",
                  hidden_at=clock.now())
    original = make_proposal(consultation, title="Original fusionné disparu", merged_into_id=listed.id)
    make_comment(original, body="Commentaire d'un original fusionné")
    db.session.commit()

    files = read_all(consultation)

    assert set(files) == {"propositions.csv", "propositions.json", "commentaires.csv", "commentaires.json",
                          "organisations.csv", "organisations.json", "journal.csv", "journal.json"}
    assert_nothing_leaks(files)
    assert_nothing_leaks(unzipped(consultation))
    assert unzipped(consultation) == files
    [row] = table(files["propositions.csv"])
    assert row["votes"] == "" and json.loads(files["propositions.json"])[0]["votes"] is None
    assert "Un commentaire public" in files["commentaires.csv"]
    assert [row["supports"] for row in table(files["organisations.csv"])] == [""]


def test_after_the_window_hidden_supporters_are_pseudonyms_everywhere_and_nothing_hidden_shows():
    world = Published(supporters_hidden=True, only_supporter="Supporter caché")
    files = read_all(world.consultation)

    assert {row["id_organisation"][:4] for row in table(files["soutiens.csv"])} == {"org-"}
    assert {voter[:4] for voter in read_pb(files["soutiens.pb"]).votes} == {"org-"}
    assert {row["supports"] for row in table(files["organisations.csv"])} == {""}
    assert "219999999" not in "".join(files.values())
    assert_nothing_leaks(files)
    assert_nothing_leaks(unzipped(world.consultation))


# The round trip -------------------------------------------------------------------------------------------------

def test_the_proposals_file_imports_back_through_the_decidim_importer_with_the_same_content(published):
    source = published.consultation
    exported = b"".join(exports.content(source, exports.find(source, "propositions.csv")))

    lines = read_export(exported)
    target = prepare_target("copie-numerique-2027", "Copie", "propositions.csv")
    reports = import_batch(lines, target)
    db.session.commit()

    assert [report.outcome for report in reports] == [Outcome.IMPORTED, Outcome.IMPORTED]
    copies = {proposal.decidim_id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.consultation_id == target.consultation.id))}
    for original in (published.portal, published.need):
        copy = copies[original.id]
        assert (copy.title, copy.body) == (original.title, original.body)
        assert [theme.name for theme in copy.themes] == [theme.name for theme in original.themes]
        assert copy.imported_vote_count == original.support_count
        assert copy.decidim_url == f"http://localhost/propositions/{original.id}"


def test_reading_a_consultation_of_many_proposals_takes_a_few_queries_per_page(published, monkeypatch):
    for number in range(25):
        make_proposal(published.consultation, published.riom, title=f"Contribution {number}")
    monkeypatch.setattr(exports, "PAGE_SIZE", 10)
    with counted_statements() as statements:
        rows = list(exports.proposal_rows(published.consultation))
    assert len(rows) == 27
    assert len(statements) <= 5 * 4  # 3 pages and the empty one: the page, themes, tags, co-sponsors, origins
