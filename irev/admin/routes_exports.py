"""Exports (CSV, XLSX), the attendance sheet to print, attendance marking and figures."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import EmptyForm
from irev.dates import to_paris
from irev.extensions import db
from irev.models import Meeting, Programme, utcnow
from irev.request_guards import database_id
from irev.services import exports, figures
from irev.services.audit import record
from irev.wording import plural

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(meetings: list[Meeting], stem: str, fmt: str, obj) -> Response:
    """Build the export file and answer it as a download (audited: personal data leave)."""
    if fmt not in MIMETYPES:
        abort(404)
    table = exports.rows(exports.registrations_for(meetings))
    body = exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table)
    record(actor(), "export." + fmt, obj, after={"rows": len(table)})
    db.session.commit()
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{exports.filename(stem, fmt)}"'
    )
    return response


@bp.get("/seances/<int:meeting_id>/export.<fmt>")
def export_meeting(meeting_id: int, fmt: str):
    """Download a meeting's registrations as CSV or XLSX."""
    meeting = get_or_404(Meeting, meeting_id)
    stem = f"{to_paris(meeting.starts_at):%Y-%m-%d}-{meeting.title}"
    return _download([meeting], stem, fmt, meeting)


@bp.get("/programmes/<int:programme_id>/export.<fmt>")
def export_programme(programme_id: int, fmt: str):
    """Download the registrations of every meeting of a programme as CSV or XLSX."""
    programme = get_or_404(Programme, programme_id)
    return _download(list(programme.meetings), programme.title, fmt, programme)


@bp.get("/seances/<int:meeting_id>/emargement")
def attendance_sheet(meeting_id: int):
    """Show the attendance sheet of a meeting, ready to print (print stylesheet)."""
    meeting = get_or_404(Meeting, meeting_id)
    seated = exports.seated_for_sheet(meeting)
    return render_template(
        "admin/attendance_sheet.html", meeting=meeting, seated=seated, printed_at=utcnow()
    )


@bp.route("/seances/<int:meeting_id>/presence", methods=["GET", "POST"])
def attendance(meeting_id: int):
    """Mark who attended, once the meeting has started."""
    meeting = get_or_404(Meeting, meeting_id)
    form = EmptyForm()
    if meeting.is_past() and form.validate_on_submit():
        marks = {}
        for key, value in request.form.items():
            registration_id = database_id(key.removeprefix("presence-"))
            if key.startswith("presence-") and registration_id is not None:
                marks[registration_id] = figures.ATTENDANCE_VALUES.get(value)
        changed = figures.mark_attendance(meeting, marks, actor())
        db.session.commit()
        changes = plural(changed, "modification", "modifications", "aucune modification")
        flash(f"Présence enregistrée ({changes}).", "success")
        return redirect(url_for("admin.attendance", meeting_id=meeting.id), code=303)
    seated = exports.seated_for_sheet(meeting)
    return render_template("admin/attendance.html", meeting=meeting, seated=seated, form=form)


@bp.get("/chiffres")
def figures_index():
    """Show the figures of the most recent programme."""
    programme = db.session.scalar(
        db.select(Programme).order_by(Programme.year.desc(), Programme.id.desc()).limit(1)
    )
    if programme is None:
        return render_template("admin/figures.html", figures=None, programme=None)
    return redirect(url_for("admin.programme_figures", programme_id=programme.id), code=303)


@bp.get("/programmes/<int:programme_id>/chiffres")
def programme_figures(programme_id: int):
    """Show a programme's figures: per meeting, by département, by mandate, with charts."""
    programme = get_or_404(Programme, programme_id)
    return render_template(
        "admin/figures.html",
        figures=figures.programme_figures(programme),
        programme=programme,
        meeting=None,
        bars=figures.chart_bars,
    )


@bp.get("/seances/<int:meeting_id>/chiffres")
def meeting_figures(meeting_id: int):
    """Show a meeting's figures: registrations, attendance, by département and by mandate."""
    meeting = get_or_404(Meeting, meeting_id)
    return render_template(
        "admin/figures.html",
        figures=figures.meeting_figures(meeting),
        programme=meeting.programme,
        meeting=meeting,
        bars=figures.chart_bars,
    )
