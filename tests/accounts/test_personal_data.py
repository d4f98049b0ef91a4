"""Each person's own data, at the service level: the download, the deletion inside and after the support
window, the name that replaces theirs, the retention command."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts import personal_data
from app.accounts.models import User
from app.accounts.services import authenticate, sign_in, sign_up
from app.committee.models import CommitteeNote
from app.consultations.models import PhaseKind
from app.core import audit, clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.mail import OutboxMessage, queue_mail
from app.extensions import db
from app.organizations.models import Membership
from app.votes import services as votes
from app.votes.models import Support, SupportEvent
from tests.factories import (PASSWORD, make_comment, make_consultation, make_diagnostic_request, make_member,
                             make_organization, make_proposal, make_user, seat)

DAY = timedelta(days=1)


def elected_of(organization, name: str = "Jeanne Barret", email: str = "jeanne@saint-flour.fr") -> Membership:
    return make_member(make_user(email, name), organization, role="elected")


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def quota(consultation, organization) -> int:
    return votes.quota_used(consultation, [organization.id]).get(organization.id, 0)


# --- The download -------------------------------------------------------------------------------------

def test_the_download_holds_the_persons_data_and_nobody_elses():
    consultation = make_consultation(PhaseKind.SUPPORT)
    member = elected_of(make_organization("Saint-Flour"))
    other = make_member(make_user("paul@murat.fr", "Paul Murat"), make_organization("Murat"), role="elected")
    proposal = make_proposal(consultation, other.organization, author=other.user, title="Cantine en ligne")
    make_comment(proposal, member, body="Mon avis sur la cantine.")
    make_comment(proposal, other, body="Réponse de Paul, qui n'est pas à Jeanne.")
    support = votes.cast_support(proposal, member.organization, by=member.user)
    seat(consultation, member.user, affiliation="Association des maires ruraux")
    db.session.add(CommitteeNote(proposal_id=proposal.id, author_id=member.user.id, body="Note privée de Jeanne."))
    queue_mail(member.user, "Bienvenue", "confirm_email", user=member.user, confirm_url="http://localhost/x")
    queue_mail(other.user, "Pour Paul", "confirm_email", user=other.user, confirm_url="http://localhost/y")
    sign_in(member.user.email, PASSWORD)
    db.session.commit()

    data = personal_data.personal_data_of(member.user)

    assert data["account"]["email"] == "jeanne@saint-flour.fr" and data["account"]["name"] == "Jeanne Barret"
    assert [row["organization_name"] for row in data["memberships"]] == ["Saint-Flour"]
    assert [row["body"] for row in data["comments"]] == ["Mon avis sur la cantine."]
    assert data["supports"] == [{"proposal_id": proposal.id, "proposal_title": "Cantine en ligne",
                                 "organization_name": "Saint-Flour", "cast_at": support.cast_at.isoformat(),
                                 "receipt_code": support.receipt_code}]
    assert [row["action"] for row in data["support_journal"]] == ["cast"]
    assert data["committee_seats"][0]["affiliation"] == "Association des maires ruraux"
    assert [row["body"] for row in data["committee_notes"]] == ["Note privée de Jeanne."]
    assert len(data["sessions"]) == 1 and [mail["subject"] for mail in data["mails"]] == ["Bienvenue"]
    assert data["proposals"] == []  # Paul's proposal is not hers
    text = json.dumps(data, ensure_ascii=False)
    for someone_else in ("paul@murat.fr", "Paul Murat", "Réponse de Paul", "Pour Paul"):
        assert someone_else not in text


def test_the_download_has_a_section_for_every_reference_to_a_person():
    """A new table pointing to users fails here until the download says what it holds about them."""
    covered = {(section.model.__tablename__, section.owner) for section in personal_data.SECTIONS}
    references = {(table.name, column.name) for table in db.metadata.tables.values()
                  for column in table.columns for key in column.foreign_keys if key.column.table.name == "users"}
    assert references - covered == set()


def test_the_audit_entries_about_a_person_are_in_their_download():
    member = make_member()
    admin = make_user(is_admin=True)
    audit.record("membership.verify", actor=admin, subject=member, data={"user_id": member.user.id})
    audit.record("moderation.block_user", actor=admin, subject=make_user())  # about someone else
    entries = personal_data.personal_data_of(member.user)["audit_entries"]
    assert [entry["action"] for entry in entries] == ["membership.verify"]


# --- Deletion inside the support window ---------------------------------------------------------------

def test_deleting_inside_the_window_withdraws_the_supports_and_the_organization_may_cast_them_again():
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=1)
    organization = make_organization("Saint-Flour")
    member, colleague = elected_of(organization), make_member(organization=organization, role="elected")
    proposal = make_proposal(consultation)
    votes.cast_support(proposal, organization, by=member.user)
    db.session.commit()
    assert quota(consultation, organization) == 1 and proposal.support_count == 1

    outcome = personal_data.delete_own_account(member.user, PASSWORD, source="/compte/supprimer")
    db.session.commit()

    assert (len(outcome.withdrawn), len(outcome.kept)) == (1, 0)
    assert count(Support) == 0 and quota(consultation, organization) == 0
    db.session.refresh(proposal)
    assert proposal.support_count == 0
    journal = db.session.scalars(sa.select(SupportEvent).order_by(SupportEvent.id)).all()
    assert [(event.action, event.actor_id) for event in journal] == [("cast", member.user.id),
                                                                      ("withdraw", member.user.id)]
    again = votes.cast_support(proposal, organization, by=colleague.user)  # the quota is the organization's again
    assert again.cast_by == colleague.user and proposal.support_count == 1


# --- Deletion after the support window ----------------------------------------------------------------

@pytest.fixture
def closed_window():
    """A support window that closed five days ago, with a support Jeanne cast in it, its tally frozen."""
    now = clock.now()
    consultation = make_consultation(PhaseKind.SUPPORT, now=now - 20 * DAY)
    member = elected_of(make_organization("Saint-Flour"))
    proposal = make_proposal(consultation, author=make_user())
    support = votes.cast_support(proposal, member.organization, by=member.user, now=now - 20 * DAY)
    tally = votes.frozen_tally(consultation, now)
    db.session.commit()
    return consultation, member, proposal, support, tally


def test_deleting_after_the_window_keeps_the_tally_and_replaces_the_name(closed_window):
    consultation, member, proposal, support, tally = closed_window
    user = member.user
    comment = make_comment(proposal, member, body="Un avis qui reste publié.")

    outcome = personal_data.delete_own_account(user, PASSWORD)
    db.session.commit()

    assert (len(outcome.withdrawn), len(outcome.kept)) == (0, 1)
    assert db.session.get(Support, support.id).cast_by.name == "Élu·e de Saint-Flour"
    db.session.refresh(proposal)
    assert proposal.support_count == 1 and quota(consultation, member.organization) == 1
    content = votes.tally_file(votes.tally_rows(consultation))
    assert content == tally.content and votes.digest_of(content) == tally.digest
    assert db.session.get(type(comment), comment.id).body == "Un avis qui reste publié."
    assert comment.author.name == "Élu·e de Saint-Flour"
    assert user.is_deleted and not user.is_active and user.email.endswith("@agora.invalid")
    assert count(Membership, Membership.user_id == user.id) == 0


def test_a_deleted_account_cannot_sign_in_and_its_address_signs_up_anew(closed_window):
    _consultation, member, _proposal, _support, _tally = closed_window
    queue_mail(member.user, "Un courriel en attente", "confirm_email", user=member.user, confirm_url="x")
    personal_data.delete_own_account(member.user, PASSWORD)
    db.session.commit()
    assert count(OutboxMessage, OutboxMessage.recipient == "jeanne@saint-flour.fr") == 0
    with pytest.raises(RuleViolation, match="incorrect"):
        authenticate("jeanne@saint-flour.fr", PASSWORD)
    newcomer = sign_up("Jeanne@Saint-Flour.fr", "Jeanne Barret", "une autre phrase assez longue")
    assert newcomer.id != member.user.id and newcomer.email == "jeanne@saint-flour.fr"


def test_the_deletion_is_audited_without_personal_data_and_the_chain_holds(closed_window):
    _consultation, member, _proposal, _support, _tally = closed_window
    user_id = member.user.id
    personal_data.delete_own_account(member.user, PASSWORD)
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor_id, entry.subject) == ("account.delete", user_id, f"users:{user_id}")
    assert entry.data == {"cause": "request", "supports_withdrawn": 0, "supports_kept": 1}
    assert audit.verify_chain() is None


def test_the_deleted_persons_own_contact_leaves_their_diagnostic_requests_a_colleagues_stays():
    organization = make_organization("Saint-Flour")
    jeanne = elected_of(organization).user
    own = make_diagnostic_request(organization, jeanne, status="closed")
    own.contact_phone = "04 71 60 00 00"
    colleague = make_diagnostic_request(organization, jeanne)
    colleague.contact_name, colleague.contact_email = "Paul Murat", "secretariat@saint-flour.fr"
    personal_data.delete_own_account(jeanne, PASSWORD)
    db.session.commit()
    db.session.refresh(own)
    db.session.refresh(colleague)
    assert (own.contact_name, own.contact_email, own.contact_phone) == ("Élu·e de Saint-Flour", "", "")
    assert (colleague.contact_name, colleague.contact_email) == ("Paul Murat", "secretariat@saint-flour.fr")
    assert own.needs == "Un diagnostic de nos outils numériques."  # the organization's request stays


def test_a_wrong_password_deletes_nothing():
    member = elected_of(make_organization("Saint-Flour"))
    with pytest.raises(RuleViolation, match="pas votre mot de passe") as refusal:
        personal_data.delete_own_account(member.user, "pas le bon mot de passe")
    assert refusal.value.field == "current_password"
    db.session.rollback()
    user = db.session.get(User, member.user.id)
    assert (user.name, user.email, user.deleted_at) == ("Jeanne Barret", "jeanne@saint-flour.fr", None)
    assert count(AuditEntry) == 0 and len(user.memberships) == 1


def test_an_account_nothing_points_to_is_removed_entirely():
    user = make_user("rien@example.org")
    user_id = user.id
    personal_data.delete_own_account(user, PASSWORD)
    assert db.session.get(User, user_id) is None
    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.actor_id, entry.subject) == (None, f"users:{user_id}")


@pytest.mark.parametrize("organization, role, expected", [
    ("Saint-Flour", "elected", "Élu·e de Saint-Flour"),
    ("Aurillac", "elected", "Élu·e d'Aurillac"),
    ("Murat", "agent", "Agent·e de Murat"),
])
def test_the_name_becomes_the_role_and_the_organization(organization, role, expected):
    member = make_member(organization=make_organization(organization), role=role)
    assert personal_data.replacement_name(member.user) == expected


def test_elected_membership_comes_first_then_the_committee_seat_then_nothing():
    user = make_user()
    assert personal_data.replacement_name(user) == "Compte supprimé"
    seat(make_consultation(), user, affiliation="ANCT")
    assert personal_data.replacement_name(user) == "Membre du comité (ANCT)"
    make_member(user, make_organization("Murat"), role="agent")
    make_member(user, make_organization("Saint-Flour"), role="elected")
    assert personal_data.replacement_name(user) == "Élu·e de Saint-Flour"


# --- Retention ----------------------------------------------------------------------------------------

def test_signing_in_records_the_last_sign_in(monkeypatch):
    user = make_user()
    moment = clock.now() - 3 * DAY
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert sign_in(user.email, PASSWORD).last_seen_at == moment


@pytest.fixture
def frozen(monkeypatch):
    """The clock stopped at a fixed instant for the command, as for every service it calls."""
    moment = clock.now().replace(microsecond=0)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


@pytest.fixture
def accounts(frozen):
    """One account of each fate, by the default settings (three years, one week)."""
    def user(created_days_ago, seen_days_ago=None, confirmed=True, **kwargs):
        account = make_user(confirmed=confirmed, **kwargs)
        account.created_at = frozen - created_days_ago * DAY
        account.last_seen_at = None if seen_days_ago is None else frozen - seen_days_ago * DAY
        return account
    made = {"inactive": user(2000, 1096), "never_seen": user(1096), "active": user(2000, 1094),
            "unconfirmed": user(8, confirmed=False), "fresh_sign_up": user(6, confirmed=False),
            "system": user(2000, confirmed=False), "inactive_admin": user(2000, 1096, is_admin=True)}
    made["system"].password_hash = "!"  # the platform's own account (imports)
    db.session.commit()
    return made


def run_purge(app, *options):
    return app.test_cli_runner().invoke(args=["accounts", "purge", *options])


def test_the_dry_run_says_what_it_would_remove_and_removes_nothing(app, accounts):
    before = {name: (user.email, user.name) for name, user in accounts.items()}
    result = run_purge(app, "--dry-run")
    assert result.exit_code == 0, result.output
    for name in ("inactive", "never_seen"):
        assert f"Compte n° {accounts[name].id} : aucune connexion depuis le" in result.output
    assert f"Compte n° {accounts['unconfirmed'].id} : inscription non confirmée depuis le" in result.output
    for name in ("active", "fresh_sign_up", "system", "inactive_admin"):
        assert f"Compte n° {accounts[name].id} :" not in result.output
    assert "Simulation : 3 comptes seraient supprimés ; rien n'a été supprimé." in result.output
    db.session.expire_all()
    assert {name: (user.email, user.name) for name, user in accounts.items()} == before
    assert count(AuditEntry) == 0


def test_the_purge_deletes_inactive_accounts_and_unconfirmed_sign_ups(app, accounts):
    ids = {name: user.id for name, user in accounts.items()}
    make_comment(make_proposal(), make_member(accounts["inactive"], make_organization("Murat")))
    result = run_purge(app)
    assert result.exit_code == 0, result.output
    assert "3 comptes supprimés." in result.output
    db.session.expire_all()
    assert db.session.get(User, ids["inactive"]).name == "Agent·e de Murat"  # kept: its comment points to it
    assert db.session.get(User, ids["never_seen"]) is None and db.session.get(User, ids["unconfirmed"]) is None
    for name in ("active", "fresh_sign_up", "system", "inactive_admin"):
        assert not db.session.get(User, ids[name]).is_deleted
    causes = db.session.scalars(sa.select(AuditEntry.data).where(AuditEntry.action == "account.delete")).all()
    assert sorted(data["cause"] for data in causes) == ["inactive", "inactive", "unconfirmed"]
    assert audit.verify_chain() is None
    assert run_purge(app).output == "Aucun compte à supprimer.\n"  # nothing left to do


def test_the_retention_periods_come_from_the_settings(app, accounts, monkeypatch):
    monkeypatch.setitem(app.config, "INACTIVE_ACCOUNT_RETENTION_DAYS", 1093)
    monkeypatch.setitem(app.config, "UNCONFIRMED_ACCOUNT_RETENTION_DAYS", 10)
    due = {user.id: cause for user, cause in personal_data.accounts_due()}
    assert due == {accounts["inactive"].id: "inactive", accounts["never_seen"].id: "inactive",
                   accounts["active"].id: "inactive"}
