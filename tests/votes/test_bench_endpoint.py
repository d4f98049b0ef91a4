"""The support benchmark's bare endpoint (bench/support_app.py) writes what casting and withdrawing
write: otherwise the floor it measures would not be the floor of the real endpoints."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.organizations.models import Membership
from app.proposals.models import Proposal
from app.votes.models import Support, SupportEvent, SupportQuota
from bench.support_app import create_bench_app
from tests.conftest import Client
from tests.factories import make_consultation, make_member, make_proposal


@pytest.fixture
def bench_app(app):
    """The benchmark's app; the test's session (shared by every app) holds the data."""
    bench_app = create_bench_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                 SQLALCHEMY_ENGINE_OPTIONS=app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    bench_app.test_client_class = Client
    return bench_app


def written(proposal: Proposal, official: Membership) -> dict:
    """What the official's casts and withdrawals left in the database, told without ids."""
    db.session.expire_all()
    support = db.session.scalar(sa.select(Support).filter_by(proposal_id=proposal.id))
    return {
        "support": support and (support.consultation_id == proposal.consultation_id,
                                support.organization_id == official.organization_id,
                                support.cast_by_id == official.user_id, len(support.receipt_code)),
        "quota": db.session.scalar(sa.select(SupportQuota.used).filter_by(
            consultation_id=proposal.consultation_id, organization_id=official.organization_id)),
        "count": db.session.get(Proposal, proposal.id).support_count,
        "journal": [(event.action, event.organization_id == official.organization_id,
                     event.actor_id == official.user_id, event.source)
                    for event in db.session.scalars(sa.select(SupportEvent).filter_by(proposal_id=proposal.id)
                                                    .order_by(SupportEvent.id))],
    }


def test_the_benchmark_endpoints_write_what_the_real_endpoints_write(client, bench_app):
    consultation = make_consultation()
    real, bare, signed = (make_proposal(consultation) for _ in range(3))
    real_official, bare_official, signed_official = (make_member(role="elected") for _ in range(3))
    client.sign_in_as(real_official.user)
    bare_client, signed_client = bench_app.test_client(), bench_app.test_client().sign_in_as(signed_official.user)

    for action, path in (("cast", "soutenir"), ("withdraw", "retirer-soutien")):
        real_response = client.post_form(f"/propositions/{real.id}/{path}", {
            "organization_id": real_official.organization_id, "next": "/ici"})
        bare_response = bare_client.post(f"/bench/bare/{bare.id}/{action}", data={
            "consultation_id": consultation.id, "organization_id": bare_official.organization_id,
            "user_id": bare_official.user_id, "next": "/ici"})
        signed_response = signed_client.post_form(f"/bench/signed-in/{signed.id}/{action}", {
            "consultation_id": consultation.id, "organization_id": signed_official.organization_id, "next": "/ici"})
        assert {real_response.headers["Location"], bare_response.headers["Location"],
                signed_response.headers["Location"]} == {"/ici"}
        assert written(real, real_official) == written(bare, bare_official) == written(signed, signed_official)
    assert written(bare, bare_official) == {"support": None, "quota": 0, "count": 0, "journal": [
        ("cast", True, True, "/ici"), ("withdraw", True, True, "/ici")]}


def test_the_signed_in_floor_pays_the_session_and_csrf_check_of_every_form(bench_app):
    consultation = make_consultation()
    proposal, official = make_proposal(consultation), make_member(role="elected")
    form = {"consultation_id": consultation.id, "organization_id": official.organization_id}
    anonymous = bench_app.test_client().post_form(f"/bench/signed-in/{proposal.id}/cast", form)
    assert "/compte/connexion" in anonymous.headers["Location"]
    without_token = bench_app.test_client().sign_in_as(official.user).post(f"/bench/signed-in/{proposal.id}/cast",
                                                                           data=form)
    assert without_token.status_code == 400
    assert written(proposal, official)["support"] is None
