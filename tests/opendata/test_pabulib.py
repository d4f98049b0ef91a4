"""The Pabulib format: reading (and refusing malformed files with the line), writing, the `pabulib select`
command, and a consultation's counted supports exported as a `.pb` file."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import config
from app.committee.budgeting import greedy
from app.consultations.models import PhaseKind
from app.extensions import db
from app.opendata.pabulib import PabulibError, read_pb, to_instance, write_pb
from app.proposals.models import ProposalState
from tests.factories import make_counted_support, make_consultation, make_organization, make_proposal

TOULOUSE = Path(config.ROOT).parent / "shared" / "data" / "pabulib-france-toulouse-2024.pb"

SMALL = """META
key;value
description;Petit budget participatif
num_projects;3
num_votes;3
budget;30
vote_type;approval
PROJECTS
project_id;cost;votes;name
A;20;2;Tiers-lieu numérique
B;10;1;"Bornes ; accès"
C;15;3;Cantine
VOTES
voter_id;vote
v1;A,C
v2;A,C
v3;B,C
"""


def select(app, path: Path, *options: str):
    return app.test_cli_runner().invoke(args=["pabulib", "select", str(path), *options])


def test_a_file_is_read_section_by_section(app):
    with app.app_context():
        pb = read_pb(SMALL)

    assert pb.meta["budget"] == "30" and pb.meta["vote_type"] == "approval"
    assert list(pb.projects) == ["A", "B", "C"] and pb.projects["B"]["name"] == "Bornes ; accès"
    assert pb.vote_columns == ["voter_id", "vote"] and pb.votes["v3"]["vote"] == "B,C"


def test_what_is_written_reads_back_the_same(app):
    with app.app_context():
        pb = read_pb(SMALL)
        again = read_pb(write_pb(pb))

    assert again == pb


def test_costs_with_cents_become_whole_units_for_the_rules(app):
    text = SMALL.replace("A;20;", "A;20.5;").replace("budget;30", "budget;30.25")
    with app.app_context():
        instance, scale = to_instance(read_pb(text))

    assert scale == 100
    assert instance.costs == {"A": 2050, "B": 1000, "C": 1500} and instance.budget == 3025
    assert instance.ballots[0] == frozenset({"A", "C"})


@pytest.mark.parametrize(("text", "message"), [
    ("project_id;cost\nA;1\n", "ligne 1 : le fichier doit commencer par la section META"),
    ("PROJECTS\nproject_id;cost\n", "ligne 1 : la section PROJECTS n'est pas à sa place"),
    (SMALL.replace("A;20;2", "A;vingt;2"), "ligne 10 : le coût doit être un nombre positif, pas « vingt »"),
    (SMALL.replace("A;20;2", "A;0;2"), "ligne 10 : le coût doit être un nombre positif"),
    (SMALL.replace("budget;30", "budget;-1"), "ligne 6 : le budget doit être un nombre positif"),
    (SMALL.replace("C;15;3", "A;15;3"), "ligne 12 : identifiant de projet vide ou en double (« A »)"),
    (SMALL.replace("v3;B,C", "v3;B,D"), "ligne 17 : le vote cite un projet inconnu (« D »)"),
    (SMALL.replace("v2;A,C", "v1;A,C"), "ligne 16 : identifiant de votant vide ou en double"),
    (SMALL.replace("C;15;3;Cantine", "C;15;3"), "ligne 12 : 3 valeurs pour 4 colonnes"),
    (SMALL.replace("project_id;cost", "id;prix"), "ligne 9 : l'en-tête de la section PROJECTS doit avoir"),
    (SMALL.replace("VOTES\n", "META\n"), "ligne 13 : la section META n'est pas à sa place"),
    (SMALL[:SMALL.index("VOTES")], "la section VOTES manque"),
    (SMALL.replace("budget;30\n", ""), "la section META ne donne pas le budget"),
])
def test_a_malformed_file_is_refused_with_the_line_and_the_reason(app, text, message):
    with app.app_context(), pytest.raises(PabulibError) as refused:
        read_pb(text)

    assert message in str(refused.value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("METAPROJCSVkeyvalubdgt_i;,\n\"0123.- "))))
def test_no_text_makes_the_reader_fail_otherwise_than_with_a_message(app, text):
    with app.app_context():
        try:
            read_pb(SMALL[:len(SMALL) // 2] + text)
        except PabulibError as error:
            assert str(error).startswith("Fichier Pabulib")


def test_only_approval_votes_go_to_the_rules(app):
    with app.app_context(), pytest.raises(PabulibError) as refused:
        to_instance(read_pb(SMALL.replace("vote_type;approval", "vote_type;ordinal")))

    assert "votes d'approbation" in str(refused.value)


# The select command -----------------------------------------------------------------------------------

@pytest.fixture
def small_file(tmp_path) -> Path:
    path = tmp_path / "petit.pb"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_select_prints_the_winners_one_per_line(app, small_file):
    assert select(app, small_file, "--rule", "greedy").output == "C\nB\n"
    assert select(app, small_file, "--rule", "mes-cardinality").output == "C\n"
    assert select(app, small_file, "--rule", "mes-cost", "--completion", "greedy").output == "C\nB\n"


def test_select_writes_json_with_the_total_and_the_time(app, small_file):
    result = select(app, small_file, "--rule", "mes-cost", "--completion", "greedy", "--json")

    written = json.loads(result.output)
    assert written["selected"] == ["C", "B"] and written["completed"] == ["B"]
    assert (written["total_cost"], written["budget"], written["left"]) == (25, 30, 5)
    assert written["seconds"] >= 0


def test_select_refuses_a_malformed_file_with_a_message_not_a_traceback(app, tmp_path):
    path = tmp_path / "casse.pb"
    path.write_text(SMALL.replace("A;20;2", "A;vingt;2"), encoding="utf-8")

    result = select(app, path, "--rule", "greedy")

    assert result.exit_code == 1 and not isinstance(result.exception, PabulibError)
    assert "Fichier Pabulib, ligne 10 : le coût doit être un nombre positif" in result.output


@pytest.mark.skipif(not TOULOUSE.is_file(), reason="shared/data is not beside this clone")
def test_select_on_toulouse_2024_spends_the_envelope_with_greedy(app):
    written = json.loads(select(app, TOULOUSE, "--rule", "greedy", "--json").output)

    assert len(written["selected"]) == 72 and written["total_cost"] == written["budget"] == 8_000_000


# Export ---------------------------------------------------------------------------------------------------



@pytest.fixture
def supported(app):
    """A consultation of 120,000 € where supports count from 2: Aurillac (2 supports) and Mauriac (2) count,
    Murat (1) does not. A merged service stands for two originals; one service asks for no budget."""
    consultation = make_consultation(PhaseKind.DELIBERATION, slug="services-2027", budget_envelope_cents=12_000_000,
                                     minimum_votes_per_user=2)
    aurillac, mauriac, murat = (make_organization(name) for name in ("Aurillac", "Mauriac", "Murat"))
    portal = make_proposal(consultation, kind="service", title="Portail", requested_budget_cents=4_000_050)
    merged = make_proposal(consultation, kind="service", title="Cantines", requested_budget_cents=6_000_000)
    first, second = (make_proposal(consultation, kind="service", requested_budget_cents=1_000_000,
                                   merged_into_id=merged.id, state=ProposalState.PUBLISHED) for _ in range(2))
    free = make_proposal(consultation, kind="service", title="Sans budget", requested_budget_cents=None)
    need = make_proposal(consultation, title="Un besoin")
    make_counted_support(portal, aurillac)
    make_counted_support(first, aurillac)
    make_counted_support(second, mauriac)
    make_counted_support(free, mauriac)
    make_counted_support(portal, murat)
    return consultation, {"portal": portal, "merged": merged, "need": need, "free": free}, (aurillac, mauriac)


def export(app, *options: str) -> str:
    result = app.test_cli_runner().invoke(args=["pabulib", "export", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_export_writes_the_counted_supports_of_listed_proposals_with_a_budget(app, supported):
    consultation, proposals, (aurillac, mauriac) = supported

    with app.app_context():
        pb = read_pb(export(app, "--consultation", "services-2027"))

    portal, merged = str(proposals["portal"].id), str(proposals["merged"].id)
    assert list(pb.projects) == sorted([portal, merged], key=int)  # no need, no service without a budget
    assert pb.projects[portal]["cost"] == "40000.50" and pb.projects[merged]["cost"] == "60000"
    assert pb.projects[portal]["name"] == "Portail"
    # Murat's single support does not count; the merged service counts its originals' supporters.
    both = ",".join(sorted([portal, merged], key=int))
    assert pb.votes == {str(aurillac.id): {"voter_id": str(aurillac.id), "vote": both},
                        str(mauriac.id): {"voter_id": str(mauriac.id), "vote": merged}}
    assert (pb.projects[portal]["votes"], pb.projects[merged]["votes"]) == ("1", "2")
    assert pb.meta["budget"] == "120000" and pb.meta["currency"] == "EUR" and pb.meta["vote_type"] == "approval"
    assert (pb.meta["num_projects"], pb.meta["num_votes"], pb.meta["min_length"]) == ("2", "2", "2")
    assert pb.meta["date_begin"].count(".") == 2


def test_the_exported_file_feeds_the_rules(app, supported, tmp_path):
    _consultation, proposals, _organizations = supported
    path = tmp_path / "services.pb"
    export(app, "--consultation", "services-2027", "--output", str(path))

    with app.app_context():
        instance, scale = to_instance(read_pb(path.read_text(encoding="utf-8")))

    assert scale == 10 and instance.budget == 1_200_000  # the smallest scale making 40,000.50 € whole
    assert instance.costs[str(proposals["portal"].id)] == 400_005
    assert greedy(instance).selected == [str(proposals["merged"].id), str(proposals["portal"].id)]


def test_export_names_no_organization_when_supporters_are_hidden(app, supported):
    consultation, _proposals, (aurillac, mauriac) = supported
    consultation.supporters_hidden = True
    db.session.commit()

    with app.app_context():
        pb = read_pb(export(app, "--consultation", "services-2027"))

    assert len(pb.votes) == 2 and all(voter.startswith("org-") for voter in pb.votes)
    assert str(aurillac.id) not in pb.votes


def test_export_of_an_unknown_consultation_says_so(app):
    result = app.test_cli_runner().invoke(args=["pabulib", "export", "--consultation", "inconnue"])

    assert result.exit_code == 1 and "Aucune consultation n'a l'identifiant « inconnue »" in result.output
