"""Questions for the speaker (sort, merge, answer, export) and the questionnaire's results."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import EmptyForm
from irev.dates import to_paris
from irev.extensions import db
from irev.models import Meeting, Programme, utcnow
from irev.request_guards import database_id
from irev.services import questionnaire_export
from irev.services import questionnaire_results as results_service
from irev.services import speaker_questions as service
from irev.services.audit import record
from irev.services.meetings_admin import slugify

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: The one-button staff actions of the questions page, by the form's "action" value.
ACTIONS = {
    "keep": (service.keep, "La question n° {id} est retenue."),
    "answer": (service.mark_answered, "La question n° {id} est marquée comme répondue."),
    "reopen": (service.reopen, "La question n° {id} est de nouveau « nouvelle »."),
}


def _download(body: bytes, name: str) -> Response:
    """Answer an XLSX file as a download."""
    response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _stem(meeting: Meeting) -> str:
    """Return "2027-03-03-titre" for file names."""
    return slugify(f"{to_paris(meeting.starts_at):%Y-%m-%d}-{meeting.title}")


def _questions_page(meeting: Meeting, error: str = "", status: int = 200):
    """Render the questions page (with an error after a refused action)."""
    questions = service.meeting_questions(meeting)
    page = render_template(
        "admin/questions.html",
        meeting=meeting,
        questions=questions,
        targets=lambda q: service.merge_targets(q, questions),
        error=error,
    )
    return page, status


@bp.get("/seances/<int:meeting_id>/questions")
def speaker_questions(meeting_id: int):
    """List a meeting's questions for the speaker, with keep, merge and answer buttons."""
    return _questions_page(get_or_404(Meeting, meeting_id))


@bp.post("/seances/<int:meeting_id>/questions/<int:question_id>")
def speaker_question_action(meeting_id: int, question_id: int):
    """Keep, merge, answer or reopen one question, then come back to the list (303)."""
    meeting = get_or_404(Meeting, meeting_id)
    question = service.visible_question(meeting, question_id)
    if question is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    try:
        if action == "merge":
            target_id = database_id(request.form.get("cible", ""))
            target = service.visible_question(meeting, target_id) if target_id else None
            service.merge(question, target, actor())
            message = f"La question n° {question.id} est fusionnée dans la n° {target.id}."
        elif action in ACTIONS:
            change, template = ACTIONS[action]
            change(question, actor())
            message = template.format(id=question.id)
        else:
            raise service.QuestionError("Choisissez une des actions proposées pour la question.")
    except service.QuestionError as error:
        db.session.rollback()
        return _questions_page(meeting, f"Question n° {question_id} : {error}", 422)
    db.session.commit()
    flash(message, "success")
    target_url = url_for("admin.speaker_questions", meeting_id=meeting.id)
    return redirect(f"{target_url}#question-{question.id}", 303)


@bp.get("/seances/<int:meeting_id>/questions.xlsx")
def speaker_questions_export(meeting_id: int):
    """Download the kept and answered questions for the speaker (no names; communes on demand)."""
    meeting = get_or_404(Meeting, meeting_id)
    with_communes = request.args.get("communes") == "1"
    headers, rows = service.export_rows(meeting, with_communes=with_communes)
    body = questionnaire_export.workbook([("Questions", headers, rows)])
    record(
        actor(), "question.export", meeting, after={"rows": len(rows), "communes": with_communes}
    )
    db.session.commit()
    return _download(body, f"questions-{_stem(meeting)}.xlsx")


@bp.get("/seances/<int:meeting_id>/questions/imprimer")
def speaker_questions_print(meeting_id: int):
    """Show the questions for the speaker as a page to print (no names; communes on demand)."""
    meeting = get_or_404(Meeting, meeting_id)
    with_communes = request.args.get("communes") == "1"
    return render_template(
        "admin/questions_print.html",
        meeting=meeting,
        questions=service.for_speaker(meeting),
        askers=service.askers,
        with_communes=with_communes,
        printed_at=utcnow(),
    )


@bp.get("/seances/<int:meeting_id>/questionnaire")
def meeting_questionnaire(meeting_id: int):
    """Show a meeting's questionnaire results (hidden below the minimal number of answers)."""
    meeting = get_or_404(Meeting, meeting_id)
    return render_template(
        "admin/questionnaire_results.html",
        meeting=meeting,
        programme=meeting.programme,
        results=results_service.meeting_results(meeting),
        averages={},
        bars=results_service.chart_bars,
        average=results_service.french_average,
    )


@bp.get("/programmes/<int:programme_id>/questionnaire")
def programme_questionnaire(programme_id: int):
    """Show a cycle's questionnaire results, with one line per meeting."""
    programme = get_or_404(Programme, programme_id)
    results = results_service.programme_results(programme)
    return render_template(
        "admin/questionnaire_results.html",
        meeting=None,
        programme=programme,
        results=results,
        averages=results_service.line_averages(results.lines),
        bars=results_service.chart_bars,
        average=results_service.french_average,
    )


@bp.get("/programmes/<int:programme_id>/questionnaire.xlsx")
def programme_questionnaire_export(programme_id: int):
    """Download the aggregated results of a cycle, one sheet per level (cycle, meetings)."""
    programme = get_or_404(Programme, programme_id)
    body = questionnaire_export.results_workbook(programme)
    record(actor(), "questionnaire.export", programme)
    db.session.commit()
    return _download(body, f"satisfaction-{slugify(programme.title)}.xlsx")
