"""Time the import of the official directory into a fresh SQLite database (target: under 60 s).

    .venv/bin/python bench/directory_import.py

Prints the seconds and peak memory of a first import (inserts) and a second one (updates).
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.organizations.directory import import_directory  # noqa: E402
from config import ROOT  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/bench.sqlite")
        with app.app_context():
            with db.engine.begin() as connection:
                config = AlembicConfig(str(ROOT / "alembic.ini"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            for label in ("first import (inserts)", "second import (updates)"):
                started = time.perf_counter()
                counts = import_directory()
                db.session.commit()
                elapsed = time.perf_counter() - started
                print(f"{label}: {elapsed:.1f} s, {counts['inserted']} inserted, {counts['updated']} updated")
            db.engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
