"""Attestations de participation from the self-service page: a PDF per meeting, per year.

The buttons post a form (CSRF token) rather than follow a link: issuing an attestation records
it (its verification code), and nothing changes on a GET. Each PDF has an accessible version
(RGAA 13.3): the second button of the same form issues the same attestation and opens its
verification page, which states everything the PDF states as an HTML page.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for

from irev.extensions import db
from irev.models import Person, Registration
from irev.registration import bp
from irev.registration.forms import ConfirmForm
from irev.registration.links import read_manage_link
from irev.services import attestations


@bp.context_processor
def _attestation_helpers() -> dict:
    """Give the self-service page the years a yearly summary exists for."""
    return {"attestation_years": attestations.attended_years}


def _pdf(attestation) -> Response:
    """Answer the attestation as a PDF download, or open its HTML version when asked."""
    if request.form.get("format") == "page":
        code = attestations.format_code(attestation.code)
        return redirect(url_for("public.verify_attestation", code=code), 303)
    response = Response(attestations.render_pdf(attestation), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{attestations.filename(attestation)}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(token: str, message: str):
    """Come back to the self-service page with a French message."""
    flash(message, "error")
    return redirect(url_for("registration.manage", token=token), 303)


@bp.post("/gerer/<token>/attestations/seance/<int:registration_id>")
def meeting_attestation(token: str, registration_id: int):
    """Download the attestation of one attended meeting."""
    person: Person = read_manage_link(token)
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.person_id != person.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        return _refused(token, "Le formulaire a expiré : cliquez de nouveau sur le bouton.")
    try:
        attestation = attestations.for_meeting(registration, person)
    except attestations.AttestationError as error:
        return _refused(token, str(error))
    db.session.commit()
    return _pdf(attestation)


@bp.post("/gerer/<token>/attestations/<int:year>")
def year_attestation(token: str, year: int):
    """Download the summary of the meetings attended in a year."""
    person: Person = read_manage_link(token)
    if not ConfirmForm().validate_on_submit():
        return _refused(token, "Le formulaire a expiré : cliquez de nouveau sur le bouton.")
    try:
        attestation = attestations.for_year(person, year, person)
    except attestations.AttestationError as error:
        return _refused(token, str(error))
    db.session.commit()
    return _pdf(attestation)
