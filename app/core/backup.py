"""Backing up the whole database to a file and restoring it: pg_dump/pg_restore, or SQLite's backup API.

A backup holds every table of the application, `alembic_version` included, so that after a restore the
application runs as it ran when the backup was made: nothing else to migrate or rebuild.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"  # the custom format of pg_dump
# A line of `pg_restore --list` naming a schema: "7; 2615 191245 SCHEMA - agora postgres".
DUMPED_SCHEMA = re.compile(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", re.MULTILINE)


def postgresql_arguments(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """The libpq connection options of `url` for pg_dump and pg_restore, and the environment they run in.

    The password goes through PGPASSWORD: on the command line, any user of the machine could read it.
    """
    arguments = []
    for option, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value is not None:
            arguments += [option, str(value)]
    arguments += ["--dbname", url.database or ""]
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = url.password
    return arguments, environment


def _tool(name: str, server_major: int) -> str:
    path = shutil.which(name)
    if path is None:
        raise click.ClickException(
            f"{name} introuvable : installez le client PostgreSQL de la version du serveur "
            f"(paquet Debian postgresql-client-{server_major}) et relancez la commande.")
    return path


def _run(command: list[str], environment: dict[str, str], *, failure: str) -> str:
    """`command`'s output; if it fails, `failure` (what it means for the database) and its own messages."""
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{Path(command[0]).name} a échoué (code {done.returncode}) : {failure}\n"
                                   f"{done.stderr.strip()}")
    return done.stdout


def _postgresql_scope(engine: sa.Engine) -> tuple[str | None, int]:
    """The schema the application lives in (None when its search_path names none that exists: a restore
    creates it), and the server's major version."""
    with engine.connect() as connection:
        schema = connection.scalar(sa.text("SELECT current_schema()"))
        version = int(connection.scalar(sa.text("SHOW server_version_num")))
    return schema, version // 10000


def _schema_options(schema: str) -> list[str]:
    """In `public`, the whole database: the `unaccent` extension the search needs comes along, so a new,
    empty database can be restored into. In a schema of its own (one database shared by several
    instances, or by test runs), only that schema: the others are not the application's to replace, and
    database-wide extensions stay as the migrations made them."""
    return [] if schema == "public" else ["--schema", schema]


def _sqlite_path(engine: sa.Engine) -> Path:
    if engine.url.database in (None, "", ":memory:"):
        raise click.ClickException("La base SQLite est en mémoire : il n'y a pas de fichier à sauvegarder ou "
                                   "à restaurer.")
    return Path(engine.url.database)


def _has_header(path: Path, header: bytes) -> bool:
    with path.open("rb") as file:
        return file.read(len(header)) == header


def _table_count(engine: sa.Engine) -> int:
    return len(sa.inspect(engine).get_table_names())


def _size(path: Path) -> str:
    size = path.stat().st_size
    if size < 1024:
        return f"{size} octets"
    for unit in ("Ko", "Mo", "Go"):
        size /= 1024
        if size < 1024 or unit == "Go":
            return f"{size:.1f} {unit}".replace(".", ",")


def _seconds(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s".replace(".", ",")


def create_backup(engine: sa.Engine, path: Path) -> None:
    """Write the whole database to `path`, through a temporary file beside it: a backup that fails
    half-way never replaces a good one."""
    partial = path.with_name(path.name + ".partial")
    try:
        if engine.dialect.name == "postgresql":
            schema, server_major = _postgresql_scope(engine)
            if schema is None:
                raise click.ClickException("Aucun schéma du search_path de l'application n'existe : rien à "
                                           "sauvegarder.")
            arguments, environment = postgresql_arguments(engine.url)
            _run([_tool("pg_dump", server_major), "--format=custom", *_schema_options(schema), "--file",
                  str(partial), *arguments], environment, failure="aucune sauvegarde n'a été écrite.")
        else:
            source, target = sqlite3.connect(_sqlite_path(engine)), sqlite3.connect(partial)
            try:
                source.backup(target)  # a consistent copy, even while the application writes
                target.execute("PRAGMA journal_mode = DELETE")  # one file, without -wal and -shm beside it
            finally:
                target.close()
                source.close()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def restore_backup(engine: sa.Engine, path: Path) -> None:
    """Replace the whole database by the backup at `path`, in one transaction: all of it or nothing."""
    db.session.remove()
    engine.dispose()  # pooled connections would hold on to what the restore replaces
    if engine.dialect.name == "postgresql":
        if not _has_header(path, PG_DUMP_HEADER):
            raise click.ClickException(f"{path} n'est pas une sauvegarde PostgreSQL (format custom de pg_dump) : "
                                       "rien n'a été restauré.")
        schema, server_major = _postgresql_scope(engine)
        pg_restore = _tool("pg_restore", server_major)
        arguments, environment = postgresql_arguments(engine.url)
        listing = _run([pg_restore, "--list", str(path)], environment,
                       failure=f"{path} n'est pas une sauvegarde lisible, rien n'a été restauré.")
        dumped = set(DUMPED_SCHEMA.findall(listing))
        if schema not in (None, "public") and dumped != {schema}:
            raise click.ClickException(
                f"{path} ne sauvegarde pas le schéma « {schema} » de l'application "
                f"(schémas sauvegardés : {', '.join(sorted(dumped)) or 'toute la base'}) : rien n'a été restauré.")
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", *arguments, str(path)],
             environment, failure="sa transaction est annulée, rien n'a été restauré.")
    else:
        if not _has_header(path, SQLITE_HEADER):
            raise click.ClickException(f"{path} n'est pas une base SQLite : rien n'a été restauré.")
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(engine), timeout=30)  # waits for a writer to finish
        try:
            problem = source.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise click.ClickException(f"{path} est une base SQLite abîmée ({problem}) : rien n'a été restauré.")
            source.backup(target)  # page by page into the database file, under its write lock
        except sqlite3.DatabaseError as error:
            raise click.ClickException(f"{path} ne peut pas être restauré ({error}) : rien n'a été restauré.") from None
        finally:
            target.close()
            source.close()
    engine.dispose()


backup_cli = AppGroup("backup", help="Sauvegarde et restauration de toute la base.")


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def create_command(path: Path) -> None:
    """Sauvegarde toute la base dans PATH (pg_dump en format custom, ou copie SQLite)."""
    started = time.monotonic()
    create_backup(db.engine, path)
    click.echo(f"Sauvegarde écrite dans {path} : {_size(path)}, {_table_count(db.engine)} tables, "
               f"en {_seconds(started)}.")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Remplace toute la base par la sauvegarde PATH."""
    if not yes and not click.confirm(f"La restauration remplace toute la base {db.engine.url.render_as_string()} "
                                     f"par {path}. Continuer ?"):
        click.echo("Restauration annulée : la base n'a pas changé.")
        raise SystemExit(1)
    started = time.monotonic()
    restore_backup(db.engine, path)
    click.echo(f"Base restaurée depuis {path} ({_size(path)}) : {_table_count(db.engine)} tables, "
               f"en {_seconds(started)}.")

