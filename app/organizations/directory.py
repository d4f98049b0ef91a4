"""Load the official directory of French collectivities (@etalab/decoupage-administratif).

The data package is installed from the npm registry at a pinned version; this module reads its
JSON files and upserts communes, EPCI, départements and régions, keyed by (kind, INSEE code), then
brings the communes' postal codes in line with the package.
"""

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.organizations.models import Organization, OrganizationKind, OrganizationPostalCode
from app.organizations.services import normalize_name

PACKAGE = "@etalab/decoupage-administratif"
# Overseas collectivities (COM) have their own status and no SIREN in the package.
ZONES = {"metro", "drom"}


def data_dir() -> Path:
    return current_app.config["NODE_MODULES"] / PACKAGE / "data"


def _read(directory: Path, name: str) -> list[dict]:
    with open(directory / f"{name}.json", encoding="utf-8") as file:
        return json.load(file)


def _is_current_commune(commune: dict) -> bool:
    return commune["type"] == "commune-actuelle"


def _row(kind: OrganizationKind, code: str, name: str, **fields) -> dict:
    return {"kind": kind.value, "insee_code": code, "name": name, "search_name": normalize_name(name),
            "is_verified": True, "siren": None, "population": None, "departement_code": None,
            "region_code": None, "epci_id": None, **fields}


def directory_rows(directory: Path) -> list[dict]:
    """One row per organization, in an order where EPCI precede nothing that needs them."""
    rows = [_row(OrganizationKind.REGION, region["code"], region["nom"], region_code=region["code"])
            for region in _read(directory, "regions") if region["zone"] in ZONES]
    rows += [_row(OrganizationKind.DEPARTEMENT, dep["code"], dep["nom"], departement_code=dep["code"],
                  region_code=dep["region"])
             for dep in _read(directory, "departements") if dep["zone"] in ZONES]
    rows += [_row(OrganizationKind.EPCI, epci["code"], epci["nom"], siren=epci["code"],
                  population=epci.get("populationMunicipale"))
             for epci in _read(directory, "epci")]
    rows += [_row(OrganizationKind.COMMUNE, commune["code"], commune["nom"], siren=commune.get("siren"),
                  population=commune.get("population"), departement_code=commune.get("departement"),
                  region_code=commune.get("region"))
             for commune in _read(directory, "communes") if _is_current_commune(commune)]
    return rows


def _epci_of_communes(directory: Path) -> dict[str, str]:
    return {member["code"]: epci["code"] for epci in _read(directory, "epci") for member in epci["membres"]}


def import_directory(directory: Path | None = None) -> dict[str, int]:
    """Insert new organizations and update known ones; return how many of each."""
    directory = directory or data_dir()
    rows = directory_rows(directory)
    existing = {(kind, code): id_ for id_, kind, code in db.session.execute(
        sa.select(Organization.id, Organization.kind, Organization.insee_code)
        .where(Organization.kind.in_([kind.value for kind in OrganizationKind.directory_kinds()])))}
    updates, inserts = [], []
    for row in rows:
        id_ = existing.get((row["kind"], row["insee_code"]))
        (updates if id_ else inserts).append({**row, "id": id_} if id_ else row)
    if inserts:
        db.session.execute(sa.insert(Organization), inserts)
    if updates:
        db.session.execute(sa.update(Organization), updates)
    _link_communes_to_epci(directory)
    _sync_postal_codes(directory)
    return {"inserted": len(inserts), "updated": len(updates)}


def _ids_by_insee_code(*kinds: OrganizationKind) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(Organization.insee_code, Organization.id)
        .where(Organization.kind.in_([kind.value for kind in kinds]))).all())


def _link_communes_to_epci(directory: Path) -> None:
    ids = _ids_by_insee_code(OrganizationKind.COMMUNE, OrganizationKind.EPCI)
    links = [{"id": ids[commune], "epci_id": ids[epci]}
             for commune, epci in _epci_of_communes(directory).items() if commune in ids and epci in ids]
    db.session.execute(sa.update(Organization), links)


def _sync_postal_codes(directory: Path) -> None:
    """Make the table hold exactly the package's postal codes, touching only the rows that differ."""
    ids = _ids_by_insee_code(OrganizationKind.COMMUNE)
    wanted = {(ids[commune["code"]], postal_code) for commune in _read(directory, "communes")
              if _is_current_commune(commune) for postal_code in commune.get("codesPostaux", [])}
    table = OrganizationPostalCode.__table__
    stored = {tuple(row) for row in db.session.execute(sa.select(table.c.organization_id, table.c.postal_code))}
    if gone := stored - wanted:
        db.session.execute(table.delete().where(table.c.organization_id == sa.bindparam("gone_id"),
                                                table.c.postal_code == sa.bindparam("gone_code")),
                           [{"gone_id": id_, "gone_code": code} for id_, code in gone])
    if new := wanted - stored:
        db.session.execute(table.insert(), [{"organization_id": id_, "postal_code": code} for id_, code in new])


directory_cli = AppGroup("directory", help="Répertoire officiel des collectivités.")


@directory_cli.command("import")
@click.option("--if-empty", is_flag=True, help="Ne rien faire si le répertoire est déjà chargé.")
@click.option("--path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dossier data/ du paquet (par défaut : node_modules).")
def import_command(if_empty: bool, path: Path | None) -> None:
    """Charge ou met à jour communes, EPCI, départements et régions."""
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Organization)
                                      .where(Organization.kind == OrganizationKind.COMMUNE)):
        click.echo("Répertoire déjà chargé.")
        return
    directory = path or data_dir()
    if not (directory / "communes.json").exists():
        raise click.ClickException(f"Données introuvables dans {directory} : lancez « npm install --ignore-scripts ».")
    counts = import_directory(directory)
    db.session.commit()
    click.echo(f"Répertoire chargé : {counts['inserted']} ajoutées, {counts['updated']} mises à jour.")
