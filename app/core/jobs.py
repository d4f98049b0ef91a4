"""Jobs: work done outside requests (text vectors…), queued in the caller's transaction, run by a worker.

`flask --app wsgi jobs run [--loop]` runs the jobs that are due. A job that fails keeps its error and
is tried again later, waiting twice as long after each failure, up to MAX_ATTEMPTS. The domains say
which kinds of job exist (`init_app` in the app factory) and do the work; this module only claims,
runs and records. The way rows are claimed, one worker each, is shared with the mail outbox.
"""

import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import UTCDateTime
from app.extensions import db

MAX_ATTEMPTS = 8
# Doubled after each failure (retry_delay): 30 s, 1 min, 2 min… the eighth attempt comes about an hour after the first.
FIRST_RETRY_AFTER = timedelta(seconds=30)
BATCH_SIZE = 50

# A handler does the work of a batch of jobs of its kind, given their payloads, in the worker's
# transaction (it flushes, never commits); it raises to fail them.
Handler = Callable[[list[dict]], None]


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        # Workers look for the few jobs not done among the many done: only those are indexed.
        sa.Index("ix_jobs_pending", "id", postgresql_where=sa.text("done_at IS NULL"),
                 sqlite_where=sa.text("done_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def init_app(app: Flask, handlers: dict[str, Handler]) -> None:
    """The kinds of job this app runs, each with its handler."""
    app.extensions["jobs"] = dict(handlers)


def queue_jobs(kind: str, payloads: list[dict], *, now: datetime | None = None) -> None:
    """Queue one job per payload, in the caller's transaction: it runs only if the caller commits."""
    if not payloads:
        return
    now = now or clock.now()
    db.session.execute(sa.insert(Job), [{"kind": kind, "payload": payload, "created_at": now, "run_after": now}
                                        for payload in payloads])


def given_up(kind: str, payload: dict) -> bool:
    """Whether the job of `kind` for `payload` failed MAX_ATTEMPTS times: it is not tried again, and the page
    waiting for its result must say so rather than "being computed" forever."""
    return payload in db.session.scalars(sa.select(Job.payload).where(
        Job.kind == kind, Job.done_at.is_(None), Job.attempts >= MAX_ATTEMPTS))


def process_claimed(pending: sa.Select, handle: Callable[[list], int], batch_size: int) -> int:
    """Hand the rows of `pending` (a select of one model with an `id`) to `handle`, batch by batch, one
    transaction each; return the sum of what `handle` returned.

    Rows are claimed with FOR UPDATE SKIP LOCKED: on PostgreSQL a second worker skips the rows the
    first one holds rather than processing them again. SQLite has no row locks, but its transactions
    start with BEGIN IMMEDIATE (app/core/db.py): workers take turns. Each row comes at most once per
    call, so a row that keeps failing costs one attempt per run, not all of them at once.
    """
    model = pending.column_descriptions[0]["entity"]
    total, after_id = 0, 0
    while True:
        rows = db.session.scalars(pending.where(model.id > after_id).order_by(model.id).limit(batch_size)
                                  .with_for_update(skip_locked=True)).all()
        if rows:
            after_id = rows[-1].id
            total += handle(rows)
        db.session.commit()
        if len(rows) < batch_size:
            return total


def run_pending(*, batch_size: int = BATCH_SIZE, now: datetime | None = None) -> int:
    """Run the jobs that are due; return how many succeeded."""
    now = now or clock.now()
    due = sa.select(Job).where(Job.done_at.is_(None), Job.attempts < MAX_ATTEMPTS, Job.run_after <= now)
    return process_claimed(due, lambda batch: _run_batch(batch, now), batch_size)


def _run_batch(batch: list[Job], now: datetime) -> int:
    by_kind: dict[str, list[Job]] = {}
    for job in batch:
        by_kind.setdefault(job.kind, []).append(job)
    return sum(_run(kind, group, now) for kind, group in by_kind.items())


def _run(kind: str, group: list[Job], now: datetime) -> int:
    """Run jobs of one kind together (a handler batches its work: one model call for many texts);
    if that fails, each alone, so that one bad job does not hold back the others."""
    error = _attempt(kind, [job.payload for job in group])
    if error is None:
        for job in group:
            job.attempts += 1
            job.done_at = now
        return len(group)
    if len(group) > 1:
        return sum(_run(kind, [job], now) for job in group)
    job = group[0]
    job.attempts += 1
    job.last_error = error
    job.run_after = now + retry_delay(job.attempts)
    current_app.logger.warning("Job %s (%s) failed, attempt %s of %s:\n%s", job.id, kind, job.attempts,
                               MAX_ATTEMPTS, error)
    return 0


def retry_delay(failures: int, *, at_most: timedelta | None = None) -> timedelta:
    """How long a row waits after its `failures`-th failure before it is tried again (jobs, mail):
    FIRST_RETRY_AFTER, twice as long after each further failure, never more than `at_most`."""
    delay = FIRST_RETRY_AFTER * 2 ** min(failures - 1, 16)  # 16 doublings: three weeks; more would overflow
    return delay if at_most is None else min(delay, at_most)


def _attempt(kind: str, payloads: list[dict]) -> str | None:
    """Run the handler in a savepoint, undone if it fails; the error's traceback, or None."""
    try:
        with db.session.begin_nested():
            current_app.extensions["jobs"][kind](payloads)
    except Exception:  # whatever went wrong is kept on the job, which is tried again later
        return traceback.format_exc()[-4000:]
    return None


def worker_options(command):
    """--loop and --interval, the options of every worker command (jobs, mail)."""
    command = click.option("--interval", default=2.0, show_default=True, help="Secondes entre deux relèves.")(command)
    return click.option("--loop", is_flag=True,
                        help="Continuer à relever la file toutes les quelques secondes.")(command)


def keep_running(work: Callable[[], int], *, loop: bool, interval: float) -> int:
    """Do `work` once, or with `loop` again every `interval` seconds until stopped; its last count."""
    while True:
        count = work()
        if not loop:
            return count
        time.sleep(interval)


jobs_cli = AppGroup("jobs", help="Tâches faites hors des requêtes (vecteurs des textes…).")


@jobs_cli.command("run")
@worker_options
def run_command(loop: bool, interval: float) -> None:
    """Exécute les tâches en attente."""
    count = keep_running(run_pending, loop=loop, interval=interval)
    click.echo(f"{count} tâche(s) exécutée(s).")
