"""Organization rules: SIREN check, directory search, creation, membership requests and verification."""

import pytest
import sqlalchemy as sa

from app.core import clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations import services
from app.organizations.models import MembershipStatus, Organization, OrganizationPostalCode
from tests.factories import make_member, make_organization, make_user
from tests.helpers import counted_statements


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


def test_normalized_names_spell_out_st_and_ste_as_words_only():
    assert services.normalize_name("St. Étienne") == "saint etienne"
    assert services.normalize_name("STE-MARIE") == "sainte marie"
    assert services.normalize_name("Stella-Plage") == "stella plage"


def names(**criteria) -> list[str]:
    return [org.name for org in db.session.scalars(services.search_organizations(**criteria))]


def test_search_by_name_insee_code_siren_kind_and_departement():
    flour = make_organization("Saint-Flour", population=6500, siren="211501879")
    make_organization("Saint-Flour-de-Mercoire", population=200, departement_code="48")
    make_organization("Mauriac", population=3500)

    assert names(query="saint flour") == ["Saint-Flour", "Saint-Flour-de-Mercoire"]  # largest first
    assert names(query="SAINT-FLOUR", departement="48") == ["Saint-Flour-de-Mercoire"]
    assert names(query="211501879") == ["Saint-Flour"]
    assert names(query=flour.insee_code) == ["Saint-Flour"]
    assert names(query="mauriac", kind="epci") == []
    assert names(query="100%_") == []  # LIKE wildcards are escaped


@pytest.mark.parametrize("query", ["st flour", "saint flour", "saint-flour", "ST-FLOUR", "St. Flour"])
def test_search_reads_st_as_saint(query):
    make_organization("Saint-Flour", population=6500)
    assert names(query=query) == ["Saint-Flour"]


def test_search_reads_ste_as_sainte_and_finds_names_written_with_the_abbreviation():
    make_organization("Sainte-Marie", population=75)
    make_organization("CC du Pays de Pontchâteau St-Gildas-des-Bois", kind="epci", population=36000)
    assert names(query="ste marie") == names(query="Ste. Marie") == ["Sainte-Marie"]
    assert names(query="saint gildas") == ["CC du Pays de Pontchâteau St-Gildas-des-Bois"]


def test_a_five_digit_query_finds_communes_by_postal_code_and_by_insee_code():
    flour, anglards, marseille, laveissenet = (
        make_organization(name, population=population) for name, population in
        [("Saint-Flour", 6500), ("Anglards-de-Saint-Flour", 400), ("Marseille", 870000), ("Laveissenet", 137)])
    laveissenet.insee_code = "15100"  # the INSEE code of one commune is the postal code of others
    db.session.add_all([OrganizationPostalCode(organization_id=organization.id, postal_code=code)
                        for organization, code in [(flour, "15100"), (anglards, "15100"), (marseille, "13001"),
                                                   (marseille, "13002"), (laveissenet, "15300")]])
    db.session.commit()
    assert names(query="15100") == ["Saint-Flour", "Anglards-de-Saint-Flour", "Laveissenet"]
    assert names(query=" 13002 ") == ["Marseille"]
    assert names(query="15300", kind="epci") == []


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


def test_pending_requests_are_counted_by_the_same_rule_in_one_query_each():
    commune, other = make_organization(), make_organization()
    elected = make_member(organization=commune, role="elected").user
    services.request_membership(make_user(), commune, "agent")
    services.request_membership(make_user(), other, "elected")
    services.request_membership(elected, other, "agent")  # nobody counts their own request
    users = [elected, make_user(is_admin=True), make_user()]
    for user in users:
        db.session.refresh(user)  # loaded now, so that only the counts reach the database below
    with counted_statements() as statements:
        counts = [services.count_pending_requests_for(user) for user in users]
    assert counts == [1, 3, 0] and len(statements) == 3


def outbox() -> dict[str, OutboxMessage]:
    return {message.recipient: message for message in db.session.scalars(sa.select(OutboxMessage))}


def test_a_request_is_mailed_to_the_organizations_verified_elected_officials_in_their_language():
    commune = make_organization("Murat")
    french = make_member(organization=commune, role="elected").user
    english = make_member(make_user(locale="en"), commune, role="elected").user
    make_member(organization=commune, role="agent")  # agents do not decide
    make_member(organization=commune, role="elected", status=MembershipStatus.PENDING)
    make_member(role="elected")  # elected elsewhere
    make_member(organization=commune, role="elected").user.blocked_at = clock.now()
    make_user(is_admin=True)  # not needed: the organization has its deciders
    services.request_membership(make_user("lea.fabre@example.org", "Léa Fabre"), commune, "elected")

    mails = outbox()
    assert set(mails) == {french.email, english.email}
    assert mails[french.email].subject == "Une demande d'adhésion attend votre décision"
    assert ("Léa Fabre (lea.fabre@example.org) demande à rejoindre « Murat » sur Agora, en tant que : "
            "Élu ou élue.") in mails[french.email].body
    assert mails[english.email].subject == "A membership request awaits your decision"
    assert "Léa Fabre (lea.fabre@example.org) asks to join “Murat” on Agora, as: Elected official." in (
        mails[english.email].body)
    assert all("http://localhost/adhesions/a-traiter" in mail.body for mail in mails.values())


def test_a_request_nobody_in_the_organization_can_decide_is_mailed_to_the_admins():
    unverified = make_organization(is_verified=False)
    make_member(organization=unverified, role="elected")  # cannot verify in an unverified organization
    admins = {make_user(is_admin=True).email, make_user(is_admin=True).email}
    services.request_membership(make_user(is_admin=True), unverified, "agent")  # an admin, but the requester
    assert set(outbox()) == admins
