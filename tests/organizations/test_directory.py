"""Import of the official directory, from a small fixture in the package's format."""

import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.organizations.directory import import_directory
from app.organizations.models import Organization

FIXTURE = Path(__file__).parent / "directory"


def organizations() -> dict[str, Organization]:
    return {org.name: org for org in db.session.scalars(sa.select(Organization))}


def test_import_loads_every_kind_with_codes_population_and_epci_links():
    counts = import_directory(FIXTURE)
    assert counts == {"inserted": 7, "updated": 0}  # the COM région and the commune déléguée are left out
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
    changed = tmp_path / "data"
    shutil.copytree(FIXTURE, changed)
    communes = json.loads((changed / "communes.json").read_text())
    communes[0]["population"] = 6400
    communes[0]["nom"] = "Saint-Flour (renommée)"
    (changed / "communes.json").write_text(json.dumps(communes))
    epci = json.loads((changed / "epci.json").read_text())
    epci[0]["membres"] = epci[0]["membres"][1:]  # Saint-Flour leaves its EPCI
    (changed / "epci.json").write_text(json.dumps(epci))

    assert import_directory(changed) == {"inserted": 0, "updated": 7}
    db.session.expire_all()
    renamed = organizations()["Saint-Flour (renommée)"]
    assert renamed.id == first_ids["Saint-Flour"] and renamed.population == 6400
    assert renamed.epci is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 7
