"""The app plus one endpoint that exists only while the support benchmark runs.

`/bench/bare/<proposal>/<cast|withdraw>` performs the same database writes as casting or
withdrawing a support (support row, quota, proposal counter, journal), through the same functions
of app.votes.services, with no rule, no session and no form: the floor the real endpoints cannot
beat. Served by `gunicorn 'bench.support_app:create_bench_app()'`; tests/test_bench_support_app.py
checks that it writes what the real endpoints write.
"""

from flask import Blueprint, Flask, redirect, request

from app import create_app
from app.core import clock
from app.extensions import csrf, db
from app.votes import services
from app.votes.models import Support

bare = Blueprint("bare", __name__)


@bare.post("/bench/bare/<int:proposal_id>/<any(cast, withdraw):action>")
def bare_support(proposal_id: int, action: str):
    consultation_id, organization_id, user_id = (request.form.get(name, type=int)
                                                 for name in ("consultation_id", "organization_id", "user_id"))
    now = clock.now()
    if action == "cast":
        changed = services.insert_support(Support(
            consultation_id=consultation_id, proposal_id=proposal_id, organization_id=organization_id,
            cast_by_id=user_id, cast_at=now, receipt_code=services.new_receipt_code())) is not None
        if changed:
            services.take_quota(consultation_id, organization_id, limit=None)
    else:
        changed = services.delete_support(proposal_id, organization_id)
        if changed:
            services.give_back_quota(consultation_id, organization_id)
    if changed:
        services.shift_counts([proposal_id], 1 if action == "cast" else -1)
        services.journal(action, consultation_id=consultation_id, proposal_id=proposal_id,
                         organization_id=organization_id, actor_id=user_id, at=now, source=request.form.get("next"))
    db.session.commit()
    return redirect(request.form.get("next") or f"/propositions/{proposal_id}")


def create_bench_app(config: str | None = None, **overrides) -> Flask:
    app = create_app(config, **overrides)
    csrf.exempt(bare)
    app.register_blueprint(bare)
    return app
