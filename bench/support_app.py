"""The app plus two endpoints that exist only while the support benchmark runs.

`/bench/bare/<proposal>/<cast|withdraw>` performs the same database writes as casting or
withdrawing a support (support row, quota, proposal counter, journal), through the same functions
of app.votes.services, with no rule, no session and no form: the floor the real endpoints cannot
beat. `/bench/signed-in/<proposal>/<cast|withdraw>` does the same writes behind what every signed-in
form pays before any rule: the session, the signed-in user (Flask-Login) and the CSRF check; the
gap between it and the real endpoints is what the support rules themselves cost. Served by
`gunicorn 'bench.support_app:create_bench_app()'`; tests/votes/test_bench_endpoint.py checks that
both write what the real endpoints write.
"""

from flask import Blueprint, Flask, redirect, request
from flask_login import current_user, login_required

from app import create_app
from app.core import clock
from app.extensions import csrf, db
from app.votes import services
from app.votes.models import Support

bare = Blueprint("bare", __name__)
signed_in = Blueprint("signed_in", __name__)


@bare.post("/bench/bare/<int:proposal_id>/<any(cast, withdraw):action>")
def bare_support(proposal_id: int, action: str):
    return _write(proposal_id, action, user_id=request.form.get("user_id", type=int))


@signed_in.post("/bench/signed-in/<int:proposal_id>/<any(cast, withdraw):action>")
@login_required
def signed_in_support(proposal_id: int, action: str):
    return _write(proposal_id, action, user_id=current_user.id)


def _write(proposal_id: int, action: str, user_id: int | None):
    consultation_id, organization_id = (request.form.get(name, type=int)
                                        for name in ("consultation_id", "organization_id"))
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
    app.register_blueprint(signed_in)
    return app
