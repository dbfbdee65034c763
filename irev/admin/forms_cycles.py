"""Forms of the cycle pages: a cycle's texts and meeting defaults, its duplication, publishing."""

from __future__ import annotations

from datetime import date

from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, StopValidation, ValidationError

from irev.admin.forms import (
    DateField,
    IntegerField,
    ProgrammeForm,
    StaffForm,
    TimeField,
    _max,
    _required,
    _title_field,
    options,
    single_line,
    within_date_range,
)
from irev.services.cycles import SCHEDULE_NAME
from irev.services.link_schedule import ScheduleError, parse_schedule
from irev.services.reconfirmation import MAX_DAYS

APPROVAL_CHOICES = options(
    ("automatic", "Automatique : une place libre est attribuée aussitôt"),
    ("moderated", "Par l'équipe : chaque demande attend une validation"),
)


class RequiredWhenSent:
    """Refuse an empty value, but keep the stored one when the field is not sent at all.

    A browser always sends every field of the page; a script or an older page that leaves one
    out changes nothing there (the service keeps the stored value for None).
    """

    def __init__(self, message: str) -> None:
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        if not field.raw_data:
            field.data = None
            field.errors[:] = []
            raise StopValidation()
        if not field.raw_data[0].strip():
            raise StopValidation(self.message)
        choices = getattr(field, "choices", None)
        if choices and field.data not in [SelectChoice.from_input(c).value for c in choices]:
            field.errors[:] = []  # WTForms' own "not a valid choice" says less
            raise StopValidation(self.message)


def readable_schedule(form, field) -> None:
    """Refuse a schedule the sending pass could not read, with the parser's French message."""
    try:
        parse_schedule(field.data, SCHEDULE_NAME)
    except ScheduleError as error:
        raise ValidationError(str(error)) from None


def _year_field(validator) -> IntegerField:
    """Return the cycle's year field."""
    return IntegerField(
        "Année",
        validators=[validator, NumberRange(2000, 2100, "Saisissez une année entre 2000 et 2100.")],
    )


class CycleForm(ProgrammeForm):
    """Everything the public page of a cycle shows, and what its new meetings start with."""

    year = _year_field(RequiredWhenSent("Saisissez l'année du cycle, par exemple 2027."))
    related_events = TextAreaField("Événements liés", validators=[Optional(), _max(5000)])
    default_start = TimeField(
        "Heure de début habituelle",
        validators=[RequiredWhenSent("Saisissez l'heure de début habituelle.")],
    )
    default_end = TimeField(
        "Heure de fin habituelle",
        validators=[RequiredWhenSent("Saisissez l'heure de fin habituelle.")],
    )
    default_capacity = IntegerField(
        "Nombre de places habituel",
        validators=[
            RequiredWhenSent("Saisissez le nombre de places habituel (un nombre entier)."),
            NumberRange(0, 10000, "Saisissez un nombre de places entre 0 et 10 000."),
        ],
    )
    default_approval_mode = RadioField(
        "Validation habituelle des inscriptions",
        choices=APPROVAL_CHOICES,
        validate_choice=True,
        validators=[RequiredWhenSent("Choisissez le mode de validation habituel.")],
    )
    reminder_schedule = StringField(
        "Envoi du lien de connexion avant chaque séance",
        validators=[Optional(), _max(200), single_line, readable_schedule],
    )
    reconfirm_days_before = IntegerField(
        "Demander aux inscrits d'une séance complète de confirmer leur présence (jours avant)",
        validators=[
            Optional(),
            NumberRange(
                0, MAX_DAYS, f"Saisissez un nombre de jours entre 0 et {MAX_DAYS} (0 : jamais)."
            ),
        ],
    )


class NewCycleForm(CycleForm):
    """A new cycle: the year and the meeting defaults must be given."""

    year = _year_field(_required("Saisissez l'année du cycle, par exemple 2027."))


class DuplicateForm(StaffForm):
    """The new cycle's title and year; one date field per meeting is added by duplicate_form."""

    title = _title_field("Titre du nouveau cycle", "Saisissez le titre du nouveau cycle.", 200)
    year = _year_field(_required("Saisissez l'année du nouveau cycle, par exemple 2027."))
    keep_topics = BooleanField(
        "Reprendre les thèmes, présentations, intervenants et partenaires des séances"
    )


def duplicate_form(count: int, **kwargs) -> DuplicateForm:
    """Return a DuplicateForm with a required date field day_1 … day_<count>."""
    fields = {
        f"day_{n}": DateField(
            f"Date de la séance {n}",
            validators=[
                _required(f"Saisissez la date de la séance {n} (jj/mm/aaaa)."),
                within_date_range,
            ],
        )
        for n in range(1, count + 1)
    }
    form_class = type("DuplicateMeetingsForm", (DuplicateForm,), fields)
    return form_class(**kwargs)


def days_of(form: DuplicateForm) -> list[date]:
    """Return the dates typed in a validated duplicate form, in meeting order."""
    days = []
    n = 1
    while f"day_{n}" in form:
        days.append(form[f"day_{n}"].data)
        n += 1
    return days


class PublishForm(StaffForm):
    """Publish a cycle, and optionally its meetings still in draft."""

    with_meetings = BooleanField("Publier aussi ses séances en brouillon")
