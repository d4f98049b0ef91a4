"""Import of the official directory, from a small fixture in the package's format."""

import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.organizations.directory import import_directory
from app.organizations.models import Organization, OrganizationPostalCode

FIXTURE = Path(__file__).parent / "directory"


def organizations() -> dict[str, Organization]:
    return {org.name: org for org in db.session.scalars(sa.select(Organization))}


def postal_codes() -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for name, code in db.session.execute(
            sa.select(Organization.name, OrganizationPostalCode.postal_code)
            .join(OrganizationPostalCode, OrganizationPostalCode.organization_id == Organization.id)
            .order_by(OrganizationPostalCode.postal_code)):
        codes.setdefault(name, []).append(code)
    return codes


def edited_copy(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the fixture whose file `name`.json went through `edit` (a function changing its list)."""
    changed = tmp_path / "data"
    if not changed.exists():
        shutil.copytree(FIXTURE, changed)
    rows = json.loads((changed / f"{name}.json").read_text())
    edit(rows)
    (changed / f"{name}.json").write_text(json.dumps(rows))
    return changed


def test_import_loads_every_kind_with_codes_population_and_epci_links():
    counts = import_directory(FIXTURE)
    assert counts == {"inserted": 8, "updated": 0}  # the COM région and the commune déléguée are left out
    loaded = organizations()
    flour = loaded["Saint-Flour"]
    assert (flour.kind, flour.siren, flour.insee_code, flour.population, flour.departement_code,
            flour.region_code) == ("commune", "211501879", "15187", 6391, "15", "84")
    assert flour.epci.name == "CC Saint-Flour Communauté" and flour.is_verified
    assert loaded["CC du Pays de Mauriac"].population == 10800
    assert loaded["CC du Pays de Mauriac"].is_ansm_eligible and loaded["Anglards-de-Saint-Flour"].is_ansm_eligible
    assert not loaded["Saint-Flour"].is_ansm_eligible and not loaded["Mauriac"].is_ansm_eligible
    assert loaded["Cantal"].kind == "departement" and loaded["Auvergne-Rhône-Alpes"].kind == "region"


def test_import_is_an_upsert(tmp_path):
    import_directory(FIXTURE)
    first_ids = {name: org.id for name, org in organizations().items()}
    edited_copy(tmp_path, "communes", lambda communes: communes[0].update(population=6400,
                                                                         nom="Saint-Flour (renommée)"))
    # Saint-Flour leaves its EPCI
    changed = edited_copy(tmp_path, "epci", lambda epci: epci[0].update(membres=epci[0]["membres"][1:]))

    assert import_directory(changed) == {"inserted": 0, "updated": 8}
    db.session.expire_all()
    renamed = organizations()["Saint-Flour (renommée)"]
    assert renamed.id == first_ids["Saint-Flour"] and renamed.population == 6400
    assert renamed.epci is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 8


def test_import_stores_the_postal_codes_of_current_communes():
    import_directory(FIXTURE)
    assert postal_codes() == {"Saint-Flour": ["15100"], "Anglards-de-Saint-Flour": ["15100"],
                              "Mauriac": ["15200"], "Laveissenet": ["15300"]}


def test_postal_codes_follow_the_package_and_a_second_import_changes_nothing(tmp_path):
    import_directory(FIXTURE)
    import_directory(FIXTURE)
    assert postal_codes() == {"Saint-Flour": ["15100"], "Anglards-de-Saint-Flour": ["15100"],
                              "Mauriac": ["15200"], "Laveissenet": ["15300"]}

    def recode(communes):
        communes[0]["codesPostaux"] = ["15100", "15101"]  # Saint-Flour gets a second code
        communes[2]["codesPostaux"] = ["15310"]           # Laveissenet changes code
        del communes[3]["codesPostaux"]                   # Mauriac has none any more
    changed = edited_copy(tmp_path, "communes", recode)
    import_directory(changed)
    import_directory(changed)
    assert postal_codes() == {"Saint-Flour": ["15100", "15101"], "Anglards-de-Saint-Flour": ["15100"],
                              "Laveissenet": ["15310"]}
