"""Sign-in and sign-out of staff; « Mot de passe oublié » and the e-mailed password links."""

from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from irev.admin import bp, safe_next
from irev.admin.forms import EmptyForm, ForgotPasswordForm, NewPasswordForm, SignInForm
from irev.extensions import db, limiter
from irev.security import TOKEN_PAGE_REFERRER_POLICY
from irev.services import staff

log = logging.getLogger(__name__)

#: One message whatever went wrong: nobody learns which addresses have an account.
SIGN_IN_REFUSED = (
    "Adresse e-mail ou mot de passe incorrect. Après 5 échecs successifs, le compte est "
    "bloqué pendant 15 minutes."
)


#: The same answer whether or not the address has an account: the difference goes by e-mail.
RESET_ANSWER = (
    "Si un compte actif correspond à cette adresse, un e-mail vient de lui être envoyé avec un "
    "lien pour choisir un nouveau mot de passe (valable 2 heures). Pensez à regarder dans les "
    "courriers indésirables."
)


def _sign_in_limit() -> str:
    """Return the rate limit of failed sign-in attempts per client address."""
    return current_app.config["IREV_SIGN_IN_RATE_LIMIT"]


def _sign_in_failed(response) -> bool:
    """Count a sign-in attempt toward the limit only when it did not sign anyone in.

    A team behind one office address signs in many times a day: successes never lock it out.
    """
    return not g.get("signed_in", False)


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_sign_in_failed)
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
            g.signed_in = True
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


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IREV_PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a new-password link; the answer never tells whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        staff.request_password_reset(form.email.data)
        db.session.commit()
        flash(RESET_ANSWER, "success")
        return redirect(url_for("admin.sign_in"), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/forgot_password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Open an invitation link: a form to choose the password; saved only on POST."""
    return _password_from_link(staff.INVITE, token)


@bp.route("/nouveau-mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Open a new-password link: a form to choose the password; saved only on POST."""
    return _password_from_link(staff.RESET, token)


def _password_from_link(purpose: str, token: str):
    """Show the password form of an e-mailed link, or set the password and go to sign-in."""
    form = NewPasswordForm()
    try:
        user = staff.account_for_link(purpose, token)
        if form.validate_on_submit():
            staff.set_password_from_link(purpose, token, form.password.data)
            db.session.commit()
            flash("Votre mot de passe est enregistré. Connectez-vous avec lui.", "success")
            return _token_page(redirect(url_for("admin.sign_in"), code=303))
    except staff.LinkError as error:
        db.session.rollback()
        page = render_template("admin/link_problem.html", message=str(error))
        return _token_page(current_app.make_response((page, 410)))
    except staff.StaffError as error:  # a password too short
        form.password.errors.append(str(error))
    form.password.data = form.confirm.data = ""
    page = render_template(
        "admin/new_password.html", form=form, user=user, invitation=purpose == staff.INVITE
    )
    return _token_page(current_app.make_response((page, 422 if form.errors else 200)))


def _token_page(response):
    """Keep the token of the page's URL out of other sites' Referer and out of indexes."""
    response.headers["Referrer-Policy"] = TOKEN_PAGE_REFERRER_POLICY
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
