"""Self-service: ask, change or withdraw a question for a meeting's speaker."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from irev.dates import short_date
from irev.extensions import db
from irev.registration import bp
from irev.registration.forms import ErrorListMixin
from irev.registration.links import read_manage_link
from irev.registration.question_field import QUESTION_LABEL, question_field
from irev.registration.selfservice import _own_registration
from irev.services import speaker_questions as service


class SpeakerQuestionForm(ErrorListMixin, FlaskForm):
    """The question of one registration; saving needs a text, withdrawing does not."""

    question = question_field(QUESTION_LABEL)

    FIELD_ORDER = ("question",)

    def validate_question(self, field) -> None:
        """Require a text to save (withdrawing is its own button)."""
        if request.form.get("action") != "withdraw" and not field.data:
            raise ValidationError("Saisissez votre question (1 000 caractères au plus).")


@bp.context_processor
def _question_helpers() -> dict:
    """Give the self-service page the question of each registration."""
    return {"speaker_question": service.question_of, "may_ask_question": service.may_ask}


@bp.route("/gerer/<token>/question/<int:registration_id>", methods=["GET", "POST"])
def speaker_question(token: str, registration_id: int):
    """Show (GET) and save or withdraw (POST) the person's question for one meeting."""
    person = read_manage_link(token)
    registration = _own_registration(person, registration_id)
    question = service.question_of(registration)
    back = redirect(url_for("registration.manage", token=token), 303)
    if not service.may_ask(registration) or not service.editable(question):
        flash(
            "Cette question ne peut plus être modifiée : la séance a commencé, ou l’équipe "
            "de l’IREV l’a déjà traitée.",
            "info",
        )
        return back
    form = SpeakerQuestionForm(obj=None, data={"question": question.text if question else ""})
    if not form.is_submitted() or not form.validate():
        page = render_template(
            "registration/speaker_question.html",
            form=form,
            token=token,
            registration=registration,
            question=question,
        )
        return page, 422 if form.is_submitted() else 200
    day = short_date(registration.meeting.starts_at)
    try:
        if request.form.get("action") == "withdraw":
            service.withdraw(registration, person)
            message = f"Votre question pour la séance du {day} est retirée."
        else:
            service.set_question(registration, form.question.data, person)
            message = f"Votre question pour la séance du {day} est enregistrée."
    except service.QuestionError as error:
        db.session.rollback()
        flash(str(error), "info")
        return back
    db.session.commit()
    flash(message, "success")
    return back
