"""The page of the reconfirmation e-mail: « je confirme ma présence » or « je libère ma place ».

Opening the link (GET) changes nothing, since mail scanners open links; the two buttons POST.
The registration blueprint's after_request gives the page TOKEN_PAGE_REFERRER_POLICY.
"""

from __future__ import annotations

from flask import make_response, render_template, request

from irev.extensions import db
from irev.registration import bp
from irev.registration.forms import ConfirmForm
from irev.registration.links import read_reconfirm_link
from irev.services import reconfirmation
from irev.services.meetings import waiting_count

#: The values of the two buttons.
CONFIRM, FREE = "confirmer", "liberer"


def _done(registration, status: int = 200, **context):
    """Render the page that says what was recorded (or why nothing can be)."""
    context.setdefault("problem", "")
    page = render_template("registration/reconfirm_done.html", registration=registration, **context)
    return make_response(page, status)


@bp.route("/reconfirmer/<token>", methods=["GET", "POST"])
def reconfirm(token: str):
    """Show the two buttons (GET); record the answer (POST), freeing the seat at once if asked."""
    registration = read_reconfirm_link(token)
    problem = reconfirmation.unanswerable(registration)
    if problem or registration.reconfirmed_at is not None:
        return _done(registration, 409, problem=problem)  # a used or outdated link
    form = ConfirmForm()
    choice = request.form.get("reponse", "")
    if not form.validate_on_submit() or choice not in (CONFIRM, FREE):
        page = render_template(
            "registration/reconfirm.html",
            registration=registration,
            someone_waits=waiting_count(registration.meeting) > 0,
            invalid=form.is_submitted(),
        )
        return page, 400 if form.is_submitted() else 200
    if choice == CONFIRM:
        reconfirmation.confirm_presence(registration, registration.person)
        db.session.commit()
        return _done(registration)
    promoted = reconfirmation.free_place(registration, registration.person)
    db.session.commit()
    response = _done(registration, just_freed=True, promoted=bool(promoted))
    response.headers["HX-Trigger"] = "seats-changed"
    return response
