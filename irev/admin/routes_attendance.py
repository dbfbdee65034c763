"""Attendance from the video tool's participant report: upload, then match the rest by hand."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import options
from irev.dates import to_paris
from irev.extensions import db
from irev.models import AttendanceParticipant, Meeting
from irev.services import attendance_import as service
from irev.services import zoom_report
from irev.wording import plural


class ReportForm(FlaskForm):
    """Upload of Zoom's participant report (CSV)."""

    report = FileField(
        "Rapport des participants (fichier CSV exporté de Zoom)",
        validators=[FileRequired("Choisissez le fichier CSV du rapport des participants.")],
    )


class MatchForm(FlaskForm):
    """Match one participant of the report to a seated registrant (or undo a match)."""

    registration = SelectField("Personne inscrite", choices=[], validate_choice=True)


def _match_choices(meeting: Meeting) -> list[tuple[str, str]]:
    """Return the seated registrants to choose from, "" meaning « aucune »."""
    seated = service.seated_registrations(meeting)
    people = sorted(seated, key=lambda r: (r.person.last_name.casefold(), r.person.first_name))
    return [("", "Aucune (ne pas compter)")] + [
        (str(r.id), f"{r.person.last_name.upper()} {r.person.first_name} – {r.person.email}")
        for r in people
    ]


def _page(meeting: Meeting, form: ReportForm, problems=None, status: int = 200):
    """Render the report page: upload form, then the participants and their matches."""
    rows = service.participants(meeting)
    page = render_template(
        "admin/attendance_report.html",
        meeting=meeting,
        form=form,
        problems=problems or [],
        participants=rows,
        choices=_match_choices(meeting) if rows else [],
        threshold=service.threshold_percent(meeting.programme),
    )
    return page, status


def _raise_upload_limit() -> None:
    """Let the report upload past the site-wide body limit (MAX_CONTENT_LENGTH, 64 kB)."""
    if request.endpoint == "admin.attendance_report":
        request.max_content_length = current_app.config["IREV_ATTENDANCE_MAX_UPLOAD_BYTES"]


@bp.record_once
def _first_of_all(state) -> None:
    """Run _raise_upload_limit before every other hook: the NUL guard and CSRF read the body."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


@bp.route("/seances/<int:meeting_id>/presence/rapport", methods=["GET", "POST"])
def attendance_report(meeting_id: int):
    """Import the participant report of a meeting (one transaction), then show the matches."""
    meeting = get_or_404(Meeting, meeting_id)
    form = ReportForm()
    if request.method == "GET" or not meeting.is_past():
        return _page(meeting, form, status=200 if request.method == "GET" else 409)
    if not form.validate_on_submit():
        return _page(meeting, form, status=422)
    try:
        records = zoom_report.parse_zoom_report(
            form.report.data.read(), meeting_day=to_paris(meeting.starts_at).date()
        )
    except zoom_report.ReportError as error:
        return _page(meeting, form, problems=error.problems, status=422)
    summary = service.import_participants(meeting, records, actor())
    db.session.commit()
    flash(
        f"Rapport importé : {plural(summary.participants, 'participant', 'participants')} sur "
        f"{plural(summary.rows, 'ligne', 'lignes')}, "
        f"{plural(summary.matched, 'reconnu', 'reconnus')}, {summary.unmatched} à rapprocher ; "
        f"{plural(summary.present, 'présent', 'présents')}, "
        f"{plural(summary.absent, 'absent', 'absents')}.",
        "success",
    )
    return redirect(url_for("admin.attendance_report", meeting_id=meeting.id), code=303)


@bp.post("/seances/<int:meeting_id>/presence/rapport/<int:participant_id>")
def attendance_match(meeting_id: int, participant_id: int):
    """Match one participant of the report by hand (or undo), then recompute presence."""
    meeting = get_or_404(Meeting, meeting_id)
    participant = get_or_404(AttendanceParticipant, participant_id)
    if participant.meeting_id != meeting.id:
        abort(404)
    form = MatchForm()
    form.registration.choices = options(*_match_choices(meeting))
    if not form.validate_on_submit():
        flash("Choisissez une personne ayant une place à cette séance.", "error")
        return _page(meeting, ReportForm(), status=422)
    chosen = int(form.registration.data) if form.registration.data else None
    try:
        service.match_by_hand(participant, chosen, actor())
    except service.MatchError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(meeting, ReportForm(), status=422)
    db.session.commit()
    flash(
        f"« {participant.name or participant.email} » "
        + ("rapproché·e." if chosen else "n’est plus rapproché·e de personne."),
        "success",
    )
    target = url_for("admin.attendance_report", meeting_id=meeting.id, _anchor="participants")
    return redirect(target, code=303)
