"""Walk every migration down and up on a copy of the tier-M PostgreSQL database, counting the rows of every table.

    .venv/bin/python bench/migrations_tier_m.py [--template agora_bench_results] [--keep]

Issue 15, "Data safety": every migration upgrades and downgrades on a populated tier-M database without losing a
row. On the server at 127.0.0.1:5432 (user postgres), this makes a copy, `CREATE DATABASE agora_migr_tier_m TEMPLATE
agora_bench_results` (the copy dropped first if it exists; PostgreSQL copies a template only while nobody else is
connected to it, so the script stops, naming the connections, if anyone is); the template is only read. It upgrades
the copy to head, then walks the chain as tests/test_migrations_populated.py does, with that test's functions: from
head down to base, each migration run down, up and down again, so that every downgrade and every upgrade runs on the
tier-M rows the walk has reached (at each older revision, the rows its own downgrades left, as after a real
roll-back).

Checked at each step: every table present before and after it keeps its row count (but for the test's DELIBERATE
changes); after the up, the tables are those before the down, and each table the down kept has its count of before
the down. A table the downgrade drops is the migration's own (its upgrade creates it): its rows go with it and it
comes back empty, which is what the downgrade means; the script prints those rows, it does not count them as a
difference. The walk ends at base, where the first migration's downgrade has dropped every table.

Prints, per migration: the revision, the seconds of the down, the up and the down again (the migrations alone, not
the counting), the rows of the tables the down drops, and OK or the tables whose counts differ; then the total
seconds and the peak memory of the process. Exits 1 on any difference or failed step. The copy is dropped at the
end, unless --keep.
"""

import argparse
import os
import re
import resource
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # importing app needs config.py, which lives beside it

import sqlalchemy as sa  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.conftest import alembic_config  # noqa: E402
from tests.test_migrations_populated import DELIBERATE, chain_from_head, changed_counts, migrate, row_counts  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
COPY = "agora_migr_tier_m"
NAME = re.compile(r"[a-z_][a-z0-9_]*")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="agora_bench_results", help="the tier-M database, only read")
    parser.add_argument("--keep", action="store_true", help=f"leave {COPY} in place at the end")
    args = parser.parse_args()
    if not NAME.fullmatch(args.template) or args.template in {COPY, "test", "postgres"}:
        parser.error(f"--template {args.template!r}: the name of a tier-M database, other than {COPY}")

    started = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    seconds = timed(copy_database, args.template)
    print(f"copy of {args.template} as {COPY}: {seconds:.1f} s", flush=True)
    app = create_app("development", SQLALCHEMY_DATABASE_URI=f"{SERVER}/{COPY}")
    try:
        with app.app_context():
            differences = walk(db.engine)
            db.engine.dispose()
    finally:
        if not args.keep:
            drop_database()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {time.perf_counter() - started:.1f} s, peak memory {peak:.0f} MiB, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.keep:
        print(f"{COPY} kept")
    return 1 if differences else 0


def walk(engine: sa.Engine) -> int:
    """Upgrade the copy to head, then run each migration down, up and down again, from head to base; the number
    of migrations with a difference or a failed step."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    seconds = timed(migrate, engine, "upgrade", "head")
    counts = row_counts(engine)
    largest = sorted(counts.items(), key=lambda item: -item[1])[:6]
    empty = [name for name, rows in counts.items() if not rows]
    print(f"upgrade from {current} to head: {seconds:.1f} s; {len(counts)} tables, {sum(counts.values()):,} rows "
          f"({', '.join(f'{name} {rows:,}' for name, rows in largest)}…), {database_size(engine)}; "
          f"empty tables: {', '.join(empty) or 'none'}", flush=True)
    print("\n| migration | down s | up s | down again s | rows of the tables the down drops | result |")
    print("| --- | ---: | ---: | ---: | --- | --- |", flush=True)
    script = ScriptDirectory.from_config(alembic_config(None))
    failed = 0
    totals = [0.0, 0.0, 0.0]
    chain = chain_from_head()
    for revision, below in chain:
        label = f"{revision} {textwrap.shorten(script.get_revision(revision).doc, 48, placeholder='…')}"
        before = row_counts(engine)
        moves = (("downgrade", below), ("upgrade", revision), ("downgrade", below))
        states, times, problems = [before], [], []
        for direction, target in moves:
            try:
                times.append(timed(migrate, engine, direction, target))
            except Exception as error:  # noqa: BLE001 - the finding itself; the walk cannot go below it
                print(f"| {label} | {' | '.join(f'{s:.2f}' for s in times)} | | | "
                      f"**{direction} fails**: {type(error).__name__}: {error} |", flush=True)
                return failed + 1
            states.append(row_counts(engine))
            changed = changed_counts(revision, direction, states[-2], states[-1])
            problems += [f"{direction}: {name} {old:,} → {new:,}" for name, (old, new) in changed.items()]
        _, down, up, _ = states
        if up.keys() != before.keys():
            problems.append(f"tables after the up differ: missing {sorted(before.keys() - up.keys())}, "
                            f"extra {sorted(up.keys() - before.keys())}")
        deliberate = DELIBERATE.get((revision, "upgrade"), {}) | DELIBERATE.get((revision, "downgrade"), {})
        problems += [f"down and up: {name} {before[name]:,} → {up[name]:,}" for name in sorted(down.keys() & up.keys())
                     if name in before and before[name] != up[name] and name not in deliberate]
        dropped = sorted(before.keys() - down.keys())
        dropped_rows = ", ".join(f"{name} {before[name]:,}" for name in dropped) if dropped else "none"
        result = "; ".join(dict.fromkeys(problems)) if problems else "OK"
        on_purpose = [name for name in deliberate if name in before and name in up and before[name] != up[name]]
        if on_purpose and not problems:
            result += "".join(f" ({name} {before[name]:,} → {up[name]:,} on purpose)" for name in on_purpose)
        failed += bool(problems)
        totals = [total + part for total, part in zip(totals, times)]
        print(f"| {label} | {times[0]:.2f} | {times[1]:.2f} | {times[2]:.2f} | {dropped_rows} | {result} |",
              flush=True)
    print(f"| **all {len(chain)} migrations** | {totals[0]:.1f} | {totals[1]:.1f} | {totals[2]:.1f} | | "
          f"{'OK' if not failed else f'{failed} with differences'} |\n", flush=True)
    left = row_counts(engine)
    if left:
        print(f"the walk should have reached base, where no table is left: {sorted(left)}")
        failed += 1
    return failed


def copy_database(template: str) -> None:
    """Drop the copy if it exists and make it again from `template`, which must have no other connection."""
    engine = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": template}):
                sys.exit(f"There is no database {template} on {SERVER}: make it first (bench/README.md, "
                         f"\"Public results\") or name another tier-M database with --template.")
            others = connection.execute(sa.text(
                "SELECT pid, usename, application_name, state, backend_start FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": template}).all()
            if others:
                sys.exit(f"{template} has {len(others)} other connection(s); PostgreSQL copies a template only "
                         f"while nobody is connected to it. Close them (nothing here ends them), then run again:\n"
                         + "\n".join(f"  pid {row.pid}, {row.usename}, {row.application_name or 'no application'}"
                                     f", {row.state}, since {row.backend_start:%H:%M:%S}" for row in others))
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{COPY}"'))
            try:
                connection.execute(sa.text(f'CREATE DATABASE "{COPY}" TEMPLATE "{template}"'))
            except sa.exc.OperationalError as error:  # someone connected between the check and the copy
                sys.exit(f"Could not copy {template}: {error.orig}")
    finally:
        engine.dispose()


def drop_database() -> None:
    engine = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{COPY}"'))
    engine.dispose()
    print(f"{COPY} dropped")


def database_size(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))"))


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
