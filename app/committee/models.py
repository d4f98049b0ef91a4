"""Seats on a consultation's steering committee."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class CommitteeSeat(db.Model):
    __tablename__ = "committee_seats"
    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "user_id"),
        # One chair per consultation.
        sa.Index("uq_committee_seats_chair", "consultation_id", unique=True,
                 sqlite_where=sa.text("is_chair"), postgresql_where=sa.text("is_chair")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    affiliation: Mapped[str] = mapped_column(sa.String(200))
    is_chair: Mapped[bool] = mapped_column(default=False)

    consultation = relationship("Consultation", back_populates="committee_seats")
    user = relationship("User")
