"""Neighbour lists written by the worker stay what a computation from scratch would give, whatever the order
of saves, edits and batches, and when two workers embed versions of one consultation at the same time."""

import subprocess
import sys
import time

import numpy as np
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import jobs
from app.extensions import db
from app.proposals import services, similarity, vectors
from app.proposals.models import Proposal, ProposalNeighbour, ProposalVector
from tests.factories import CANTEEN, CYBER, TRANSPORT, make_consultation, make_member, proposal_input, submit_proposal
from config import ROOT
from tests.helpers import run_jobs

TOWNS = ["Aurillac", "Mauriac", "Murat", "Riom-ès-Montagnes"]


def variant(text: dict, town: str) -> dict:
    """The same topic told by another town: close to the others, never equal."""
    return {"title": f"{text['title']} à {town}", "summary": text["summary"],
            "body": f"{text['body']} C'est le cas à {town}, où le conseil en a débattu."}


def stored_lists(consultation) -> dict[int, list[int]]:
    rows = db.session.execute(
        sa.select(ProposalNeighbour.proposal_id, ProposalNeighbour.neighbour_id)
        .join(Proposal, Proposal.id == ProposalNeighbour.proposal_id)
        .where(Proposal.consultation_id == consultation.id)
        .order_by(ProposalNeighbour.proposal_id, ProposalNeighbour.score.desc())).all()
    lists: dict[int, list[int]] = {}
    for proposal_id, neighbour_id in rows:
        lists.setdefault(proposal_id, []).append(neighbour_id)
    return lists


def lists_from_scratch(consultation) -> dict[int, list[int]]:
    """Every list computed again from the stored vectors: what the lists written step by step must equal."""
    rows = db.session.execute(
        sa.select(ProposalVector.proposal_id, ProposalVector.vector)
        .join(Proposal, Proposal.id == ProposalVector.proposal_id)
        .where(Proposal.consultation_id == consultation.id).order_by(ProposalVector.proposal_id)).all()
    matrix = np.stack([similarity.from_bytes(vector) for _id, vector in rows])
    found = similarity.nearest(matrix, list(range(len(rows))), vectors.NEIGHBOURS)
    return {rows[row][0]: [rows[other][0] for other, _score in neighbours]
            for row, neighbours in enumerate(found) if neighbours}


def test_lists_stay_exact_through_saves_edits_and_batches_of_any_size(monkeypatch):
    monkeypatch.setattr(vectors, "NEIGHBOURS", 3)  # lists fill up: which lists a version enters depends on floors
    consultation = make_consultation(PhaseKind.COLLECT)
    member = make_member()
    proposals = [submit_proposal(consultation, member, **variant(text, town))
                 for text in (CANTEEN, TRANSPORT) for town in TOWNS]
    run_jobs()
    assert stored_lists(consultation) == lists_from_scratch(consultation)
    assert {len(neighbours) for neighbours in stored_lists(consultation).values()} == {3}

    proposals += [submit_proposal(consultation, member, publish=False, **variant(CYBER, town)) for town in TOWNS]
    for proposal, text in ((proposals[0], CYBER), (proposals[5], CANTEEN)):  # one leaves its topic, one joins it
        services.update_proposal(proposal, proposal_input(consultation, **variant(text, "Saint-Flour")),
                                 by=member.user)
    db.session.commit()
    run_jobs()
    assert stored_lists(consultation) == lists_from_scratch(consultation)

    services.update_proposal(proposals[1], proposal_input(consultation, **variant(TRANSPORT, "Ydes")), by=member.user)
    services.update_proposal(proposals[9], proposal_input(consultation, **variant(CANTEEN, "Ydes")), by=member.user)
    db.session.commit()
    while jobs.run_pending(batch_size=1):  # one job per transaction this time
        pass
    assert stored_lists(consultation) == lists_from_scratch(consultation)


# A worker of its own: the app on the test's database, the model loaded, waiting for the start signal (a
# file) to run its jobs one per transaction. Processes rather than threads: threads of one process take
# turns at the model (similarity.embed's lock), which would keep their jobs from ever meeting.
WORKER = """
import os, sys, time
from app import create_app
from app.core import jobs
from app.proposals import similarity
url, options, ready, start = sys.argv[1:]
app = create_app("test", SQLALCHEMY_DATABASE_URI=url,
                 SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": options}} if options else {})
similarity.embed(["Chargement du modèle."])
open(ready, "w").close()
while not os.path.exists(start):
    time.sleep(0.01)
with app.app_context():
    while jobs.run_pending(batch_size=1):
        pass
"""


def test_two_workers_embedding_versions_of_one_consultation_at_once_see_each_other(live_app, tmp_path):
    # Pairs of close drafts, each pair in a consultation of its own: the two workers meet once per pair,
    # and no later job renews a pair's lists (which would mend what a race broke).
    member = make_member()
    consultations = [make_consultation(PhaseKind.COLLECT) for _ in range(6)]
    pairs = [[submit_proposal(consultation, member, publish=False, **variant(CANTEEN, town)).id for town in TOWNS[:2]]
             for consultation in consultations]
    url = live_app.config["SQLALCHEMY_DATABASE_URI"]
    options = live_app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("options", "")
    start, ready = tmp_path / "start", [tmp_path / f"ready-{number}" for number in range(2)]
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url, options, str(path), str(start)], cwd=ROOT)
               for path in ready]
    while not all(path.exists() for path in ready):
        assert all(worker.poll() is None for worker in workers), "a worker stopped before starting"
        time.sleep(0.05)
    start.touch()  # both are released together
    assert [worker.wait(timeout=300) for worker in workers] == [0, 0]

    assert [stored_lists(consultation) for consultation in consultations] == [
        {first: [second], second: [first]} for first, second in pairs]
    db.session.remove()
