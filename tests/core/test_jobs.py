"""Jobs run by the worker: a failing job keeps its error and is retried later and later, without holding
back the others; two workers released together never run a job twice, on SQLite and PostgreSQL alike."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core import clock, jobs
from app.core.jobs import Job
from app.core.mail import OutboxMessage
from app.extensions import db

SECOND = timedelta(seconds=1)


@pytest.fixture
def broken(app, monkeypatch) -> set[int]:
    """The numbers of the jobs of kind "test.note" that fail; each job that succeeds leaves a message in
    the outbox, a write that the failure of its job must undo."""
    failing: set[int] = set()

    def note(payloads: list[dict]) -> None:
        for payload in payloads:
            db.session.add(OutboxMessage(recipient="journal@example.org", subject=f"Tâche {payload['n']}", body="."))
            db.session.flush()
            if payload["n"] in failing:
                raise RuntimeError(f"la tâche {payload['n']} a échoué")

    monkeypatch.setitem(app.extensions["jobs"], "test.note", note)
    return failing


def queued(numbers, now) -> list[Job]:
    jobs.queue_jobs("test.note", [{"n": number} for number in numbers], now=now)
    db.session.commit()
    return db.session.scalars(sa.select(Job).order_by(Job.id)).all()


def notes() -> list[str]:
    return db.session.scalars(sa.select(OutboxMessage.subject).order_by(OutboxMessage.id)).all()


def test_a_failing_job_keeps_its_error_and_is_retried_later_and_later_without_holding_back_the_others(broken):
    start = clock.now()
    first, second, third = queued([1, 2, 3], start)
    broken.add(2)
    assert jobs.run_pending(now=start) == 2
    assert notes() == ["Tâche 1", "Tâche 3"]  # the failed job's writes were undone
    assert (first.done_at, first.attempts, third.done_at) == (start, 1, start)
    assert second.done_at is None and second.attempts == 1 and second.run_after == start + 30 * SECOND
    assert "RuntimeError: la tâche 2 a échoué" in second.last_error

    assert jobs.run_pending(now=start + 29 * SECOND) == 0 and second.attempts == 1  # not due yet
    assert jobs.run_pending(now=start + 30 * SECOND) == 0
    assert second.attempts == 2 and second.run_after == start + 90 * SECOND  # waits twice as long

    broken.clear()
    assert jobs.run_pending(now=start + 90 * SECOND) == 1
    assert (second.done_at, second.attempts) == (start + 90 * SECOND, 3)
    assert "la tâche 2 a échoué" in second.last_error  # what happened stays on record
    assert notes() == ["Tâche 1", "Tâche 3", "Tâche 2"]


def test_a_job_that_keeps_failing_is_given_up_after_the_last_attempt_and_kept(broken):
    start = clock.now()
    [job] = queued([7], start)
    broken.add(7)
    later = start
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        jobs.run_pending(now=later)
        assert job.attempts == attempt
        later = job.run_after
    assert jobs.run_pending(now=later + timedelta(days=30)) == 0
    assert job.attempts == jobs.MAX_ATTEMPTS and job.done_at is None and "la tâche 7 a échoué" in job.last_error


def test_a_job_of_an_unknown_kind_fails_with_its_kind_named(app):
    jobs.queue_jobs("test.unknown", [{}])
    db.session.commit()
    assert jobs.run_pending() == 0
    job = db.session.scalars(sa.select(Job)).one()
    assert job.attempts == 1 and "KeyError: 'test.unknown'" in job.last_error


def test_the_command_runs_the_pending_jobs(app, broken):
    queued([1, 2], clock.now())
    result = app.test_cli_runner().invoke(args=["jobs", "run"])
    assert result.exit_code == 0 and "2 tâche(s) exécutée(s)." in result.output
    assert notes() == ["Tâche 1", "Tâche 2"]


def test_two_workers_released_together_never_run_a_job_twice(live_app, monkeypatch):
    runs, lock = [], threading.Lock()

    def slow(payloads: list[dict]) -> None:
        with lock:
            runs.extend(payload["n"] for payload in payloads)
        time.sleep(0.02)  # long enough for the other worker to look for jobs meanwhile

    monkeypatch.setitem(live_app.extensions["jobs"], "test.slow", slow)
    jobs.queue_jobs("test.slow", [{"n": number} for number in range(40)])
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(2)
    succeeded = []

    def worker() -> None:
        with live_app.app_context():
            barrier.wait()
            succeeded.append(jobs.run_pending(batch_size=5))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(runs) == list(range(40)) and sum(succeeded) == 40
    if db.engine.dialect.name == "postgresql":  # SQLite's single writer may give every batch to one of them
        assert all(count > 0 for count in succeeded)  # each skipped the jobs the other held
    assert db.session.execute(sa.select(sa.func.count(), sa.func.max(Job.attempts), sa.func.min(Job.attempts))
                              .where(Job.done_at.is_not(None))).one() == (40, 1, 1)
    db.session.remove()
