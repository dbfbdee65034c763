"""Sign-in and sign-out of staff."""

from __future__ import annotations

import logging

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from irev.admin import bp, safe_next
from irev.admin.forms import EmptyForm, SignInForm
from irev.extensions import db, limiter
from irev.services import staff

log = logging.getLogger(__name__)

#: One message whatever went wrong: nobody learns which addresses have an account.
SIGN_IN_REFUSED = (
    "Adresse e-mail ou mot de passe incorrect. Après 5 échecs successifs, le compte est "
    "bloqué pendant 15 minutes."
)


def _sign_in_limit() -> str:
    """Return the rate limit of sign-in attempts per client address."""
    return current_app.config["IREV_SIGN_IN_RATE_LIMIT"]


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def sign_in():
    """Show the sign-in form; on success start a new session and go where the user was going."""
    next_url = safe_next(request.args.get("next"))
    if request.htmx and request.method == "GET":
        # Asked for as a fragment (the session ended): load the whole page instead.
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = request.full_path.rstrip("?")
        return response
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("admin.dashboard"), code=303)
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        user = staff.authenticate(form.email.data, form.password.data)
        db.session.commit()  # failure counters and locks are kept whatever the outcome
        if user is not None:
            session.clear()  # a new session: nothing from before sign-in survives
            g.pop("csrf_token", None)  # nor the CSRF token of the old session
            login_user(user)
            return redirect(next_url or url_for("admin.dashboard"), code=303)
        error = SIGN_IN_REFUSED
        form.password.data = ""
    status = 422 if (error or form.errors) else 200
    return render_template("admin/sign_in.html", form=form, error=error, next=next_url), status


@bp.post("/deconnexion")
def sign_out():
    """End the session here and on the server: the old cookie no longer signs anyone in."""
    form = EmptyForm()
    if form.validate_on_submit():
        staff.end_sessions(current_user._get_current_object())
        db.session.commit()
        log.info("staff sign-out: account %s", current_user.id)
        logout_user()
        session.clear()
        g.pop("csrf_token", None)
        return redirect(url_for("admin.sign_in"), code=303)
    return redirect(url_for("admin.dashboard"), code=303)
