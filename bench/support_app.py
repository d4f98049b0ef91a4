"""The app plus one endpoint that exists only while the support benchmark runs.

`/bench/bare/<proposal>/<cast|withdraw>` performs the same database writes as casting or
withdrawing a support (quota, support row, proposal counter, journal) with no rule, no session and
no form: the floor the real endpoints cannot beat. Served by `gunicorn bench.support_app:app`.
"""

import sqlalchemy as sa
from flask import Blueprint, redirect, request
from sqlalchemy.dialects import postgresql

from app import create_app
from app.extensions import csrf, db
from app.proposals.models import Proposal
from app.votes.models import Support, SupportEvent, SupportQuota
from app.votes.services import new_receipt_code

bare = Blueprint("bare", __name__)


@bare.post("/bench/bare/<int:proposal_id>/<any(cast, withdraw):action>")
def bare_support(proposal_id: int, action: str):
    consultation_id, organization_id, user_id = (request.form.get(name, type=int)
                                                 for name in ("consultation_id", "organization_id", "user_id"))
    step = 1 if action == "cast" else -1
    if action == "cast":
        changed = db.session.scalar(postgresql.insert(Support).values(
            consultation_id=consultation_id, proposal_id=proposal_id, organization_id=organization_id,
            cast_by_id=user_id, receipt_code=new_receipt_code()).on_conflict_do_nothing()
            .returning(Support.id)) is not None
    else:
        changed = db.session.execute(sa.delete(Support).where(
            Support.proposal_id == proposal_id, Support.organization_id == organization_id)).rowcount
    if changed:
        quota = SupportQuota.__table__
        db.session.execute(postgresql.insert(quota).values(
            consultation_id=consultation_id, organization_id=organization_id, used=step).on_conflict_do_update(
            index_elements=[quota.c.consultation_id, quota.c.organization_id], set_={"used": quota.c.used + step}))
        db.session.execute(sa.update(Proposal).where(Proposal.id == proposal_id)
                           .values(support_count=Proposal.support_count + step))
        db.session.add(SupportEvent(consultation_id=consultation_id, proposal_id=proposal_id,
                                    organization_id=organization_id, actor_id=user_id, action=action,
                                    source=request.form.get("next")))
    db.session.commit()
    return redirect(request.form.get("next") or f"/propositions/{proposal_id}")


app = create_app()
csrf.exempt(bare)
app.register_blueprint(bare)
