"""The satisfaction questionnaire opened from the e-mailed link (GET shows, POST saves)."""

from __future__ import annotations

import unicodedata

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from irev.extensions import db
from irev.registration import bp
from irev.registration.forms import ErrorListMixin, strip
from irev.registration.links import LinkProblem
from irev.services import questionnaire as service


class _QuestionnaireBase(ErrorListMixin, FlaskForm):
    """The questionnaire's fields are added from the question set (questionnaire_form)."""

    question_set: service.QuestionSet

    def ratings(self) -> dict[str, int]:
        """Return the ratings by key (after a successful validate())."""
        return {q.key: int(self[q.key].data) for q in self.question_set.ratings}


def _rating_check(question: service.RatingQuestion):
    """Require one of the scale's values, with a French message naming the question."""

    def check(form, field) -> None:
        if not field.data:
            raise ValidationError(f"Choisissez une note de 1 à 5 pour « {question.short} ».")
        if field.data not in {str(v) for v in service.SCALE}:
            raise ValidationError(
                f"La note de « {question.short} » doit être l’un des choix proposés, de 1 à 5."
            )

    return check


def _remark_check(form, field) -> None:
    """Refuse control characters (NUL: PostgreSQL refuses it) and texts past the maximum."""
    text = field.data or ""
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise ValidationError("Votre remarque contient des caractères non autorisés : retirez-les.")
    if len(text) > service.REMARK_MAX:
        raise ValidationError(
            f"Votre remarque fait {len(text)} caractères : elle doit en faire 2 000 au plus."
        )


def questionnaire_form(formdata=None) -> _QuestionnaireBase:
    """Build the form of the current question set."""
    questions = service.current_set()
    fields = {
        q.key: RadioField(
            q.legend,
            choices=[SelectChoice(str(v), service.scale_label(q, v)) for v in service.SCALE],
            filters=[strip],
            validate_choice=False,
            validators=[_rating_check(q)],
        )
        for q in questions.ratings
    }
    fields["remark"] = TextAreaField(
        f"{questions.remark_label} (facultatif)", filters=[strip], validators=[_remark_check]
    )
    form_class = type(
        "QuestionnaireForm",
        (_QuestionnaireBase,),
        {
            **fields,
            "question_set": questions,
            "FIELD_ORDER": (*[q.key for q in questions.ratings], "remark"),
        },
    )
    return form_class(formdata)


def _registration(token: str):
    """Return the registration the link opens, or raise the page that says why not."""
    try:
        return service.registration_for_link(token)
    except service.LinkExpired as error:
        raise LinkProblem(
            410,
            "Lien expiré",
            "Ce lien vers le questionnaire a expiré. Merci de votre intérêt : vous pouvez nous "
            "écrire vos remarques par courriel.",
        ) from error
    except service.LinkInvalid as error:
        raise LinkProblem(
            400,
            "Lien incorrect",
            "Ce lien est incomplet, a été modifié ou n’est plus valable. Copiez l’adresse "
            "complète depuis le courriel reçu après la rencontre.",
        ) from error


def _already(token: str):
    """Thank someone who has answered already (a second answer is never stored)."""
    return render_template("public/questionnaire_done.html", already=True), 409


@bp.route("/questionnaire/<token>", methods=["GET", "POST"])
def questionnaire(token: str):
    """Show the questionnaire (GET) and save the one answer of an attendee (POST)."""
    try:
        registration = _registration(token)
    except service.AlreadyAnswered:
        return _already(token)
    except service.NotAnAttendee:
        return render_template("public/questionnaire_closed.html"), 403
    form = questionnaire_form(request.form if request.method == "POST" else None)
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        page = render_template(
            "public/questionnaire.html", form=form, meeting=registration.meeting, token=token
        )
        return page, status
    try:
        service.save_answer(registration, form.ratings(), form.remark.data or "")
    except service.AlreadyAnswered:
        db.session.rollback()
        return _already(token)
    db.session.commit()
    return render_template("public/questionnaire_done.html", already=False)
