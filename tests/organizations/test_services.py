"""Organization rules: SIREN check, directory search, creation, membership requests and verification."""

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.extensions import db
from app.organizations import services
from app.organizations.models import MembershipStatus, Organization
from tests.factories import make_member, make_organization, make_user


@pytest.mark.parametrize("siren, valid", [
    ("130025265", True),    # DINUM
    ("211501879", True),    # Saint-Flour
    ("130025266", False),   # wrong check digit
    ("13002526", False),
    ("13002526a", False),
    ("", False),
])
def test_siren_is_luhn_checked(siren, valid):
    assert services.is_valid_siren(siren) is valid


def test_normalized_names_ignore_case_accents_and_punctuation():
    assert services.normalize_name("Saint-Étienne-de-Tinée") == "saint etienne de tinee"
    assert services.normalize_name("L'Haÿ-les-Roses") == "l hay les roses"


def test_search_by_name_insee_code_siren_kind_and_departement():
    flour = make_organization("Saint-Flour", population=6500, siren="211501879")
    make_organization("Saint-Flour-de-Mercoire", population=200, departement_code="48")
    make_organization("Mauriac", population=3500)

    def names(**criteria):
        return [org.name for org in db.session.scalars(services.search_organizations(**criteria))]

    assert names(query="saint flour") == ["Saint-Flour", "Saint-Flour-de-Mercoire"]  # largest first
    assert names(query="SAINT-FLOUR", departement="48") == ["Saint-Flour-de-Mercoire"]
    assert names(query="211501879") == ["Saint-Flour"]
    assert names(query=flour.insee_code) == ["Saint-Flour"]
    assert names(query="mauriac", kind="epci") == []
    assert names(query="100%_") == []  # LIKE wildcards are escaped


def test_ansm_eligibility_follows_kind_and_population():
    small_commune = make_organization(population=3499)
    big_commune = make_organization(population=3500)
    small_epci = make_organization(kind="epci", population=14999)
    big_epci = make_organization(kind="epci", population=15000)
    departement = make_organization(kind="departement", population=100)
    assert [o.is_ansm_eligible for o in (small_commune, big_commune, small_epci, big_epci, departement)] == [
        True, False, True, False, False]
    eligible = set(db.session.scalars(sa.select(Organization.id).where(Organization.is_ansm_eligible)))
    assert eligible == {small_commune.id, small_epci.id}


def test_admin_creates_an_organization_with_a_valid_siren_only():
    admin = make_user(is_admin=True)
    with pytest.raises(RuleViolation, match="SIREN n'est pas valide"):
        services.create_organization(kind="association", name="Asso", siren="123456789", departement_code=None,
                                     by=admin)
    with pytest.raises(RuleViolation, match="répertoire officiel"):
        services.create_organization(kind="commune", name="Commune", siren="130025265", departement_code=None,
                                     by=admin)
    with pytest.raises(RuleViolation, match="équipe d'administration"):
        services.create_organization(kind="association", name="Asso", siren="130025265", departement_code=None,
                                     by=make_user())
    created = services.create_organization(kind="etat", name="DINUM", siren="130 025 265", departement_code="75",
                                           by=admin)
    assert created.siren == "130025265" and created.is_verified
    with pytest.raises(RuleViolation, match="déjà ce numéro SIREN"):
        services.create_organization(kind="association", name="Autre", siren="130025265", departement_code=None,
                                     by=admin)
    assert db.session.scalar(sa.select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "organization.create"


def test_membership_request_then_verification_by_an_elected_colleague():
    commune = make_organization()
    elected = make_member(organization=commune, role="elected").user
    agent = make_member(organization=commune, role="agent").user
    newcomer = make_user()
    request = services.request_membership(newcomer, commune, "agent")
    assert request.status == MembershipStatus.PENDING
    with pytest.raises(RuleViolation, match="déjà demandé"):
        services.request_membership(newcomer, commune, "elected")
    with pytest.raises(RuleViolation, match="ne pouvez pas traiter"):
        services.decide_membership(request, accept=True, by=agent)  # agents do not verify
    services.decide_membership(request, accept=True, by=elected)
    assert request.status == MembershipStatus.VERIFIED and request.verified_by == elected
    with pytest.raises(RuleViolation, match="déjà été traitée"):
        services.decide_membership(request, accept=False, by=elected)


def test_nobody_verifies_their_own_request_except_an_admin_and_elected_of_other_orgs_cannot():
    commune, other = make_organization(), make_organization()
    elected_elsewhere = make_member(organization=other, role="elected").user
    applicant = make_user()
    request = services.request_membership(applicant, commune, "elected")
    with pytest.raises(RuleViolation):
        services.decide_membership(request, accept=True, by=applicant)
    with pytest.raises(RuleViolation):
        services.decide_membership(request, accept=True, by=elected_elsewhere)
    services.decide_membership(request, accept=False, by=make_user(is_admin=True))
    assert request.status == MembershipStatus.REFUSED
    renewed = services.request_membership(applicant, commune, "agent")  # a refused request may be renewed
    assert renewed.id == request.id and renewed.status == MembershipStatus.PENDING and renewed.role == "agent"


def test_elected_official_of_an_unverified_organization_cannot_verify():
    unverified = make_organization(is_verified=False)
    elected = make_member(organization=unverified, role="elected").user
    request = services.request_membership(make_user(), unverified, "agent")
    with pytest.raises(RuleViolation):
        services.decide_membership(request, accept=True, by=elected)


def test_a_user_may_belong_to_several_organizations():
    user = make_user()
    for organization in (make_organization(), make_organization(kind="epci")):
        services.request_membership(user, organization, "agent")
    assert len(user.memberships) == 2


def test_pending_requests_listed_for_each_verifier():
    commune, other = make_organization(), make_organization()
    elected = make_member(organization=commune, role="elected").user
    mine = services.request_membership(make_user(), commune, "agent")
    theirs = services.request_membership(make_user(), other, "agent")
    assert list(db.session.scalars(services.pending_requests_for(elected))) == [mine]
    assert set(db.session.scalars(services.pending_requests_for(make_user(is_admin=True)))) == {mine, theirs}
    assert list(db.session.scalars(services.pending_requests_for(make_user()))) == []
