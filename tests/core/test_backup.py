"""Backup and restore: a populated database comes back whole, every row and the frozen tally's digest.

They run on the session's database (SQLite, or PostgreSQL when TEST_DATABASE_URL names it), on the live app:
pg_restore replaces tables, which a test's rolled-back outer transaction would keep locked.
"""

import re
import shutil
import subprocess

import click
import pytest
import sqlalchemy as sa

from app.consultations.models import Consultation, PhaseKind
from app.core import audit, backup
from app.core.backup import PG_DUMP_HEADER, SQLITE_HEADER, postgresql_arguments
from app.extensions import db
from app.proposals.models import Comment, Proposal
from app.votes.models import Support, Tally
from app.votes.services import digest_of, frozen_tally, tally_file, tally_rows
from tests.browser import in_ci
from tests.factories import (make_comment, make_consultation, make_counted_support, make_member, make_organization,
                             make_proposal, make_user)


def unavailable(reason: str) -> None:
    """Skip here, fail in CI, where a skip would hide that backups went untested."""
    if in_ci():
        pytest.fail(f"{reason} (CI est défini : la sauvegarde PostgreSQL doit y être testée)", pytrace=False)
    pytest.skip(reason)


def require_postgresql_tools() -> None:
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' et '.join(missing)} absent(s) : installez postgresql-client de la version du serveur")


@pytest.fixture
def cli(live_app):
    if db.engine.dialect.name == "postgresql":
        require_postgresql_tools()
    runner = live_app.test_cli_runner()

    def invoke(*args, **kwargs):
        db.session.remove()  # the command's own connection must not wait for the test's locks
        return runner.invoke(args=["backup", *args], **kwargs)

    return invoke


@pytest.fixture
def consultation_id(live_app) -> int:
    """The id of a consultation past its support window: proposals, counted supports, a frozen tally, comments and
    an audit entry, committed."""
    consultation = make_consultation(PhaseKind.DELIBERATION)
    organizations = [make_organization() for _ in range(3)]
    proposals = [make_proposal(consultation, organizations[0]) for _ in range(3)]
    for index, proposal in enumerate(proposals):
        for organization in organizations[:index + 1]:
            make_counted_support(proposal, organization)
    member = make_member(organization=organizations[1])
    make_comment(proposals[0], member)
    make_comment(proposals[1], member, body="Un second avis.")
    audit.record("tally.frozen", actor=make_user(is_admin=True), subject=consultation)
    frozen_tally(consultation)
    db.session.commit()
    return consultation.id


def row_counts() -> dict[str, int]:
    """The number of rows of every table in the database, the application's or not (alembic_version, search)."""
    with db.engine.connect() as connection:
        return {name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                for name in sa.inspect(connection).get_table_names()}


def recomputed_digest(consultation_id: int) -> str:
    return digest_of(tally_file(tally_rows(db.session.get(Consultation, consultation_id))))


def damage(consultation_id: int) -> None:
    """What a restore must undo: a counted support and a comment deleted, a title changed, a user added."""
    db.session.delete(db.session.scalar(sa.select(Support).order_by(Support.id.desc()).limit(1)))
    db.session.delete(db.session.scalar(sa.select(Comment).limit(1)))
    db.session.scalar(sa.select(Proposal).where(Proposal.consultation_id == consultation_id)).title = "Remplacé"
    make_user()
    db.session.commit()


def test_restore_gives_back_every_row_and_the_tally_digest(cli, consultation_id, tmp_path):
    path = tmp_path / "agora.backup"
    counts, digest = row_counts(), db.session.get(Tally, consultation_id).digest
    assert recomputed_digest(consultation_id) == digest
    assert counts["supports"] == 6 and counts["comments"] == 2 and counts["audit_entries"] == 1
    assert counts["alembic_version"] == 1  # the restored database needs no migration

    created = cli("create", str(path))
    assert created.exit_code == 0, created.output
    assert re.fullmatch(rf"Sauvegarde écrite dans {re.escape(str(path))} : [\d,]+ (octets|Ko|Mo), "
                        rf"{len(counts)} tables, en \d+,\d s\.\n", created.output)
    assert not (tmp_path / "agora.backup.partial").exists()

    damage(consultation_id)
    assert row_counts() != counts and recomputed_digest(consultation_id) != digest
    db.session.remove()

    restored = cli("restore", "--yes", str(path))
    assert restored.exit_code == 0, restored.output
    assert restored.output.startswith(f"Base restaurée depuis {path} (")
    assert f": {len(counts)} tables, en " in restored.output

    assert row_counts() == counts
    assert db.session.get(Tally, consultation_id).digest == digest
    assert recomputed_digest(consultation_id) == digest
    assert "Remplacé" not in db.session.scalars(sa.select(Proposal.title)).all()
    assert audit.verify_chain() is None


def test_restore_asks_first_and_a_no_changes_nothing(cli, consultation_id, tmp_path):
    path = tmp_path / "agora.backup"
    assert cli("create", str(path)).exit_code == 0
    damage(consultation_id)
    counts = row_counts()

    declined = cli("restore", str(path), input="n\n")

    assert declined.exit_code == 1
    assert "La restauration remplace toute la base" in declined.output
    assert declined.output.endswith("Restauration annulée : la base n'a pas changé.\n")
    assert row_counts() == counts


@pytest.mark.parametrize("content", [b"id;titre\n1;Une proposition\n", SQLITE_HEADER + bytes(200),
                                     PG_DUMP_HEADER + bytes(200)], ids=["text", "sqlite", "pg_dump"])
def test_restore_refuses_a_file_that_is_not_a_backup_of_this_database(cli, consultation_id, tmp_path, content):
    path = tmp_path / "agora.backup"
    path.write_bytes(content)
    counts = row_counts()

    refused = cli("restore", "--yes", str(path))

    assert refused.exit_code == 1
    assert "rien n'a été restauré" in refused.output
    assert row_counts() == counts


def test_libpq_arguments_come_from_the_url_and_the_password_from_the_environment():
    url = sa.make_url("postgresql+psycopg://agora:s3cret@db.example.org:5433/agora")

    arguments, environment = postgresql_arguments(url)

    assert arguments == ["--host", "db.example.org", "--port", "5433", "--username", "agora", "--dbname", "agora"]
    assert environment["PGPASSWORD"] == "s3cret"
    assert postgresql_arguments(sa.make_url("postgresql+psycopg:///agora"))[0] == ["--dbname", "agora"]


def test_a_missing_pg_dump_is_named_with_the_package_to_install(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(click.ClickException, match=r"pg_dump introuvable : .*postgresql-client-15"):
        backup._tool("pg_dump", 15)


@pytest.mark.postgresql
def test_pg_dump_and_pg_restore_can_read_the_server(live_app):
    """pg_dump refuses a server newer than itself: the client tools must be the server's version or later."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TEST_DATABASE_URL ne désigne pas une base PostgreSQL")
    require_postgresql_tools()
    with db.engine.connect() as connection:
        server_major = int(connection.scalar(sa.text("SHOW server_version_num"))) // 10000
    for tool in ("pg_dump", "pg_restore"):
        version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
        assert int(re.search(r"(\d+)\.\d+", version).group(1)) >= server_major, version
