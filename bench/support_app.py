"""The app plus two endpoints that exist only while the support benchmark runs.

`/bench/bare/<proposal>/<cast|withdraw>` performs the writes that casting or withdrawing a support
leaves in the database (support row, quota, proposal counter, journal), as plain SQL written here,
with no rule, no session and no form: the floor the real endpoints cannot beat.
`/bench/signed-in/<proposal>/<cast|withdraw>` does the same writes behind what every signed-in form
pays before any rule: the session, the signed-in user (Flask-Login) and the CSRF check; the gap
between it and the real endpoints is what the support rules themselves cost. Served by
`gunicorn 'bench.support_app:create_bench_app()'`; support_bench.py checks after every run that each
endpoint left quotas and counters equal to the supports stored.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from flask import Blueprint, Flask, redirect, request
from flask_login import current_user, login_required

from app import create_app
from app.core import clock
from app.extensions import csrf, db
from app.proposals.models import Proposal
from app.votes.models import Support, SupportEvent, SupportQuota
from app.votes.services import new_receipt_code

bare = Blueprint("bare", __name__)
signed_in = Blueprint("signed_in", __name__)
supports, quotas, proposals = Support.__table__, SupportQuota.__table__, Proposal.__table__


@bare.post("/bench/bare/<int:proposal_id>/<any(cast, withdraw):action>")
def bare_support(proposal_id: int, action: str):
    return _write(proposal_id, action, user_id=request.form.get("user_id", type=int))


@signed_in.post("/bench/signed-in/<int:proposal_id>/<any(cast, withdraw):action>")
@login_required
def signed_in_support(proposal_id: int, action: str):
    return _write(proposal_id, action, user_id=current_user.id)


# Built once with their cache keys, parameters sent with each request, as the real endpoints' writes
# are (app/votes/services.py): the floor must not pay for building statements the product does not build.
OWNER = (quotas.c.consultation_id == sa.bindparam("of_consultation")) & (
    quotas.c.organization_id == sa.bindparam("of_organization"))
WRITES = {
    "insert": postgresql.insert(supports).on_conflict_do_nothing().returning(supports.c.id),
    "take": postgresql.insert(quotas).values(used=1).on_conflict_do_update(
        index_elements=[quotas.c.consultation_id, quotas.c.organization_id], set_={"used": quotas.c.used + 1}),
    "delete": sa.delete(supports).where(supports.c.proposal_id == sa.bindparam("of_proposal"),
                                        supports.c.organization_id == sa.bindparam("of_organization")),
    "give_back": sa.update(quotas).where(OWNER).values(used=quotas.c.used - 1),
    "count": sa.update(proposals).where(proposals.c.id == sa.bindparam("of_proposal"))
    .values(support_count=proposals.c.support_count + sa.bindparam("step")),
    "journal": sa.insert(SupportEvent.__table__),
}


def _write(proposal_id: int, action: str, user_id: int | None):
    consultation_id, organization_id = (request.form.get(name, type=int)
                                        for name in ("consultation_id", "organization_id"))
    now = clock.now()
    ids = {"of_consultation": consultation_id, "of_organization": organization_id, "of_proposal": proposal_id}
    if action == "cast":
        changed = db.session.execute(WRITES["insert"], {
            "consultation_id": consultation_id, "proposal_id": proposal_id, "organization_id": organization_id,
            "cast_by_id": user_id, "cast_at": now, "receipt_code": new_receipt_code()}).scalar() is not None
        if changed:
            db.session.execute(WRITES["take"], {"consultation_id": consultation_id, "organization_id": organization_id})
    else:
        changed = db.session.execute(WRITES["delete"], ids).rowcount > 0
        if changed:
            db.session.execute(WRITES["give_back"], ids)
    if changed:
        db.session.execute(WRITES["count"], {**ids, "step": 1 if action == "cast" else -1})
        db.session.execute(WRITES["journal"], {
            "consultation_id": consultation_id, "proposal_id": proposal_id, "organization_id": organization_id,
            "actor_id": user_id, "action": action, "at": now, "source": (request.form.get("next") or "")[:200] or None})
    db.session.commit()
    return redirect(request.form.get("next") or f"/propositions/{proposal_id}")


def create_bench_app(config: str | None = None, **overrides) -> Flask:
    app = create_app(config, **overrides)
    csrf.exempt(bare)
    app.register_blueprint(bare)
    app.register_blueprint(signed_in)
    return app
