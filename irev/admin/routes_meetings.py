"""Meetings: create, edit, publish, unpublish, cancel (cycles live in routes_programmes)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import CancelMeetingForm, EmptyForm, MeetingForm
from irev.extensions import db
from irev.models import Meeting, MeetingStatus, Programme
from irev.request_guards import whole_number
from irev.services import cycles, mass_changes, meetings_admin
from irev.services.meetings_admin import MeetingError


def _programme(programme_id: int | None = None) -> Programme:
    """Return the programme asked for, else the most recent one; 404 when there is none."""
    query = db.select(Programme).order_by(Programme.year.desc(), Programme.id.desc())
    if programme_id:
        query = query.where(Programme.id == programme_id)
    programme = db.session.scalar(query.limit(1))
    if programme is None:
        abort(404)
    return programme


def _field_error(form: MeetingForm, error: MeetingError) -> None:
    """Show a refused change beside its field (or above the form)."""
    target = form[error.field] if error.field and error.field in form else form.title
    target.errors = [*target.errors, str(error)]


@bp.get("/seances")
def meetings():
    """List every meeting of every programme, with its status and actions."""
    order = (Programme.year.desc(), Programme.id.desc())
    programmes = db.session.scalars(db.select(Programme).order_by(*order)).all()
    return render_template("admin/meetings.html", programmes=programmes, form=EmptyForm())


@bp.route("/seances/nouvelle", methods=["GET", "POST"])
def meeting_new():
    """Create a meeting (as a draft) in a programme."""
    programme = _programme(request.args.get("programme", type=whole_number))
    form = MeetingForm(data=cycles.meeting_defaults(programme) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            meeting = meetings_admin.create_meeting(programme, form.data, actor())
        except MeetingError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(
                f"Séance « {meeting.title} » créée en brouillon : publiez-la quand elle est prête.",
                "success",
            )
            return redirect(url_for("admin.meeting_edit", meeting_id=meeting.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/meeting_form.html", form=form, programme=programme, meeting=None
    ), status


def _kept_values() -> list[tuple[str, str]]:
    """Return the submitted fields to carry through a confirmation page (not the token)."""
    skipped = {"csrf_token", "confirmer", "revoir"}
    return [(k, v) for k, v in request.form.items(multi=True) if k not in skipped]


@bp.route("/seances/<int:meeting_id>/modifier", methods=["GET", "POST"])
def meeting_edit(meeting_id: int):
    """Edit a meeting; a change that e-mails registrants is previewed and confirmed first."""
    meeting = get_or_404(Meeting, meeting_id)
    form = MeetingForm(data=meetings_admin.form_data(meeting) if request.method == "GET" else None)
    if form.validate_on_submit() and not request.form.get("revoir"):
        try:
            if not request.form.get("confirmer"):
                preview = mass_changes.preview_update(meeting, form.data, actor())
                if preview.total:
                    return render_template(
                        "admin/meeting_confirm.html",
                        meeting=meeting,
                        preview=preview,
                        kept=_kept_values(),
                    )
            changed = meetings_admin.update_meeting(meeting, form.data, actor())
        except MeetingError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash("Séance enregistrée." if changed else "Aucune modification.", "success")
            return redirect(url_for("admin.meeting_edit", meeting_id=meeting.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/meeting_form.html",
        form=form,
        programme=meeting.programme,
        meeting=meeting,
        status_form=EmptyForm(),
    ), status


def _set_status(meeting_id: int, status: MeetingStatus, message: str):
    """Change a meeting's status from a one-button form."""
    meeting = get_or_404(Meeting, meeting_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            meetings_admin.set_status(meeting, status, actor())
        except MeetingError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message.format(title=meeting.title), "success")
    if request.form.get("retour") == "liste":
        return redirect(url_for("admin.meetings"), code=303)
    return redirect(url_for("admin.meeting_edit", meeting_id=meeting.id), code=303)


@bp.post("/seances/<int:meeting_id>/publier")
def meeting_publish(meeting_id: int):
    """Publish a meeting: it appears on the site and opens to registration."""
    return _set_status(meeting_id, MeetingStatus.PUBLISHED, "Séance « {title} » publiée.")


@bp.post("/seances/<int:meeting_id>/depublier")
def meeting_unpublish(meeting_id: int):
    """Take a meeting back to draft: it leaves the site."""
    return _set_status(
        meeting_id, MeetingStatus.DRAFT, "Séance « {title} » retirée du site (brouillon)."
    )


@bp.route("/seances/<int:meeting_id>/annuler", methods=["GET", "POST"])
def meeting_cancel(meeting_id: int):
    """Ask a reason, preview the e-mails, then on confirmation cancel the meeting."""
    meeting = get_or_404(Meeting, meeting_id)
    form = CancelMeetingForm()
    preview = None
    if form.validate_on_submit():
        reason = form.reason.data.strip()
        try:
            if request.form.get("confirmer"):
                meetings_admin.set_status(meeting, MeetingStatus.CANCELLED, actor(), reason)
            else:
                preview = mass_changes.preview_cancel(meeting, reason, actor())
        except MeetingError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("admin.meeting_edit", meeting_id=meeting.id), code=303)
        if preview is None:
            db.session.commit()
            flash(
                f"Séance « {meeting.title} » annulée : les inscrits sont prévenus par e-mail.",
                "success",
            )
            return redirect(url_for("admin.meeting_edit", meeting_id=meeting.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/meeting_cancel.html", meeting=meeting, form=form, preview=preview
    ), status
