"""The sizes of a consultation's open-data files, counted by a job: a size is counted by writing the file to
nowhere, which takes seconds for a national consultation, too long for a page. The page shows the sizes last
counted, with their date, and asks for a new count when they are older than FRESH_FOR."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.consultations.models import Consultation
from app.core import clock, jobs
from app.core.db import UTCDateTime
from app.extensions import db
from app.opendata import exports

KIND = "opendata.sizes"
FRESH_FOR = timedelta(minutes=10)


class FileSize(db.Model):
    __tablename__ = "open_data_sizes"

    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)  # the file's name: propositions.csv
    size: Mapped[int] = mapped_column(sa.BigInteger)  # bytes
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


def count_sizes(payloads: list[dict]) -> None:
    """The job: count the size of every file each consultation publishes now."""
    for consultation_id in {payload["consultation_id"] for payload in payloads}:
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            continue
        counted = {row.name: row for row in stored(consultation)}
        for file in exports.files(consultation):
            row = counted.get(file.name) or FileSize(consultation_id=consultation.id, name=file.name)
            row.size, row.counted_at = exports.size(consultation, file), clock.now()
            db.session.add(row)
    db.session.flush()


def stored(consultation: Consultation) -> list[FileSize]:
    return list(db.session.scalars(sa.select(FileSize).where(FileSize.consultation_id == consultation.id)))


def sizes(consultation: Consultation, now: datetime | None = None) -> dict[str, FileSize]:
    """The sizes last counted, by file name; a count is queued (once) when a file has none or an old one."""
    now = now or clock.now()
    counted = {row.name: row for row in stored(consultation)}
    stale = any(file.name not in counted or now - counted[file.name].counted_at > FRESH_FOR
                for file in exports.files(consultation))
    if stale and not _count_waiting(consultation):
        jobs.queue_jobs(KIND, [{"consultation_id": consultation.id}], now=now)
        db.session.commit()
    return counted


def _count_waiting(consultation: Consultation) -> bool:
    waiting = db.session.scalars(sa.select(jobs.Job.payload).where(
        jobs.Job.kind == KIND, jobs.Job.done_at.is_(None), jobs.Job.attempts < jobs.MAX_ATTEMPTS))
    return any(payload["consultation_id"] == consultation.id for payload in waiting)
