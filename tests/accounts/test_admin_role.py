"""The admin role: given and taken back from the command line (a new site's first admin has nobody to ask), and
never left without anyone, neither by taking it back nor by deleting the last admin's account."""

import sqlalchemy as sa

from app.accounts import personal_data
from app.accounts.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import PASSWORD, make_user
from tests.helpers import text_of

LAST = "Agora n'aurait plus personne pour l'administrer : confiez d'abord ce rôle à un autre compte."


def admin(app, *arguments):
    return app.test_cli_runner().invoke(args=["accounts", "admin", *arguments])


def is_admin(email: str) -> bool:
    db.session.expire_all()
    return db.session.scalar(sa.select(User.is_admin).where(User.email == email))


def test_the_command_gives_the_role_then_takes_it_back_while_another_admin_remains(app, client):
    make_user("camille@example.org", "Camille Roux", is_admin=True)
    make_user("lea@example.org", "Léa Vidal")
    db.session.commit()
    given = admin(app, "Lea@Example.org")
    assert given.exit_code == 0 and given.output == "Léa Vidal administre Agora.\n"
    assert is_admin("lea@example.org")
    taken = admin(app, "camille@example.org", "--retirer")
    assert taken.exit_code == 0 and taken.output == "Camille Roux n'administre plus Agora.\n"
    assert not is_admin("camille@example.org")
    assert db.session.scalars(sa.select(AuditEntry.data).where(AuditEntry.action == "account.admin")).all() == [
        {"admin": True}, {"admin": False}]
    journal = text_of(client.sign_in_as(db.session.scalar(sa.select(User).filter_by(email="lea@example.org")))
                      .get("/admin/journal"))
    assert "La plateforme a changé le rôle d'administration de" in journal and "Rôle retiré" in journal


def test_the_command_refuses_in_french_and_changes_nothing(app):
    make_user("camille@example.org", is_admin=True)
    make_user("attente@example.org", confirmed=False)
    db.session.commit()
    for arguments, message in ((["inconnu@example.org"], "Aucun compte n'a cette adresse."),
                               (["attente@example.org"], "Ce compte n'a pas encore confirmé son adresse électronique."),
                               (["camille@example.org", "--retirer"], LAST)):
        refused = admin(app, *arguments)
        assert refused.exit_code == 1 and message in refused.output
    assert is_admin("camille@example.org") and not is_admin("attente@example.org")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_the_last_admin_cannot_delete_their_account_another_admin_can(client):
    last = make_user("camille@example.org", is_admin=True)
    db.session.commit()
    page = text_of(client.sign_in_as(last).post_form("/compte/supprimer", {"current_password": PASSWORD}))
    assert LAST in page
    assert not db.session.get(User, last.id).is_deleted and client.get("/compte/").status_code == 200
    make_user("lea@example.org", is_admin=True)
    db.session.commit()
    personal_data.delete_own_account(last, PASSWORD)
    assert last.is_deleted
