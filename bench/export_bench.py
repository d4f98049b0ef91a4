"""Stream every open-data file of a consultation to nowhere, in process: seconds, lines, megabytes and memory.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/export_bench.py [--consultation SLUG] [--python-memory]

Reads the consultation SLUG (by default the most recent one) of the DATABASE_URL database and writes each
file the open-data page publishes (app/opendata/exports.py), then the zip of them all, exactly as a download
streams them, to nowhere. The one write: a tally whose support window has ended is frozen first, as the
first visit to the page would.
Prints a Markdown table, one row per file: seconds, lines written, megabytes, and how much the process's
resident memory grew at its peak while writing it (sampled every few milliseconds from /proc/self/statm by
a thread, against the resident memory just before: ru_maxrss would only show growth beyond the process's
earlier peaks, freezing the tally's among them). `--python-memory` writes every file a second time under
tracemalloc and adds the peak of Python's allocations (tracemalloc slows writing down: the times come from
the first pass). Targets (issue 14): 300,000 supports in under 5 s, the 15,000 proposals of tier M in
under 10 s, peak memory growing by less than 50 MB.
"""

import argparse
import os
import resource
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "benchmark")


PAGE_MB = resource.getpagesize() / 2**20


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_MB


class PeakGrowth:
    """The largest growth of resident memory while the block runs, sampled by a thread."""

    def __enter__(self):
        self.start = self.peak = rss_mb()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc_info):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mb())
        self.growth = self.peak - self.start


def write(pieces) -> tuple[int, int]:
    """Bytes and lines of a file, its pieces dropped as they come."""
    size = lines = 0
    for piece in pieces:
        size += len(piece)
        lines += piece.count(b"\n")
    return size, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultation", dest="slug", default=None)
    parser.add_argument("--python-memory", action="store_true", help="add tracemalloc's peak (a second pass)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to the database to read.")

    from app import create_app
    from app.consultations.models import Consultation
    from app.extensions import db
    from app.opendata import exports
    from app.votes.services import frozen_tally

    app = create_app()
    with app.app_context():
        statement = sa.select(Consultation).order_by(Consultation.created_at.desc()).limit(1)
        consultation = db.session.scalar(statement.where(Consultation.slug == args.slug) if args.slug else statement)
        if consultation is None:
            sys.exit("No such consultation.")
        if frozen_tally(consultation) is not None:
            db.session.commit()
            db.session.expunge_all()  # the tally's file, read to freeze it, is not the exports' memory
        files = exports.files(consultation)
        targets = [(file.name, lambda file=file: exports.content(consultation, file)) for file in files]
        targets.append(("donnees-ouvertes.zip", lambda: exports.archive(consultation)))
        print(f"Consultation {consultation.slug!r} on {db.engine.dialect.name}, RSS {rss_mb():.0f} MB before\n")
        print("| file | seconds | lines | MB | peak RSS growth (MB) |" + (" tracemalloc peak (MB) |"
                                                                            if args.python_memory else ""))
        print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if args.python_memory else ""))
        for name, pieces in targets:
            with PeakGrowth() as memory:
                started = time.perf_counter()
                size, lines = write(pieces())
                seconds = time.perf_counter() - started
            db.session.rollback()  # each file in a transaction of its own, as each download is
            row = f"| {name} | {seconds:.2f} | {lines:,} | {size / 2**20:.1f} | {memory.growth:.1f} |"
            if args.python_memory:
                tracemalloc.start()
                write(pieces())
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                db.session.rollback()
                row += f" {peak / 2**20:.1f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
